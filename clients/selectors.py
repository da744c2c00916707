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
    """The leads that came in during a period and where they stand now.

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
    """Lead routing figures for leads that came in during [start, end), and for the offers
    made to each franchise in it. Two queries however many leads and franchises.

    A lead came in when it was first routed (its first hop, stamped by the project's clock
    like every step of its journey), so the figures of a simulated month are that month's."""
    hops = LeadHop.objects.filter(lead=OuterRef("pk")).order_by()
    hop_count = Subquery(hops.values("lead").annotate(count=Count("id")).values("count"),
                         output_field=IntegerField())
    came_in = Subquery(hops.order_by("offered_at", "id").values("offered_at")[:1])
    offered_in_period = LeadHop.objects.filter(offered_at__gte=start, offered_at__lt=end)
    accepted = Q(status=Lead.Status.ACCEPTED)
    figures = (
        Lead.objects.filter(pk__in=offered_in_period.values("lead_id"))
        .annotate(came_in=came_in, hop_count=Coalesce(hop_count, 0))
        .filter(came_in__gte=start, came_in__lt=end)
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
        offered_in_period.filter(franchise__isnull=False)
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
