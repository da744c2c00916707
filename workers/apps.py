from django.apps import AppConfig


class WorkersConfig(AppConfig):
    name = "workers"
    verbose_name = "Worker pool"

    def ready(self) -> None:
        from core import hooks

        from .selectors import suitable_workers_in_reach
        from .sms import register_handlers, sender_of

        register_handlers()
        hooks.inbound_sender.fill(sender_of)
        hooks.staffing_probe.fill(suitable_workers_in_reach)
