"""A franchise's dashboard: today's and tomorrow's crews as they check in, the month's
turnover and the royalty it carries, statements and payments, invoices per client with
their exports, credits, and the franchise against the network's medians.

A franchise login sees its own franchise (another's id is 404, as in the API); HQ opens any
franchise's with `?franchise=<id>`. Figures come from billing's selectors, reckoned the way
the royalty statement reckons them.
"""

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.db.models import Q, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _

from billing.benchmarks import network_medians
from billing.models import Credit, RoyaltyStatement
from billing.selectors import (
    benchmark_rows,
    client_invoice_lines,
    client_invoices,
    month_money,
    month_to_date,
    statements_with_payments,
)
from billing.services import period_of
from clients.models import Client
from core import clock
from dispatch.models import Order
from dispatch.selectors import orders_with_checkins
from franchises.models import Franchise
from franchises.scoping import scope_queryset

from .access import FRANCHISE, HQ, SignedInRequest, roles_required
from .books import (
    CreditForm,
    MonthForm,
    credits_of,
    dashboard_path,
    dress_statements,
    franchise_from,
    is_htmx,
    local_today,
)
from .local_time import local_days, local_time
from .network import METRIC_BY_KEY, METRICS, cells, comparison_chart, row_values

if TYPE_CHECKING:
    from dispatch.selectors import OrderWithCheckins

# Statements a dashboard lists: two years of months is more than anyone scrolls back.
STATEMENT_LIMIT = 24
CHARTED = ("fill_rate", "no_show_rate", "revenue", "avg_rating", "median_minutes_to_fill")


def _franchise(request: SignedInRequest) -> Franchise | None:
    """Whose dashboard: a franchise login's own (another's id is 404); for HQ the one named
    by `?franchise=`, or None when none is named yet."""
    wanted = request.GET.get("franchise")
    user = request.user
    if user.is_hq:
        return franchise_from(wanted) if wanted else None
    if wanted and wanted != str(user.franchise_id):
        raise Http404("No such franchise.")  # whether or not another one has that id
    return user.franchise


def _crews(franchise: Franchise, now: datetime) -> "list[OrderWithCheckins]":
    """Orders starting today or tomorrow (the franchise's days), and any still under way,
    soonest first, with their crews' check-in counts: one query."""
    first, last = local_days(now, franchise.timezone, 2)
    orders: QuerySet[Order] = (
        Order.objects.filter(franchise=franchise)
        .filter(Q(start__gte=first, start__lt=last) | Q(status=Order.Status.IN_PROGRESS))
        .exclude(status=Order.Status.CANCELLED)
        .select_related("client", "site")
        .order_by("start", "id")
    )
    crews = list(orders_with_checkins(orders))
    today = local_time(now, franchise.timezone).local_date
    for order in crews:
        order.local_start = local_time(order.start, franchise.timezone)
        days = (order.local_start.local_date - today).days
        order.day_label = {0: _("Today"), 1: _("Tomorrow")}.get(days, order.local_start.day)
        order.count_on_time = order.count_present - order.count_late
        order.short = max(order.headcount - order.count_confirmed, 0)
    return crews


def _crews_context(franchise: Franchise) -> dict[str, Any]:
    now = clock.now()
    return {"franchise": franchise, "crews": _crews(franchise, now),
            "checked_at": local_time(now, franchise.timezone)}


@roles_required(HQ, FRANCHISE)
def dashboard_crews(request: SignedInRequest) -> HttpResponse:
    """The crews panel alone, for the dashboard's live refresh."""
    franchise = _franchise(request)
    if franchise is None:
        raise Http404("Name the franchise.")
    return render(request, "web/_dashboard_crews.html", _crews_context(franchise))


def _benchmark(franchise: Franchise, period: str) -> dict[str, Any]:
    rows = benchmark_rows(period=period)
    medians = network_medians(rows)
    own = next((row for row in rows if row.franchise_id == franchise.pk), None)
    own_values = row_values(own) if own is not None else {}
    table = [
        {"metric": metric, "own": own_cell, "median": median_cell}
        for metric, own_cell, median_cell in zip(
            METRICS, cells(own_values), cells(medians), strict=True)
    ]
    charts = [
        comparison_chart(METRIC_BY_KEY[key], own_values.get(key), medians[key],
                         own_label=franchise.name)
        for key in CHARTED
    ]
    return {"table": table, "charts": charts}


def _exports(franchise: Franchise, period: str) -> dict[str, str]:
    """The API's CSV exports for the month (they take the page's session)."""
    query = urlencode({"period": period, "franchise": franchise.pk})
    return {
        "invoice_lines": f"{reverse('invoice-line-export')}?{query}",
        "pay_lines": f"{reverse('pay-line-export')}?{query}",
    }


@roles_required(HQ, FRANCHISE)
def dashboard(request: SignedInRequest) -> HttpResponse:
    franchise = _franchise(request)
    if franchise is None:
        return render(request, "web/dashboard_pick.html", {
            "franchises": Franchise.objects.exclude(kind=Franchise.Kind.HQ)
            .order_by("name").only("id", "name", "city"),
        })
    now = clock.now()
    zone = franchise.timezone
    this_month = period_of(now, zone)
    month_form = MonthForm(request.GET, default=this_month)
    period = month_form.period
    statements = list(statements_with_payments(
        scope_queryset(RoyaltyStatement.objects.filter(franchise=franchise), request.user)
    ).order_by("-period")[:STATEMENT_LIMIT])
    dress_statements(statements, next_path=request.get_full_path())
    invoices = client_invoices(franchise=franchise, period=period)
    mtd = month_to_date(franchise=franchise, now=now)
    context = {
        "franchise": franchise,
        "zone": local_time(now, zone),
        "today": local_today(zone),
        "mtd": mtd,
        "mtd_rate_percent": mtd.royalty_rate * 100,
        "month_form": month_form,
        "period": period,
        "is_this_month": period == this_month,
        "statements": statements,
        "statement_limit": STATEMENT_LIMIT,
        "invoices": invoices,
        "invoice_totals": {
            "orders": sum(invoice.orders for invoice in invoices),
            "hours": sum((invoice.hours for invoice in invoices), Decimal(0)),
            "invoiced": sum((invoice.invoiced for invoice in invoices), Decimal(0)),
            "credits": sum((invoice.credits for invoice in invoices), Decimal(0)),
            "net": sum((invoice.net for invoice in invoices), Decimal(0)),
        },
        "exports": _exports(franchise, period),
        "month_money": month_money(franchise=franchise, period=period),
        "currency": franchise.currency,
        "credits": credits_of(Credit.objects.filter(franchise=franchise, period=period)),
        "benchmark": _benchmark(franchise, period),
        "self_path": request.get_full_path(),
        **_crews_context(franchise),
    }
    if request.user.is_hq:
        context["credit_form"] = CreditForm(franchise=franchise, initial={
            "period": period, "next": dashboard_path(franchise, period, "credits"),
        })
    return render(request, "web/dashboard.html", context)


@roles_required(HQ, FRANCHISE)
def client_lines(request: SignedInRequest, client_id: int) -> HttpResponse:
    """One client's invoice lines for a month (`?month=`), loaded on demand under its row.
    A client outside the caller's franchise is 404."""
    client = get_object_or_404(
        scope_queryset(Client.objects.select_related("franchise"), request.user)
        .filter(franchise__isnull=False), pk=client_id,
    )
    franchise = client.franchise
    if franchise is None:  # a lead's client before any franchise took it: not on a dashboard
        raise Http404("No such client.")
    month_form = MonthForm(request.GET, default=period_of(clock.now(), franchise.timezone))
    period = month_form.period
    lines = list(client_invoice_lines(franchise=franchise, client_id=client.pk, period=period))
    for line in lines:
        line.local_start = local_time(line.order.start, franchise.timezone)
    context = {
        "client": client, "franchise": franchise, "period": period, "lines": lines,
        "total": sum((line.amount for line in lines), Decimal(0)),
        "export": f"{reverse('invoice-line-export')}?"
                  + urlencode({"period": period, "franchise": franchise.pk, "client": client.pk}),
        "back": dashboard_path(franchise, period, "invoices"),
    }
    if is_htmx(request):
        return render(request, "web/_dashboard_lines.html", context)
    return render(request, "web/dashboard_lines.html", context)
