from django.apps import AppConfig


class ClientsConfig(AppConfig):
    name = "clients"
    verbose_name = "Clients, sites and leads"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the system checks
