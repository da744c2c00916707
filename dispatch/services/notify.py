"""Writing the texts workers get, in their language and the franchise's local time."""

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from messaging.services import SmsItem, sms_queue_many

from .. import texts
from ..models import Order


def local_time(order: Order, moment: datetime, *, with_date: bool = True) -> str:
    try:
        local = moment.astimezone(ZoneInfo(order.franchise.timezone))
    except OverflowError:
        # The last hours of year 9999 (an order stored before starts were bounded) have no
        # local time east of UTC; a text in UTC is better than a call-out that fails.
        local = moment
    return local.strftime("%d.%m %H:%M" if with_date else "%H:%M")


def amount_text(value: Decimal) -> str:
    """Money in a text: 300 for 300.00, 275.50 otherwise."""
    return f"{value.normalize():f}" if value == value.to_integral() else f"{value:.2f}"


def order_values(order: Order, language: str) -> dict[str, Any]:
    return {
        "code": order.code,
        "work": texts.work_name(order.work_type, language),
        "when": local_time(order, order.start),
        "hours": amount_text(order.hours),
        "pay": amount_text(order.pay_rate),
        "address": order.site.address,
        "fee": amount_text(order.franchise.standby_fee),
    }


def sms_items(
    order: Order, recipients: list[tuple[Any, str, str]], key: str, purpose: str,
    *, validity_period: int | None = None, **extra: Any,
) -> list[SmsItem]:
    """Text `key` for each (worker_id, phone, language), ready for `sms_queue_many`."""
    items = []
    per_worker = extra.pop("per_worker", {})
    for worker_id, phone, language in recipients:
        values = {**order_values(order, language), **extra, **per_worker.get(worker_id, {})}
        items.append(
            SmsItem(
                phone=phone,
                body=texts.render(key, language, **values),
                purpose=purpose,
                worker_id=worker_id,
                order_id=order.pk,
                validity_period=validity_period,
            )
        )
    return items


def notify_workers(
    order: Order, recipients: list[tuple[Any, str, str]], key: str, purpose: str,
    *, validity_period: int | None = None, **extra: Any,
) -> int:
    """Queue text `key` for each (worker_id, phone, language); one insert for them all."""
    items = sms_items(order, recipients, key, purpose, validity_period=validity_period, **extra)
    return len(sms_queue_many(items))
