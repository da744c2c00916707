"""Money: invoice and pay lines at completion, quotes, royalty statements and payments."""

import calendar
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from clients.models import Client
from clients.services import booking_horizon_error
from core import clock
from dispatch.models import Offer, Order
from dispatch.selectors import crew_split_of
from franchises.models import Franchise

from . import pricing
from .models import Credit, InvoiceLine, PayLine, RateCard, RoyaltyPayment, RoyaltyStatement

logger = logging.getLogger(__name__)

# A statement is due on this day of the month after its period.
STATEMENT_DUE_DAY = 15


def period_of(moment: datetime, timezone: str) -> str:
    """The "YYYY-MM" month `moment` falls in, in the franchise's time zone."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m")


# The years a period may name. The books start in 2000; the upper bound keeps "the month
# after" (a period's end, a statement's due date) inside the calendar: 9999-12 has none.
PERIOD_YEARS = range(2000, 3000)


def _year_month(period: str) -> tuple[int, int]:
    validate_period(period)
    year, month = period.split("-")
    return int(year), int(month)


def _month_after(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def period_bounds(period: str, timezone: str) -> tuple[datetime, datetime]:
    """The first instant of the month and of the next, in the franchise's time zone.
    Raises ValidationError on `period` when it is not a month the books can hold."""
    year, month = _year_month(period)
    zone = ZoneInfo(timezone)
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(*_month_after(year, month), 1, tzinfo=zone)
    return start, end


def validate_period(period: str) -> str:
    # int() alone would let "2026-1 " or "2026-+1" through, and a statement would be
    # issued for a period no line ever carries.
    match = re.fullmatch(r"(\d{4})-(\d{2})", period, re.ASCII) if isinstance(period, str) else None
    if match is None or not 1 <= int(match[2]) <= 12 or int(match[1]) not in PERIOD_YEARS:
        raise ValidationError({"period": [
            _("Give the period as YYYY-MM with a year from %(first)s to %(last)s, e.g. 2026-10.")
            % {"first": PERIOD_YEARS[0], "last": PERIOD_YEARS[-1]}
        ]})
    return period


# Pay line kinds that are one flat fee rather than hours x rate.
FEE_KINDS = frozenset({PayLine.Kind.SHOW_UP_FEE, PayLine.Kind.STANDBY_FEE})


@dataclass(frozen=True)
class _Due:
    """What one worker's line on an order should say: its basis (invoice) or kind (pay),
    hours and the rate a new line is written at."""

    label: str
    hours: Decimal
    rate: Decimal


def _amount(label: str, hours: Decimal, rate: Decimal) -> Decimal:
    return pricing.money(rate if label in FEE_KINDS else hours * rate)


def _priced_as(label: str) -> str:
    """Lines priced alike: hours at the order's rate (either invoice basis, or pay for
    hours), or one fee of a kind."""
    return label if label in FEE_KINDS else "per_hour"


@transaction.atomic
def order_invoice(*, order: Order) -> int:
    """Bring a completed order's client invoice lines and worker pay lines in line with its
    attendance. Runs at completion and again after every attendance correction (the foreman
    may correct for a week after the end); running it again changes nothing.

    The client is billed for the crew it asked for: at most the headcount of workers who
    worked, the longest hours first, plus the extras the foreman marked kept at the client's
    request (dispatch/surplus.py), each line saying which (`basis`). Pay follows: the billed
    are paid their hours; whoever came beyond that was sent home and is paid the franchise's
    show-up fee; a standby worker who stayed ready and was never called is paid its standby
    fee. One line per worker, none for anyone else.

    A line keeps the rate (or fee) it was first written at while it is priced the same way;
    a line added later, or turned from hours to a fee or back, takes the order's rate or the
    franchise's fee then. A royalty statement already issued for the month is not restated.
    Returns the number of workers billed."""
    order = Order.objects.select_related("franchise").get(pk=order.pk)
    franchise = order.franchise
    split, hours = crew_split_of(order)
    billed = {worker_id: hours[worker_id] for worker_id in split.billed if hours[worker_id] > 0}
    kept = set(split.kept)
    invoice = {
        worker_id: _Due(InvoiceLine.Basis.KEPT if worker_id in kept
                        else InvoiceLine.Basis.HEADCOUNT, worked, order.bill_rate)
        for worker_id, worked in billed.items()
    }
    pay = {worker_id: _Due(PayLine.Kind.HOURS, worked, order.pay_rate)
           for worker_id, worked in billed.items()}
    if franchise.show_up_fee > 0:
        pay.update({worker_id: _Due(PayLine.Kind.SHOW_UP_FEE, Decimal(0), franchise.show_up_fee)
                    for worker_id in split.sent_home})
    if franchise.standby_fee > 0:
        never_called = order.offers.filter(state=Offer.State.STANDBY, attendance__isnull=True)
        pay.update({worker_id: _Due(PayLine.Kind.STANDBY_FEE, Decimal(0), franchise.standby_fee)
                    for worker_id in never_called.values_list("worker_id", flat=True)})
    written = {
        "franchise": franchise, "order": order, "currency": franchise.currency,
        "period": period_of(order.start, franchise.timezone), "created_at": clock.now(),
    }
    _lines_follow(InvoiceLine, "basis", order=order, due=invoice,
                  written={**written, "client_id": order.client_id})
    _lines_follow(PayLine, "kind", order=order, due=pay, written=written)
    return len(billed)


# An invoice line or a pay line: `_lines_follow` writes either kind the same way.
_Line = TypeVar("_Line", InvoiceLine, PayLine)


def _lines_follow(
    model: type[_Line], label: str, *, order: Order,
    due: dict[int, _Due], written: dict[str, Any],
) -> None:
    """Make the order's lines of `model` say `due` (worker id -> what the line says; `label`
    names the model's basis or kind field), in a handful of queries whatever the crew's
    size."""
    lines = {line.worker_id: line for line in model.objects.filter(order=order)}
    gone = [line.pk for worker_id, line in lines.items() if worker_id not in due]
    if gone:
        model.objects.filter(pk__in=gone).delete()
    changed: list[_Line] = []
    for worker_id, want in due.items():
        line = lines.get(worker_id)
        if line is None:
            continue
        was = getattr(line, label)
        rate = line.rate if _priced_as(was) == _priced_as(want.label) else want.rate
        if (was, line.hours, line.rate) != (want.label, want.hours, rate):
            setattr(line, label, want.label)
            line.hours, line.rate = want.hours, rate
            line.amount = _amount(want.label, want.hours, rate)
            changed.append(line)
    if changed:
        model.objects.bulk_update(changed, [label, "hours", "rate", "amount"])
    added = [
        model(worker_id=worker_id, hours=want.hours, rate=want.rate,
              amount=_amount(want.label, want.hours, want.rate), **{label: want.label},
              **written)
        for worker_id, want in due.items() if worker_id not in lines
    ]
    if added:
        # Another run writing the same order a moment ago has written the same lines.
        model.objects.bulk_create(added, ignore_conflicts=True)


def rate_terms(*, franchise: Franchise, work_type: str) -> pricing.RateCardTerms:
    card = RateCard.objects.filter(franchise=franchise, work_type=work_type).first()
    if card is None:
        return pricing.RateCardTerms(
            bill_rate=settings.DEFAULT_BILL_RATE, pay_rate=settings.DEFAULT_PAY_RATE
        )
    return pricing.RateCardTerms(
        bill_rate=card.bill_rate, pay_rate=card.pay_rate, min_hours=card.min_hours,
        night_factor=card.night_factor, weekend_factor=card.weekend_factor,
    )


def rate_quote(
    *, franchise: Franchise, work_type: str, conditions: str, headcount: int, hours: Decimal,
    start: datetime,
) -> pricing.Quote:
    """The price an operator quotes on the phone, from the franchise's rate card.

    Only for a start an order could have: at most the booking horizon ahead (ValidationError
    on `start` otherwise). A naive `start` is the franchise's local time."""
    start = franchise.local_moment(start)
    too_far = booking_horizon_error(start=start, now=clock.now())
    if too_far is not None:
        raise ValidationError({"start": [too_far]})
    try:
        local_start = start.astimezone(ZoneInfo(franchise.timezone))
    except OverflowError as exc:
        # A start in year 1 has no local time west of UTC.
        raise ValidationError({"start": [_("This date is out of range.")]}) from exc
    try:
        return pricing.quote(
            rate_terms(franchise=franchise, work_type=work_type),
            conditions=conditions, headcount=headcount, hours=Decimal(hours),
            local_start=local_start,
        )
    except ValueError as exc:
        raise ValidationError({"detail": [str(exc)]}) from exc


def _due_on(period: str) -> date:
    year, month = _month_after(*_year_month(period))
    return date(year, month, min(STATEMENT_DUE_DAY, calendar.monthrange(year, month)[1]))


def statement_figures(*, franchise: Franchise, period: str) -> dict[str, Decimal]:
    invoiced = InvoiceLine.objects.filter(franchise=franchise, period=period).aggregate(
        total=Sum("amount")
    )["total"] or Decimal(0)
    credits = Credit.objects.filter(franchise=franchise, period=period).aggregate(
        total=Sum("amount")
    )["total"] or Decimal(0)
    turnover = invoiced - credits
    royalty, total = pricing.royalty(turnover, franchise.royalty_rate, franchise.monthly_fee)
    return {"invoiced": invoiced, "credits": credits, "turnover": turnover,
            "royalty": royalty, "total": total}


def royalty_statements_issue(*, period: str) -> list[RoyaltyStatement]:
    """Issue the month's statement for every franchise that has none yet (one per franchise
    and period, however often this runs). Returns every statement of the period.

    Only a month that has ended is issued (ValidationError on `period` before that): its
    turnover is still growing. A franchise whose month has not yet ended in its own time
    zone is issued by a later run. What an earlier month's turnover gained or lost after
    its statement (an order completed after the month turned, an attendance correction, a
    credit given later) is carried into this statement's turnover as `adjustment`.
    """
    validate_period(period)
    now = clock.now()
    if period > previous_period(now.date()):
        raise ValidationError({"period": [
            _("%(period)s has not ended yet: its statements are issued once the month is over.")
            % {"period": period}
        ]})
    franchises = Franchise.objects.exclude(kind=Franchise.Kind.HQ).filter(is_active=True)
    for franchise in franchises:
        if period_bounds(period, franchise.timezone)[1] > now:
            continue
        if RoyaltyStatement.objects.filter(franchise=franchise, period=period).exists():
            continue
        try:
            with transaction.atomic():
                _statement_issue(franchise=franchise, period=period, now=now)
        except IntegrityError:
            continue  # issued a moment ago by another run
    return list(RoyaltyStatement.objects.filter(period=period).select_related("franchise"))


@dataclass(frozen=True)
class StatementDraft:
    """What a franchise's statement for a month says if it is issued now: the one reckoning
    behind both the statement and the month-to-date figures a franchise watches, so the two
    cannot disagree."""

    period: str
    invoiced: Decimal
    credits: Decimal
    adjustment: Decimal
    turnover: Decimal
    royalty_rate: Decimal
    royalty: Decimal
    monthly_fee: Decimal
    total: Decimal
    currency: str
    # This month's own turnover (invoiced - credits), without what is carried from before.
    own_turnover: Decimal
    # Earlier credit statements' totals (zero or less) taken off this total.
    brought_forward: Decimal = Decimal(0)


def statement_draft(
    *, franchise: Franchise, period: str, lock: bool = False
) -> tuple[StatementDraft, list[tuple[RoyaltyStatement, Decimal]]]:
    """The statement `franchise` would be issued for `period` now, and the earlier statements
    whose month's turnover changed since (each with its turnover now), which it carries as
    its adjustment. `lock` holds those earlier statements until the transaction ends, as
    issuing must; a read (the dashboard's month to date) takes no lock."""
    own = statement_figures(franchise=franchise, period=period)
    restated = _restated_earlier_months(franchise=franchise, period=period, lock=lock)
    adjustment = sum((turnover - statement.settled_turnover for statement, turnover in restated),
                     Decimal(0))
    turnover = own["turnover"] + adjustment
    royalty, total = pricing.royalty(turnover, franchise.royalty_rate, franchise.monthly_fee)
    brought_forward = sum((credit.total for credit in _credits_to_carry(
        franchise=franchise, period=period, lock=lock)), Decimal(0))
    draft = StatementDraft(
        period=period, invoiced=own["invoiced"], credits=own["credits"], adjustment=adjustment,
        turnover=turnover, royalty_rate=franchise.royalty_rate, royalty=royalty,
        monthly_fee=franchise.monthly_fee, total=total + brought_forward,
        currency=franchise.currency, own_turnover=own["turnover"],
        brought_forward=brought_forward,
    )
    return draft, restated


def _credits_to_carry(*, franchise: Franchise, period: str, lock: bool
                      ) -> list[RoyaltyStatement]:
    """The franchise's earlier `credit` statements not yet carried into a later one."""
    credits = RoyaltyStatement.objects.filter(
        franchise=franchise, period__lt=period, status=RoyaltyStatement.Status.CREDIT,
        carried_into="",
    )
    if lock:
        credits = credits.select_for_update()
    return list(credits.order_by("period"))


def _statement_issue(*, franchise: Franchise, period: str, now: datetime) -> RoyaltyStatement:
    draft, restated = statement_draft(franchise=franchise, period=period, lock=True)
    # Nothing to pay is no payment made: such a month is a credit, carried into the next
    # statement (its total below zero comes off that one's), and never turns overdue.
    status = (RoyaltyStatement.Status.CREDIT if draft.total <= 0
              else RoyaltyStatement.Status.ISSUED)
    RoyaltyStatement.objects.filter(
        pk__in=[credit.pk for credit in _credits_to_carry(
            franchise=franchise, period=period, lock=False)]
    ).update(carried_into=period)
    statement = RoyaltyStatement.objects.create(
        franchise=franchise, period=period, royalty_rate=draft.royalty_rate,
        monthly_fee=draft.monthly_fee, currency=draft.currency, issued_at=now,
        due_on=_due_on(period), status=status, invoiced=draft.invoiced,
        credits=draft.credits, adjustment=draft.adjustment, turnover=draft.turnover,
        royalty=draft.royalty, total=draft.total, settled_turnover=draft.own_turnover,
        brought_forward=draft.brought_forward,
    )
    for earlier, turnover_now in restated:
        earlier.settled_turnover = turnover_now
    RoyaltyStatement.objects.bulk_update([earlier for earlier, _ in restated],
                                         ["settled_turnover"])
    return statement


def _restated_earlier_months(
    *, franchise: Franchise, period: str, lock: bool
) -> list[tuple[RoyaltyStatement, Decimal]]:
    """The franchise's earlier statements whose month's turnover is not what was last
    accounted for (`settled_turnover`), each with its turnover now."""
    statements = RoyaltyStatement.objects.filter(franchise=franchise, period__lt=period)
    if lock:
        statements = statements.select_for_update()
    earlier = list(statements.order_by("period"))
    if not earlier:
        return []
    periods = [statement.period for statement in earlier]
    invoiced = dict(
        InvoiceLine.objects.filter(franchise=franchise, period__in=periods)
        .values("period").annotate(total=Sum("amount")).values_list("period", "total")
    )
    credited = dict(
        Credit.objects.filter(franchise=franchise, period__in=periods)
        .values("period").annotate(total=Sum("amount")).values_list("period", "total")
    )
    restated = []
    for statement in earlier:
        turnover = invoiced.get(statement.period, Decimal(0)) - credited.get(
            statement.period, Decimal(0)
        )
        if turnover != statement.settled_turnover:
            restated.append((statement, turnover))
    return restated


@transaction.atomic
def credit_give(*, franchise: Franchise, client: Client, period: str, amount: Decimal,
                reason: str) -> Credit:
    """Refund part of what `client` was invoiced in `period`: it lowers the franchise's
    turnover, and with it the royalty HQ is owed.

    A credit is a refund of invoiced work, so it must be for a month that has begun (in the
    franchise's time zone) and, with the client's earlier credits for that month, may not
    exceed what the client was invoiced then. Without that bound one typo (an extra few
    zeros) made the franchise's turnover, royalty and the network's benchmark negative.
    ValidationError on `client`, `period` or `amount` otherwise."""
    if client.franchise_id != franchise.pk:
        raise ValidationError({"client": [_("This client belongs to another franchise.")]})
    if amount <= 0:
        raise ValidationError({"amount": [_("A credit must be more than zero.")]})
    period_start = period_bounds(period, franchise.timezone)[0]
    if period_start > clock.now():
        raise ValidationError({"period": [
            _("%(period)s has not started yet: a credit refunds work already invoiced.")
            % {"period": period}
        ]})
    # The client's row is the lock: two credits given at once for the same client cannot
    # both fit under what is left of the invoice.
    Client.objects.select_for_update().filter(pk=client.pk).first()
    invoiced = InvoiceLine.objects.filter(
        franchise=franchise, client=client, period=period
    ).aggregate(total=Sum("amount"))["total"] or Decimal(0)
    credited = Credit.objects.filter(
        franchise=franchise, client=client, period=period
    ).aggregate(total=Sum("amount"))["total"] or Decimal(0)
    available = invoiced - credited
    if amount > available:
        raise ValidationError({"amount": [
            _("%(client)s was invoiced %(invoiced)s %(currency)s in %(period)s and has been "
              "credited %(credited)s: at most %(available)s can be credited.") % {
                "client": client.name, "invoiced": pricing.money(invoiced),
                "currency": franchise.currency, "period": period,
                "credited": pricing.money(credited),
                "available": pricing.money(max(available, Decimal(0)))}
        ]})
    return Credit.objects.create(franchise=franchise, client=client, period=period,
                                 amount=amount, reason=reason)


@transaction.atomic
def credit_withdraw(*, credit: Credit, withdrawn_by: Any) -> None:
    """Take back a credit given by mistake.

    Allowed whether or not its month's statement has been issued: the statements follow
    the books, so an issued month whose credits shrink is carried into the franchise's next
    statement as a positive `adjustment` (see `_restated_earlier_months`), and the issued
    statement keeps the credits figure it was issued with. The log line is the trail of
    who took back what."""
    credit = Credit.objects.select_for_update().get(pk=credit.pk)
    logger.info(
        "credit %s withdrawn by %s: %s %s to client %s for %s (%s)", credit.pk,
        getattr(withdrawn_by, "username", withdrawn_by), credit.amount,
        credit.franchise.currency, credit.client_id, credit.period, credit.reason,
    )
    credit.delete()


def previous_period(today: date) -> str:
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year:04d}-{month:02d}"


@transaction.atomic
def statement_pay(*, statement: RoyaltyStatement, amount: Decimal, paid_on: date,
                  recorded_by: Any) -> RoyaltyStatement:
    """Record a payment (partial payments add up); the statement is paid once they cover it."""
    statement = (RoyaltyStatement.objects.select_for_update(of=("self",))
                 .select_related("franchise").get(pk=statement.pk))
    if amount <= 0:
        raise ValidationError({"amount": [_("A payment must be more than zero.")]})
    if statement.status == RoyaltyStatement.Status.CREDIT:
        raise ValidationError({"amount": [
            _("Nothing is due on the %(period)s statement: its credit is carried into the "
              "next one.") % {"period": statement.period}]})
    outstanding = statement.total - statement.paid
    if amount > outstanding:
        raise ValidationError(
            {"amount": [_("Only %(amount)s %(currency)s is outstanding.")
                        % {"amount": outstanding, "currency": statement.currency}]}
        )
    # The date is the franchise's: at 06:00 in Novosibirsk it is still yesterday in UTC, and
    # a payment made this morning must not read as one dated in the future.
    today = clock.now().astimezone(ZoneInfo(statement.franchise.timezone)).date()
    if paid_on > today:
        raise ValidationError({"paid_on": [_("A payment date cannot be in the future.")]})
    year, month = _year_month(statement.period)
    if paid_on < date(year, month, 1):
        # A royalty on a month's turnover cannot have been paid before the month began:
        # such a date is a typo, and it would make the statement's payment history nonsense.
        raise ValidationError({"paid_on": [
            _("A payment for %(period)s cannot be dated before the month began.")
            % {"period": statement.period}
        ]})
    RoyaltyPayment.objects.create(
        statement=statement, amount=amount, paid_on=paid_on, recorded_by=recorded_by,
        recorded_at=clock.now(),
    )
    statement.paid += amount
    if statement.paid >= statement.total:
        statement.status = RoyaltyStatement.Status.PAID
    statement.save(update_fields=["paid", "status"])
    return statement


def statements_mark_overdue(*, today: date) -> int:
    return RoyaltyStatement.objects.filter(
        status=RoyaltyStatement.Status.ISSUED, due_on__lt=today
    ).update(status=RoyaltyStatement.Status.OVERDUE)
