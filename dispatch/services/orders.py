"""The verbs that change an order's state."""

import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from clients.models import Client, Site
from clients.services import booking_horizon_error
from core import clock, hooks
from franchises.models import Franchise
from messaging.grammar import generate_code

from ..models import Order
from ..overbooking import fixed_target

_code_rng = random.SystemRandom()

def _default_rates(
    *, franchise: Franchise, site: Site, work_type: str, headcount: int, hours: Decimal,
    start: Any,
) -> tuple[Decimal, Decimal]:
    # Prices come from the billing app's rate cards, above dispatch: billing fills the hook.
    rates = hooks.order_rates.get()
    if rates is None:
        return settings.DEFAULT_BILL_RATE, settings.DEFAULT_PAY_RATE
    return rates(
        franchise=franchise, work_type=work_type, conditions=site.conditions,
        headcount=headcount, hours=hours, start=start,
    )


def _assign_code(order: Order) -> None:
    """Give the order a code no other open order has, and save it.

    Three characters give 29,791 codes; with thousands of orders open at once a clash is
    likely now and then, so clashes retry and the code grows after a few of them.
    """
    for attempt in range(12):
        order.code = generate_code(_code_rng, length=3 + attempt // 4)
        try:
            with transaction.atomic():
                order.save()
        except IntegrityError:
            if Order.objects.filter(code=order.code, status__in=Order.OPEN_STATUSES).exists():
                order.pk = None
                continue
            raise
        return
    raise ValidationError({"code": [_("No free order code could be found; try again.")]})


def _ends_at(start: Any, hours: Any) -> Any:
    try:
        return start + timedelta(hours=float(hours))
    except (TypeError, ValueError, OverflowError):
        return start


def _check_order_fields(
    *,
    client: Client,
    site: Site,
    franchise: Franchise,
    start: Any,
    is_new: bool,
    foreman: Any = None,
    headcount: Any = None,
    foremen_needed: Any = 0,
) -> None:
    errors: dict[str, list[str]] = {}
    if isinstance(headcount, int) and isinstance(foremen_needed, int) and (
        foremen_needed > headcount
    ):
        errors["foremen_needed"] = [_("A crew cannot need more foremen than its headcount.")]
    if foreman is not None and (
        foreman.role != "foreman" or foreman.franchise_id != franchise.pk
    ):
        errors["foreman"] = [_("The foreman must be a foreman login of the order's franchise.")]
    if site.client_id != client.pk:
        errors["site"] = [_("This site belongs to another client.")]
    if client.franchise_id is not None and client.franchise_id != franchise.pk:
        errors["client"] = [_("This client belongs to another franchise.")]
    if franchise.kind == Franchise.Kind.HQ:
        errors["franchise"] = [_("Orders are served by a franchise, not HQ.")]
    if is_new:
        now = clock.now()
        too_far = booking_horizon_error(start=start, now=now)
        if start < now:
            errors["start"] = [_("The start must not be in the past.")]
        elif too_far is not None:
            errors["start"] = [too_far]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def order_place(
    *,
    client: Client,
    site: Site,
    work_type: str,
    headcount: int,
    start: Any,
    hours: Decimal,
    franchise: Franchise | None = None,
    bill_rate: Decimal | None = None,
    pay_rate: Decimal | None = None,
    overbook_policy: str = Order.Policy.FIXED,
    notes: str = "",
    foreman: Any = None,
    lead: Any = None,
    created_by: Any = None,
    foremen_needed: int = 0,
) -> Order:
    """Create an order in draft with its code and fixed booking target.

    The franchise defaults to the client's. A naive `start` is the franchise's local time.
    The adaptive policy's target is set when the call-out starts, from the candidates then
    available; until then it holds the fixed one.
    """
    franchise = franchise or client.franchise
    if franchise is None:
        raise ValidationError({"franchise": [_("Name the franchise that will serve this order.")]})
    start = franchise.local_moment(start)
    _check_order_fields(
        client=client, site=site, franchise=franchise, start=start, is_new=True, foreman=foreman,
        headcount=headcount, foremen_needed=foremen_needed,
    )
    if bill_rate is None or pay_rate is None:
        quoted_bill, quoted_pay = _default_rates(
            franchise=franchise, site=site, work_type=work_type, headcount=headcount,
            hours=hours, start=start,
        )
        bill_rate = quoted_bill if bill_rate is None else bill_rate
        pay_rate = quoted_pay if pay_rate is None else pay_rate
    order = Order(
        client=client,
        site=site,
        franchise=franchise,
        work_type=work_type,
        headcount=headcount,
        start=start,
        hours=hours,
        bill_rate=bill_rate,
        pay_rate=pay_rate,
        overbook_policy=overbook_policy,
        notes=notes,
        foreman=foreman,
        lead=lead,
        created_by=created_by,
        foremen_needed=foremen_needed,
        booking_target=fixed_target(headcount, franchise.booking_ratio) if headcount else 1,
        ends_at=_ends_at(start, hours),
    )
    # The check constraints are not re-checked here: each is a field validator too (headcount,
    # hours, rates, status; the target is computed), and Django would test every one with a
    # query of its own. The database still enforces them.
    order.full_clean(exclude=["code", "ends_at"], validate_constraints=False)
    _assign_code(order)
    return order


# Once workers have been told about an order, these cannot change under them.
_FROZEN_AFTER_DRAFT = frozenset({"client", "site", "franchise", "work_type", "start", "hours",
                                 "pay_rate"})


# Once an order is completed its books are written: the bill rate is on the invoice lines.
_FROZEN_WHEN_COMPLETED = frozenset({"bill_rate"})


@transaction.atomic
def order_update(*, order: Order, **changes: Any) -> Order:
    """Change an order's details; after the call-out only notes, the bill rate and foreman may
    change, and after completion not the bill rate either. A field sent with its current value
    is no change (a full update of an order under way is fine). A naive `start` is the serving
    franchise's local time."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if changes.get("start") is not None:
        serving = changes.get("franchise") or order.franchise
        changes["start"] = serving.local_moment(changes["start"])
    changed = {f for f in changes if changes[f] != getattr(order, f)}
    if order.status != Order.Status.DRAFT:
        frozen = changed & _FROZEN_AFTER_DRAFT
        if frozen:
            raise ValidationError(
                {f: [_("Workers have been called for this order; this cannot change now.")]
                 for f in frozen}
            )
    if order.status == Order.Status.COMPLETED and changed & _FROZEN_WHEN_COMPLETED:
        raise ValidationError(
            {"bill_rate": [_("The order is completed and invoiced at its bill rate; give the "
                             "client a credit instead.")]}
        )
    if (
        "headcount" in changes
        and changes["headcount"] != order.headcount
        and order.status != Order.Status.DRAFT
    ):
        raise ValidationError({"headcount": [
            _("Change the headcount before the call-out starts."
        )]})
    for field, value in changes.items():
        setattr(order, field, value)
    order.ends_at = _ends_at(order.start, order.hours)
    _check_order_fields(
        client=order.client,
        site=order.site,
        franchise=order.franchise,
        start=order.start,
        is_new="start" in changed,
        foreman=order.foreman,
        headcount=order.headcount,
        foremen_needed=order.foremen_needed,
    )
    if order.status == Order.Status.DRAFT and (
        "headcount" in changes or "franchise" in changes or "overbook_policy" in changes
    ):
        order.booking_target = fixed_target(order.headcount, order.franchise.booking_ratio)
    order.full_clean()
    order.save()
    return order
