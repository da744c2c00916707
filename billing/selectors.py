"""Reads for billing: the benchmark report over a month, a franchise's month to date, its
invoices per client, and the statements HQ is waiting on."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Avg, Count, Prefetch, Q, QuerySet, Sum

from dispatch.models import Offer, Order
from franchises.models import Franchise

from . import pricing
from .benchmarks import LocationRow, OrderFacts, location_row
from .models import Credit, InvoiceLine, PayLine, RoyaltyPayment, RoyaltyStatement
from .services import StatementDraft, period_bounds, period_of, statement_draft


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
        revenue = pricing.money(
            invoiced.get(franchise.pk, Decimal(0)) - credits.get(franchise.pk, Decimal(0))
        )
        rows.append(
            location_row(
                franchise_id=franchise.pk, name=franchise.name, orders=facts[franchise.pk],
                revenue=revenue, royalty=pricing.money(revenue * franchise.royalty_rate),
                avg_rating=ratings.get(franchise.pk),
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
            name=(lines or credit)["client__name"],
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
