from django.apps import AppConfig


class DispatchConfig(AppConfig):
    name = "dispatch"
    verbose_name = "Dispatch"

    def ready(self) -> None:
        from core import hooks

        from .selectors import worker_history, worker_worked_for
        from .services.callout import offer_not_delivered
        from .services.replies import register_handlers

        register_handlers()
        hooks.worker_history.fill(worker_history)
        hooks.worker_worked_for.fill(worker_worked_for)
        hooks.delivery_failures.register("offer", offer_not_delivered)
