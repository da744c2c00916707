"""Reads for billing: the benchmark report over a month, a franchise's month to date, its
invoices per client, and the statements HQ is waiting on; what an order, and a franchise's
month, were billed and cost (the margin)."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from statistics import fmean
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet, Sum

from dispatch.models import Offer, Order
from franchises.models import Franchise
from ratings.selectors import ratings_at

from . import pricing
from .benchmarks import LocationRow, Money, OrderFacts, location_row
from .models import Credit, InvoiceLine, PayLine, RoyaltyPayment, RoyaltyStatement
from .services import StatementDraft, period_bounds, period_of, statement_draft

# The pay lines' kinds as the fields of `Money` they add to.
_PAID_AS = {
    PayLine.Kind.HOURS: "paid",
    PayLine.Kind.SHOW_UP_FEE: "show_up_fees",
    PayLine.Kind.STANDBY_FEE: "standby_fees",
}


def _money(orders: int, billed: Decimal | None, paid: dict[str, Decimal]) -> Money:
    """Money from sums of lines (`paid`: pay line kind -> sum), each to the cent: a sum
    read back from SQLite has lost its trailing zeros."""
    return Money(
        orders=orders, billed=pricing.money(billed or Decimal(0)),
        **{field: pricing.money(paid.get(kind) or Decimal(0))
           for kind, field in _PAID_AS.items()},
    )


@dataclass(frozen=True)
class OrderBooks:
    """An order's money as its invoice and pay lines say it, with who they are for: the
    workers billed (the `kept` of them beyond the headcount at the client's request), those
    sent home with the show-up fee, and standby workers paid the standby fee."""

    order_id: int
    headcount: int
    currency: str
    completed: bool
    money: Money
    billed_workers: int = 0
    kept: int = 0
    sent_home: int = 0
    standby: int = 0


def orders_books(*, orders: Iterable[Order]) -> dict[int, OrderBooks]:
    """Each order's books (order id -> OrderBooks), for a page of orders: two queries however
    many orders. An order not yet completed has none yet (zeros)."""
    orders = list(orders)
    ids = [order.pk for order in orders]
    billed: dict[int, dict[str, Any]] = defaultdict(dict)
    for order_id, basis, total, count in (
        InvoiceLine.objects.filter(order_id__in=ids).values("order_id", "basis")
        .annotate(total=Sum("amount"), count=Count("id"))
        .values_list("order_id", "basis", "total", "count")
    ):
        billed[order_id][basis] = (total, count)
    paid: dict[int, dict[str, Any]] = defaultdict(dict)
    for order_id, kind, total, count in (
        PayLine.objects.filter(order_id__in=ids).values("order_id", "kind")
        .annotate(total=Sum("amount"), count=Count("id"))
        .values_list("order_id", "kind", "total", "count")
    ):
        paid[order_id][kind] = (total, count)
    books = {}
    for order in orders:
        bases, kinds = billed[order.pk], paid[order.pk]
        completed = order.status == Order.Status.COMPLETED
        books[order.pk] = OrderBooks(
            order_id=order.pk, headcount=order.headcount, currency=order.franchise.currency,
            completed=completed,
            money=_money(int(completed), sum((total for total, _ in bases.values()), Decimal(0)),
                         {kind: total for kind, (total, _) in kinds.items()}),
            billed_workers=sum(count for _, count in bases.values()),
            kept=bases.get(InvoiceLine.Basis.KEPT, (0, 0))[1],
            sent_home=kinds.get(PayLine.Kind.SHOW_UP_FEE, (0, 0))[1],
            standby=kinds.get(PayLine.Kind.STANDBY_FEE, (0, 0))[1],
        )
    return books


def order_books(*, order: Order) -> OrderBooks:
    """One order's books: billed, paid, the fees over-booking cost, and the margin
    (billed - paid - fees). Three queries."""
    order = Order.objects.select_related("franchise").get(pk=order.pk)
    return orders_books(orders=[order])[order.pk]


def orders_money(*, order_ids: Iterable[int]) -> Money:
    """The books of these orders added up (each counted as an order, completed or not):
    billed, paid, the over-booking cost and the margin, also per order. Two queries."""
    ids = list(order_ids)
    billed = InvoiceLine.objects.filter(order_id__in=ids).aggregate(
        total=Sum("amount"))["total"]
    paid = dict(
        PayLine.objects.filter(order_id__in=ids).values("kind")
        .annotate(total=Sum("amount")).values_list("kind", "total")
    )
    return _money(len(ids), billed, paid)


def month_money(*, franchise: Franchise, period: str) -> Money:
    """A franchise's month (orders by their start in its time zone, as the statements count
    them): the completed orders, billed, paid, the over-booking cost (show-up and standby
    fees) and the margin, also per order. Three queries."""
    start, end = period_bounds(period, franchise.timezone)
    completed = Order.objects.filter(
        franchise=franchise, status=Order.Status.COMPLETED, start__gte=start, start__lt=end
    ).count()
    billed = InvoiceLine.objects.filter(franchise=franchise, period=period).aggregate(
        total=Sum("amount"))["total"]
    paid = dict(
        PayLine.objects.filter(franchise=franchise, period=period).values("kind")
        .annotate(total=Sum("amount")).values_list("kind", "total")
    )
    return _money(completed, billed, paid)


def _ratings_at_month_end(franchise_ids: list[int], *, start: datetime, end: datetime
                          ) -> dict[int, float]:
    """Per franchise, the mean rating of the workers on its month's shifts (one per shift
    worked), each rating as it stood at the month's end: a closed month's figure does not
    drift with what the workers did since. Two queries for all the franchises of a zone."""
    worked = list(
        Offer.objects.filter(
            order__franchise_id__in=franchise_ids, order__start__gte=start,
            order__start__lt=end,
            attendance__in=[Offer.Attendance.PRESENT, Offer.Attendance.LATE],
        ).values_list("order__franchise_id", "worker_id")
    )
    if not worked:
        return {}
    standing = ratings_at({worker_id for _, worker_id in worked}, end)
    shifts: dict[int, list[float]] = defaultdict(list)
    for franchise_id, worker_id in worked:
        shifts[franchise_id].append(standing[worker_id])
    return {franchise_id: fmean(values) for franchise_id, values in shifts.items()}


def benchmark_rows(*, period: str) -> list[LocationRow]:
    """Every franchise's figures for `period` (orders by their start in local time).

    Queries do not grow with the network: the month's bounds depend only on the time zone,
    so orders and ratings are read once per zone (a handful for 450 franchises)."""
    franchises = list(Franchise.objects.exclude(kind=Franchise.Kind.HQ).order_by("name"))
    by_zone: dict[str, list[int]] = defaultdict(list)
    for franchise in franchises:
        by_zone[franchise.timezone].append(franchise.pk)
    facts: dict[int, list[OrderFacts]] = defaultdict(list)
    completed: dict[int, int] = defaultdict(int)
    ratings: dict[int, float | None] = {}
    for zone, ids in by_zone.items():
        start, end = period_bounds(period, zone)
        orders = (
            Order.objects.filter(franchise_id__in=ids, start__gte=start, start__lt=end)
            .exclude(status__in=[Order.Status.CANCELLED, Order.Status.DRAFT])
            .annotate(
                present=Count("offers", filter=Q(offers__attendance__in=[
                    Offer.Attendance.PRESENT, Offer.Attendance.LATE])),
                missing=Count("offers", filter=Q(offers__attendance=Offer.Attendance.NO_SHOW)),
                confirmed=Count("offers", filter=Q(offers__attendance__in=[
                    Offer.Attendance.PRESENT, Offer.Attendance.LATE, Offer.Attendance.NO_SHOW])),
            )
            .order_by("franchise_id", "start", "id")
            .values_list("franchise_id", "headcount", "present", "missing", "confirmed",
                         "calling_since", "filled_at", "status")
        )
        for (franchise_id, headcount, present, missing, confirmed, calling_since, filled_at,
             status) in orders:
            completed[franchise_id] += status == Order.Status.COMPLETED
            minutes = None
            if calling_since and filled_at:
                minutes = (filled_at - calling_since).total_seconds() / 60
            facts[franchise_id].append(OrderFacts(
                headcount, present, missing, confirmed, minutes,
                started=status in (Order.Status.IN_PROGRESS, Order.Status.COMPLETED)))
        ratings.update(_ratings_at_month_end(ids, start=start, end=end))
    invoiced = dict(
        InvoiceLine.objects.filter(period=period).values("franchise_id")
        .annotate(total=Sum("amount")).values_list("franchise_id", "total")
    )
    credits = dict(
        Credit.objects.filter(period=period).values("franchise_id")
        .annotate(total=Sum("amount")).values_list("franchise_id", "total")
    )
    paid: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for franchise_id, kind, total in (
        PayLine.objects.filter(period=period).values("franchise_id", "kind")
        .annotate(total=Sum("amount")).values_list("franchise_id", "kind", "total")
    ):
        paid[franchise_id][kind] = total
    rows = []
    for franchise in franchises:
        billed = invoiced.get(franchise.pk, Decimal(0))
        revenue = pricing.money(billed - credits.get(franchise.pk, Decimal(0)))
        rows.append(
            location_row(
                franchise_id=franchise.pk, name=franchise.name, orders=facts[franchise.pk],
                revenue=revenue, royalty=pricing.money(revenue * franchise.royalty_rate),
                avg_rating=ratings.get(franchise.pk),
                books=_money(completed[franchise.pk], billed, paid[franchise.pk]),
            )
        )
    return rows


def month_to_date(*, franchise: Franchise, now: datetime) -> StatementDraft:
    """The current month (in the franchise's time zone) as its statement would say if it
    were issued now: turnover from completed orders' invoice lines less credits, plus what
    earlier months' changes carry into it, the royalty on it and the monthly fee. The
    statement issued once the month is over says the same unless the books change before.
    A fixed handful of queries."""
    draft, _ = statement_draft(franchise=franchise, period=period_of(now, franchise.timezone))
    return draft


@dataclass(frozen=True)
class ClientInvoice:
    """What one client was invoiced in a month, and credited."""

    client_id: int
    name: str
    orders: int
    hours: Decimal
    invoiced: Decimal
    credits: Decimal

    @property
    def net(self) -> Decimal:
        # SQLite's SUM forgets the cents' scale; every money figure reads to the cent.
        return pricing.money(self.invoiced - self.credits)


def client_invoices(*, franchise: Franchise, period: str) -> list[ClientInvoice]:
    """Each client's invoice for `period` (the month of the orders' start, local time), the
    largest first. Two queries however many clients and lines."""
    invoiced = {
        row["client_id"]: row
        for row in InvoiceLine.objects.filter(franchise=franchise, period=period)
        .values("client_id", "client__name")
        .annotate(orders=Count("order_id", distinct=True), hours=Sum("hours"),
                  amount=Sum("amount"))
    }
    credited = {
        row["client_id"]: row
        for row in Credit.objects.filter(franchise=franchise, period=period)
        .values("client_id", "client__name").annotate(amount=Sum("amount"))
    }
    invoices = []
    # A client credited for a month whose lines a correction later removed still shows.
    for client_id in invoiced.keys() | credited.keys():
        lines = invoiced.get(client_id)
        credit = credited.get(client_id)
        invoices.append(ClientInvoice(
            client_id=client_id,
            # The id comes from one of the two: the invoiced lines, else the credits.
            name=(lines if lines is not None else credited[client_id])["client__name"],
            orders=lines["orders"] if lines else 0,
            hours=lines["hours"] if lines else Decimal(0),
            invoiced=lines["amount"] if lines else Decimal(0),
            credits=credit["amount"] if credit else Decimal(0),
        ))
    return sorted(invoices, key=lambda invoice: (-invoice.invoiced, invoice.name))


def client_invoice_lines(*, franchise: Franchise, client_id: int,
                         period: str) -> QuerySet[InvoiceLine]:
    """One client's invoice lines of `period`, order by order: one query."""
    return (
        InvoiceLine.objects.filter(franchise=franchise, client_id=client_id, period=period)
        .select_related("order", "worker")
        .order_by("order__start", "order_id", "worker__name", "worker_id")
    )


def statements_with_payments(queryset: QuerySet[RoyaltyStatement]) -> QuerySet[RoyaltyStatement]:
    """Statements with their franchise and payments (oldest first): two queries for any
    number of statements."""
    return queryset.select_related("franchise").prefetch_related(
        Prefetch("payments", queryset=RoyaltyPayment.objects.order_by("paid_on", "id"))
    )


def overdue_statements(*, today: date) -> QuerySet[RoyaltyStatement]:
    """Statements past their due date and not paid in full, the longest overdue first: those
    already marked overdue and those whose due date passed since the last sweep."""
    return (
        RoyaltyStatement.objects.filter(
            status__in=[RoyaltyStatement.Status.ISSUED, RoyaltyStatement.Status.OVERDUE],
            due_on__lt=today,
        )
        .select_related("franchise")
        .order_by("due_on", "franchise__name", "id")
    )


@dataclass(frozen=True)
class OrderLines:
    """What a completed order billed its client and paid its workers, line by line."""

    invoice: list[InvoiceLine]
    pay: list[PayLine]
    invoice_total: Decimal
    pay_total: Decimal


def order_lines(order: Order) -> OrderLines:
    """The order's invoice and pay lines with their workers, and their totals. Two queries,
    however big the crew."""
    invoice = list(InvoiceLine.objects.filter(order=order).select_related("worker")
                   .order_by("worker__name", "worker_id"))
    pay = list(PayLine.objects.filter(order=order).select_related("worker")
               .order_by("worker__name", "worker_id", "id"))
    return OrderLines(
        invoice=invoice, pay=pay,
        invoice_total=sum((line.amount for line in invoice), Decimal(0)),
        pay_total=sum((line.amount for line in pay), Decimal(0)),
    )
