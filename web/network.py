"""HQ's view of the network: every franchise's month side by side, the statements HQ is
waiting on, and how the month's leads travelled.

The figures are the benchmark report's (`billing.selectors.benchmark_rows`, the same rows
`/api/v1/reports/benchmark/` answers with), sorted on the server; the charts are SVG drawn
here (web/charts.py). Every read is a fixed number of queries, however many franchises.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.formats import number_format
from django.utils.functional import Promise
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.benchmarks import SORT_KEYS, LocationRow, network_medians, sort_rows
from billing.models import RoyaltyStatement
from billing.selectors import benchmark_rows, overdue_statements
from billing.services import period_bounds
from clients.selectors import lead_routing
from core import clock
from franchises.models import Franchise

from .access import HQ, SignedInRequest, roles_required
from .books import MonthForm, local_today
from .charts import Bar, bar_chart

# A chart of 450 bars helps nobody: the best this many, and the table has the rest.
CHART_BARS = 30


def _money(value: Any) -> str:
    return number_format(value, decimal_pos=2, force_grouping=True)


def _whole(value: Any) -> str:
    return number_format(value, decimal_pos=0, force_grouping=True)


def _percent(value: Any) -> str:
    return f"{number_format(float(value) * 100, decimal_pos=1)} %"


def _rating(value: Any) -> str:
    return number_format(value, decimal_pos=2)


def _minutes(value: Any) -> str:
    return number_format(value, decimal_pos=0)


@dataclass(frozen=True)
class Metric:
    key: str
    label: str | Promise
    write: Callable[[Any], str]
    # Whether more is better: a no-show rate or a fill time is better small.
    higher_is_better: bool = True


METRICS: tuple[Metric, ...] = (
    Metric("orders", gettext_lazy("Orders"), _whole),
    Metric("slots", gettext_lazy("Places"), _whole),
    Metric("fill_rate", gettext_lazy("Fill rate"), _percent),
    Metric("no_show_rate", gettext_lazy("No-show rate"), _percent, higher_is_better=False),
    Metric("revenue", gettext_lazy("Revenue"), _money),
    Metric("royalty", gettext_lazy("Royalty"), _money),
    Metric("avg_rating", gettext_lazy("Average rating"), _rating),
    Metric("median_minutes_to_fill", gettext_lazy("Minutes to fill (median)"), _minutes,
           higher_is_better=False),
)
METRIC_BY_KEY = {metric.key: metric for metric in METRICS}


@dataclass(frozen=True)
class Cell:
    """One figure of the benchmark table: the raw value (for data attributes) and its text."""

    key: str
    raw: str
    text: str


def cells(values: dict[str, Any]) -> list[Cell]:
    """A row of figures as the table shows them; a missing figure is a dash."""
    result = []
    for metric in METRICS:
        value = values.get(metric.key)
        if value is None:
            result.append(Cell(metric.key, "", "–"))
        else:
            raw = str(value) if isinstance(value, Decimal | int) else f"{float(value):.4f}"
            result.append(Cell(metric.key, raw, metric.write(value)))
    return result


def row_values(row: LocationRow) -> dict[str, Any]:
    return {metric.key: getattr(row, metric.key) for metric in METRICS}


@dataclass(frozen=True)
class Chart:
    key: str
    label: str | Promise
    svg: SafeString


def comparison_chart(metric: Metric, own: Any, median: Any, *, own_label: str) -> Chart:
    """One metric: the franchise's bar beside the network median's."""
    bars = [Bar(own_label, float(own or 0), highlight=True),
            Bar(_("Network median"), float(median or 0))]
    markup = bar_chart(bars, title=str(metric.label), value_format=metric.write)
    return Chart(metric.key, metric.label, mark_safe(markup))  # bar_chart escapes labels


def network_chart(metric: Metric, rows: Sequence[LocationRow], median: Any) -> Chart:
    """One metric across franchises, best first, with the network median's line. The bars
    on the better side of the median are drawn strong."""
    ranked = sort_rows(rows, f"-{metric.key}" if metric.higher_is_better else metric.key)
    ranked = [row for row in ranked if getattr(row, metric.key) is not None][:CHART_BARS]

    def better(value: float) -> bool:
        if median is None:
            return False
        return value >= float(median) if metric.higher_is_better else value <= float(median)

    bars = [Bar(row.name, float(getattr(row, metric.key)),
                highlight=better(float(getattr(row, metric.key)))) for row in ranked]
    markup = bar_chart(
        bars, title=str(metric.label), value_format=metric.write,
        median=None if median is None else float(median), median_label=_("median"),
    )
    return Chart(metric.key, metric.label, mark_safe(markup))  # bar_chart escapes labels


def _sort_links(sort: str) -> list[dict[str, Any]]:
    """Each column's heading: a link that sorts by it (best first), or turns the order
    round when the table is already sorted by it."""
    columns = [("name", _("Franchise"), True)] + [
        (metric.key, metric.label, metric.higher_is_better) for metric in METRICS
    ]
    links = []
    for key, label, higher_is_better in columns:
        first = key if key == "name" or not higher_is_better else f"-{key}"
        if sort.lstrip("-") == key:
            target = key if sort.startswith("-") else f"-{key}"
            arrow = "▼" if sort.startswith("-") else "▲"
        else:
            target, arrow = first, ""
        links.append({"key": key, "label": label, "sort": target, "arrow": arrow,
                      "active": bool(arrow)})
    return links


@dataclass
class OverdueRow:
    statement: RoyaltyStatement
    outstanding: Decimal
    days_overdue: int


def overdue_rows(today: date) -> list[OverdueRow]:
    return [
        OverdueRow(statement, statement.total - statement.paid, (today - statement.due_on).days)
        for statement in overdue_statements(today=today)
    ]


@roles_required(HQ)
def network(request: SignedInRequest) -> HttpResponse:
    """Every franchise's month, sortable by any column (`?sort=revenue`, `?sort=-fill_rate`),
    with charts, overdue statements and lead routing."""
    hq_zone = Franchise.hq_timezone()
    today = local_today(hq_zone)
    month_form = MonthForm(request.GET, default=today.strftime("%Y-%m"))
    period = month_form.period
    sort = request.GET.get("sort") or "name"
    sort_error = ""
    if sort.lstrip("-") not in SORT_KEYS or sort.count("-") > 1:
        sort_error = _("The table cannot be sorted by “%(sort)s”: it is sorted by name.") % {
            "sort": sort[:40]}
        sort = "name"
    rows = benchmark_rows(period=period)
    medians = network_medians(rows)
    table = [
        {"row": row, "cells": cells(row_values(row))} for row in sort_rows(rows, sort)
    ]
    start, end = period_bounds(period, hq_zone)
    routing = lead_routing(start=start, end=end)
    names = {row.franchise_id: row.name for row in rows}
    routing_rows: list[dict[str, Any]] = sorted(
        ({"franchise_id": franchise_id, "name": names.get(franchise_id, f"#{franchise_id}"),
          "leads": figures}
         for franchise_id, figures in routing.per_franchise.items()),
        key=lambda item: (-item["leads"].offered, item["name"]),
    )
    return render(request, "web/network.html", {
        "month_form": month_form,
        "period": period,
        "sort": sort,
        "sort_error": sort_error,
        "columns": _sort_links(sort),
        "table": table,
        "medians": cells(medians),
        "charts": [network_chart(METRIC_BY_KEY[key], rows, medians[key])
                   for key in ("revenue", "fill_rate", "no_show_rate")],
        "chart_bars": CHART_BARS,
        "franchise_count": len(rows),
        "overdue": overdue_rows(today),
        "today": today,
        "routing": routing,
        "routing_rows": routing_rows,
        "hq_zone": hq_zone,
        "now": clock.now(),
    })
