"""Pricing rules: bill and pay rates for an order from a franchise's rate card. Pure.

Money is Decimal throughout and rounded half-up to the kopeck/cent only at the end.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")

# Site conditions change the price: a warm warehouse is the base, outdoor and heavy work dearer.
CONDITION_FACTORS = {
    "warm_indoor": Decimal("1.00"),
    "cold_indoor": Decimal("1.10"),
    "outdoor": Decimal("1.20"),
    "heavy": Decimal("1.25"),
}
NIGHT_HOURS = frozenset({22, 23, 0, 1, 2, 3, 4, 5})


def money(value: Decimal) -> Decimal:
    """Round half-up to the cent, the way an accountant does."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class RateCardTerms:
    """One franchise's prices for one work type (per worker-hour)."""

    bill_rate: Decimal
    pay_rate: Decimal
    min_hours: Decimal = Decimal(4)
    night_factor: Decimal = Decimal("1.20")
    weekend_factor: Decimal = Decimal("1.10")
    # Larger crews get a lower bill rate: (minimum headcount, factor), checked largest first.
    crew_bands: tuple[tuple[int, Decimal], ...] = ((20, Decimal("0.95")), (50, Decimal("0.90")))
    # The worker's share follows the conditions (harder work pays more), not the crew discount.
    pay_follows_conditions: bool = True


@dataclass(frozen=True)
class Quote:
    bill_rate: Decimal
    pay_rate: Decimal
    hours_billed: Decimal
    headcount: int
    total_bill: Decimal
    total_pay: Decimal
    breakdown: list[str] = field(default_factory=list)
    # The same steps as data, for a page to write in its own language: (kind, figures), kind
    # one of "base", "conditions", "night", "weekend", "crew", "minimum_hours".
    parts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def quote(
    terms: RateCardTerms, *, conditions: str, headcount: int, hours: Decimal, local_start: datetime
) -> Quote:
    """Rates and totals for `headcount` workers for `hours` starting at `local_start` (the
    franchise's local time: night and weekend are local notions)."""
    if headcount < 1:
        raise ValueError("headcount must be at least 1")
    if hours <= 0:
        raise ValueError("hours must be positive")
    if conditions not in CONDITION_FACTORS:
        raise ValueError(f"unknown conditions {conditions!r}")
    breakdown = [f"base {terms.bill_rate}/h bill, {terms.pay_rate}/h pay"]
    parts: list[tuple[str, dict[str, Any]]] = [
        ("base", {"bill": terms.bill_rate, "pay": terms.pay_rate})]
    bill_factor = CONDITION_FACTORS[conditions]
    pay_factor = bill_factor if terms.pay_follows_conditions else Decimal(1)
    if bill_factor != 1:
        breakdown.append(f"{conditions.replace('_', ' ')} x{bill_factor}")
        parts.append(("conditions", {"conditions": conditions, "factor": bill_factor}))
    if local_start.hour in NIGHT_HOURS:
        bill_factor *= terms.night_factor
        pay_factor *= terms.night_factor
        breakdown.append(f"night x{terms.night_factor}")
        parts.append(("night", {"factor": terms.night_factor}))
    if local_start.weekday() >= 5:
        bill_factor *= terms.weekend_factor
        pay_factor *= terms.weekend_factor
        breakdown.append(f"weekend x{terms.weekend_factor}")
        parts.append(("weekend", {"factor": terms.weekend_factor}))
    for minimum, factor in sorted(terms.crew_bands, reverse=True):
        if headcount >= minimum:
            bill_factor *= factor
            breakdown.append(f"crew of {minimum}+ x{factor}")
            parts.append(("crew", {"minimum": minimum, "factor": factor}))
            break
    hours_billed = max(hours, terms.min_hours)
    if hours_billed != hours:
        breakdown.append(f"minimum {terms.min_hours} h billed")
        parts.append(("minimum_hours", {"hours": terms.min_hours}))
    bill_rate = money(terms.bill_rate * bill_factor)
    pay_rate = money(terms.pay_rate * pay_factor)
    return Quote(
        bill_rate=bill_rate,
        pay_rate=pay_rate,
        hours_billed=hours_billed,
        headcount=headcount,
        total_bill=money(bill_rate * hours_billed * headcount),
        total_pay=money(pay_rate * hours_billed * headcount),
        breakdown=breakdown,
        parts=parts,
    )


def royalty(turnover: Decimal, rate: Decimal, monthly_fee: Decimal) -> tuple[Decimal, Decimal]:
    """(royalty, total): turnover x rate and that plus the fixed fee, each to the cent."""
    royalty_amount = money(turnover * rate)
    return royalty_amount, money(royalty_amount + monthly_fee)
