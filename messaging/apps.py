from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "SMS"

    def ready(self) -> None:
        # Registers the opt-out, opt-in and help handlers.
        from . import services  # noqa: F401
