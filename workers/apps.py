from django.apps import AppConfig


class WorkersConfig(AppConfig):
    name = "workers"
    verbose_name = "Worker pool"

    def ready(self) -> None:
        from .sms import register_handlers

        register_handlers()
