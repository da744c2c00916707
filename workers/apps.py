from django.apps import AppConfig

from core import hooks


class WorkersConfig(AppConfig):
    name = "workers"
    verbose_name = "Worker pool"

    def ready(self) -> None:
        # Imported once the app registry is ready: these modules load models.
        from .selectors import suitable_workers_in_reach  # noqa: PLC0415
        from .sms import register_handlers, sender_of  # noqa: PLC0415

        register_handlers()
        hooks.inbound_sender.fill(sender_of)
        hooks.staffing_probe.fill(suitable_workers_in_reach)
