from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.apps import AppConfig

from core import hooks

if TYPE_CHECKING:
    from dispatch.models import Order


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing and royalties"

    def ready(self) -> None:
        # Imported once the app registry is ready: the services load models.
        from .services import order_invoice, rate_quote  # noqa: PLC0415

        def invoice(order: "Order") -> None:
            order_invoice(order=order)

        def rates(**terms: Any) -> tuple[Decimal, Decimal]:
            quoted = rate_quote(**terms)
            return quoted.bill_rate, quoted.pay_rate

        hooks.order_completed.add(invoice)
        hooks.order_rates.fill(rates)
