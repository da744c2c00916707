from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing and royalties"

    def ready(self) -> None:
        from dispatch.services.onsite import on_order_completed
        from dispatch.services.orders import set_rate_provider

        from .services import order_invoice, rate_quote

        def invoice(order: object) -> None:
            order_invoice(order=order)

        def rates(**terms: object) -> tuple[object, object]:
            quoted = rate_quote(**terms)
            return quoted.bill_rate, quoted.pay_rate

        on_order_completed(invoice)
        set_rate_provider(rates)
