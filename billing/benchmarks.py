"""Benchmark figures per location: pure arithmetic over per-order facts. No ORM."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from statistics import median

from .pricing import money

ZERO = Decimal(0)


@dataclass(frozen=True)
class OrderFacts:
    headcount: int
    present: int
    no_shows: int
    confirmed: int
    minutes_to_fill: float | None  # None when never filled
    # Whether the order has begun (its crew was checked in or marked absent): an order still
    # to come has nobody present yet and is no failure to fill.
    started: bool = True


@dataclass(frozen=True)
class Money:
    """What completed orders (one, or a franchise's month) were billed and cost: hours billed
    to clients, hours paid to workers, and the fees over-booking costs the franchise (show-up
    fees for those sent home beyond the headcount, standby fees for standby never called).
    The margin is billed - paid - fees; the royalty is on turnover, not on the margin."""

    orders: int = 0
    billed: Decimal = ZERO
    paid: Decimal = ZERO
    show_up_fees: Decimal = ZERO
    standby_fees: Decimal = ZERO

    @property
    def overbooking_cost(self) -> Decimal:
        return self.show_up_fees + self.standby_fees

    @property
    def margin(self) -> Decimal:
        return self.billed - self.paid - self.overbooking_cost

    @property
    def margin_per_order(self) -> Decimal | None:
        return money(self.margin / self.orders) if self.orders else None

    @property
    def overbooking_cost_per_order(self) -> Decimal | None:
        return money(self.overbooking_cost / self.orders) if self.orders else None


@dataclass(frozen=True)
class LocationRow:
    franchise_id: int
    name: str
    orders: int
    slots: int
    fill_rate: float | None
    no_show_rate: float | None
    revenue: Decimal
    royalty: Decimal
    avg_rating: float | None
    median_minutes_to_fill: float | None
    # The fees paid for surplus sent home and standby never called, and billed - paid - fees
    # per completed order (None without one).
    overbooking_cost: Decimal = ZERO
    margin_per_order: Decimal | None = None


METRICS = ("orders", "slots", "fill_rate", "no_show_rate", "revenue", "royalty", "avg_rating",
           "median_minutes_to_fill", "overbooking_cost", "margin_per_order")


def location_row(
    *, franchise_id: int, name: str, orders: Sequence[OrderFacts], revenue: Decimal,
    royalty: Decimal, avg_rating: float | None, books: Money | None = None,
) -> LocationRow:
    """One franchise's figures. fill_rate: share of the orders that have begun with at least
    the headcount present (None before any has); no_show_rate: no-shows per confirmed worker
    whose attendance was taken; over-booking cost and margin per order from the completed
    orders' `books`."""
    filled = [o.minutes_to_fill for o in orders if o.minutes_to_fill is not None]
    confirmed = sum(o.confirmed for o in orders)
    begun = [o for o in orders if o.started]
    books = books or Money()
    return LocationRow(
        franchise_id=franchise_id,
        name=name,
        orders=len(orders),
        slots=sum(o.headcount for o in orders),
        fill_rate=(sum(o.present >= o.headcount for o in begun) / len(begun)) if begun else None,
        no_show_rate=(sum(o.no_shows for o in orders) / confirmed) if confirmed else None,
        revenue=revenue,
        royalty=royalty,
        avg_rating=avg_rating,
        median_minutes_to_fill=median(filled) if filled else None,
        overbooking_cost=books.overbooking_cost,
        margin_per_order=books.margin_per_order,
    )


def network_medians(rows: Iterable[LocationRow]) -> dict[str, float | Decimal | None]:
    """The median of each metric across locations that have a value for it."""
    rows = list(rows)
    result: dict[str, float | Decimal | None] = {}
    for metric in METRICS:
        values = [getattr(row, metric) for row in rows if getattr(row, metric) is not None]
        result[metric] = median(values) if values else None
    return result


SORT_KEYS = ("name", *METRICS)


def sort_rows(rows: Iterable[LocationRow], ordering: str) -> list[LocationRow]:
    """Rows ordered by `ordering`: a key of SORT_KEYS, "-" first for descending. A location
    with no figure for the key (no orders that month) goes last either way: a "best first"
    table must not be topped by a location that did nothing. ValueError on an unknown key."""
    rows = list(rows)
    key = ordering.lstrip("-")
    if key not in SORT_KEYS:
        raise ValueError(f"Order by one of {list(SORT_KEYS)}.")
    descending = ordering.startswith("-")
    if key == "name":
        return sorted(rows, key=lambda row: row.name, reverse=descending)
    return [
        *sorted((row for row in rows if getattr(row, key) is not None),
                key=lambda row: getattr(row, key), reverse=descending),
        *(row for row in rows if getattr(row, key) is None),
    ]
