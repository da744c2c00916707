from django.apps import AppConfig

from core import hooks


class DispatchConfig(AppConfig):
    name = "dispatch"
    verbose_name = "Dispatch"

    def ready(self) -> None:
        # Imported once the app registry is ready: these modules load models.
        from .selectors import worker_history, worker_worked_for  # noqa: PLC0415
        from .services.callout import offer_not_delivered  # noqa: PLC0415
        from .services.replies import register_handlers  # noqa: PLC0415

        register_handlers()
        hooks.worker_history.fill(worker_history)
        hooks.worker_worked_for.fill(worker_worked_for)
        hooks.delivery_failures.register("offer", offer_not_delivered)
