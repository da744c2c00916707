from django.apps import AppConfig

from core import hooks


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "SMS"

    def ready(self) -> None:
        # Imported once the app registry is ready: these modules load models.
        from .services.inbound import register_handlers  # noqa: PLC0415
        from .tasks import send_message, send_messages  # noqa: PLC0415

        register_handlers()
        # The outbox hands rows to these tasks; the tasks call the services, never the reverse.
        hooks.outbox_send.fill(lambda pk: send_message.apply_async((pk,), retry=False))
        hooks.outbox_send_many.fill(lambda pks: send_messages.apply_async((pks,), retry=False))
