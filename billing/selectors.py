"""Reads for billing: the benchmark report over a month; what an order, and a franchise's
month, were billed and cost (the margin)."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Avg, Count, Q, Sum

from dispatch.models import Offer, Order
from franchises.models import Franchise

from . import pricing
from .benchmarks import LocationRow, Money, OrderFacts, location_row
from .models import Credit, InvoiceLine, PayLine
from .services import period_bounds

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
            facts[franchise_id].append(OrderFacts(headcount, present, missing, confirmed, minutes))
        ratings.update(
            Offer.objects.filter(
                order__franchise_id__in=ids, order__start__gte=start, order__start__lt=end,
                attendance__in=[Offer.Attendance.PRESENT, Offer.Attendance.LATE],
            ).values("order__franchise_id").annotate(avg=Avg("worker__rating"))
            .values_list("order__franchise_id", "avg")
        )
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
        revenue = billed - credits.get(franchise.pk, Decimal(0))
        rows.append(
            location_row(
                franchise_id=franchise.pk, name=franchise.name, orders=facts[franchise.pk],
                revenue=revenue, royalty=pricing.money(revenue * franchise.royalty_rate),
                avg_rating=ratings.get(franchise.pk),
                books=_money(completed[franchise.pk], billed, paid[franchise.pk]),
            )
        )
    return rows
