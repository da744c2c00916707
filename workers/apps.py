from django.apps import AppConfig


class WorkersConfig(AppConfig):
    name = "workers"
    verbose_name = "Worker pool"

    def ready(self) -> None:
        from clients.routing import set_staffing_probe

        from .selectors import suitable_workers_in_reach
        from .sms import register_handlers

        register_handlers()
        set_staffing_probe(suitable_workers_in_reach)
