from django.apps import AppConfig


class ClientsConfig(AppConfig):
    name = "clients"
    verbose_name = "Clients, sites and leads"

    def ready(self) -> None:
        # Registers the system checks, once the app registry is ready (they read models).
        from . import checks  # noqa: F401, PLC0415
