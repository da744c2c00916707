"""Reads on clients and leads: how the month's leads travelled through the network."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from .models import Lead, LeadHop
from .routing import HELD_BY_HQ


@dataclass(frozen=True)
class FranchiseLeads:
    """The leads one franchise was offered in a period, by how it answered."""

    offered: int = 0
    accepted: int = 0
    rejected: int = 0
    timed_out: int = 0
    pending: int = 0

    @property
    def acceptance_rate(self) -> float | None:
        answered = self.accepted + self.rejected + self.timed_out
        return self.accepted / answered if answered else None


@dataclass(frozen=True)
class LeadRouting:
    """The leads created in a period and where they stand now.

    `accepted_first`: taken by the first franchise they were offered to; `rerouted`: moved
    on at least once (turned down, not answered in time, or handed on by HQ), whatever
    became of them; `held_by_hq`: with HQ now because nobody covers the point or every
    candidate turned them down; `expired`: with HQ because the last one asked let them run
    out of time (the two do not overlap). `per_franchise` counts the offers (hops) made to
    each franchise in the period, by franchise id.
    """

    total: int
    accepted_first: int
    accepted_after_rerouting: int
    rerouted: int
    offered_now: int
    held_by_hq: int
    expired: int
    per_franchise: dict[int, FranchiseLeads] = field(default_factory=dict)


_OUTCOMES = {
    LeadHop.Outcome.ACCEPTED: "accepted",
    LeadHop.Outcome.REJECTED: "rejected",
    LeadHop.Outcome.TIMED_OUT: "timed_out",
    LeadHop.Outcome.PENDING: "pending",
}


def lead_routing(*, start: datetime, end: datetime) -> LeadRouting:
    """Lead routing figures for leads created in [start, end), and for the offers made to
    each franchise in it. Two queries however many leads and franchises."""
    hops = Subquery(
        LeadHop.objects.filter(lead=OuterRef("pk")).order_by().values("lead")
        .annotate(count=Count("id")).values("count"),
        output_field=IntegerField(),
    )
    accepted = Q(status=Lead.Status.ACCEPTED)
    figures = (
        Lead.objects.filter(created_at__gte=start, created_at__lt=end)
        .annotate(hop_count=Coalesce(hops, 0))
        .aggregate(
            total=Count("id"),
            accepted_first=Count("id", filter=accepted & Q(hop_count=1)),
            accepted_after_rerouting=Count("id", filter=accepted & Q(hop_count__gt=1)),
            rerouted=Count("id", filter=Q(hop_count__gt=1)),
            offered_now=Count("id", filter=Q(status=Lead.Status.OFFERED)),
            held_by_hq=Count("id", filter=Q(franchise__isnull=True, status__in=HELD_BY_HQ)
                             & ~Q(status=Lead.Status.EXPIRED)),
            expired=Count("id", filter=Q(status=Lead.Status.EXPIRED)),
        )
    )
    counts: dict[int, dict[str, int]] = {}
    for franchise_id, outcome, count in (
        LeadHop.objects.filter(offered_at__gte=start, offered_at__lt=end,
                               franchise__isnull=False)
        .order_by().values("franchise_id", "outcome").annotate(count=Count("id"))
        .values_list("franchise_id", "outcome", "count")
    ):
        row = counts.setdefault(franchise_id, {"offered": 0})
        row["offered"] += count
        if outcome in _OUTCOMES:
            row[_OUTCOMES[outcome]] = row.get(_OUTCOMES[outcome], 0) + count
    return LeadRouting(
        **figures,
        per_franchise={franchise_id: FranchiseLeads(**row) for franchise_id, row in counts.items()},
    )
