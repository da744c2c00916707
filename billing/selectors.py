"""Reads for billing: the benchmark report over a month."""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Avg, Count, Q, Sum

from dispatch.models import Offer, Order
from franchises.models import Franchise

from . import pricing
from .benchmarks import LocationRow, OrderFacts, location_row
from .models import Credit, InvoiceLine, PayLine
from .services import period_bounds


def benchmark_rows(*, period: str) -> list[LocationRow]:
    """Every franchise's figures for `period` (orders by their start in local time).

    Queries do not grow with the network: the month's bounds depend only on the time zone,
    so orders and ratings are read once per zone (a handful for 450 franchises)."""
    franchises = list(Franchise.objects.exclude(kind=Franchise.Kind.HQ).order_by("name"))
    by_zone: dict[str, list[int]] = defaultdict(list)
    for franchise in franchises:
        by_zone[franchise.timezone].append(franchise.pk)
    facts: dict[int, list[OrderFacts]] = defaultdict(list)
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
                         "calling_since", "filled_at")
        )
        for franchise_id, headcount, present, missing, confirmed, calling_since, filled_at in (
            orders
        ):
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
    rows = []
    for franchise in franchises:
        revenue = invoiced.get(franchise.pk, Decimal(0)) - credits.get(franchise.pk, Decimal(0))
        rows.append(
            location_row(
                franchise_id=franchise.pk, name=franchise.name, orders=facts[franchise.pk],
                revenue=revenue, royalty=pricing.money(revenue * franchise.royalty_rate),
                avg_rating=ratings.get(franchise.pk),
            )
        )
    return rows


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
