"""Where a lead goes: who should serve the point, and the hop history that proves it.

Order of preference (the franchise network's published allocation rule):
1. the franchise that served this client (by phone) before;
2. the official office whose territory holds the site;
3. brand franchises whose territory holds it, the one with the fewest recent leads first;
4. HQ, which holds the lead itself.
A franchise that has already had the lead, is inactive, or has paused leads is skipped.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q

from config import clock
from franchises.models import Franchise
from franchises.territory import territory_contains

from .models import Client, Lead, LeadHop

RECENT_LEADS_WINDOW = timedelta(days=30)


def _lead_sla() -> timedelta:
    return timedelta(minutes=getattr(settings, "LEAD_SLA_MINUTES", 15))


def routing_candidates(*, lead: Lead) -> list[tuple[Franchise, str]]:
    """Franchises to offer the lead to, best first, each with the reason it qualifies."""
    now = clock.now()
    already = set(lead.hops.exclude(franchise=None).values_list("franchise_id", flat=True))
    available = (
        Franchise.objects.filter(is_active=True)
        .exclude(kind=Franchise.Kind.HQ)
        .exclude(pk__in=already)
        .exclude(leads_paused_until__gt=now)
    )
    candidates: list[tuple[Franchise, str]] = []
    seen: set[int] = set()

    def add(franchise: Franchise, reason: str) -> None:
        if franchise.pk not in seen:
            seen.add(franchise.pk)
            candidates.append((franchise, reason))

    previous = (
        Client.objects.filter(phone=lead.phone, franchise__in=available)
        .select_related("franchise")
        .order_by("-created_at")
        .first()
    )
    if previous is not None and previous.franchise is not None:
        add(previous.franchise, "served this client before")
    if lead.lat is None or lead.lng is None:
        return candidates
    holders = [
        franchise
        for franchise in available.filter(territory__isnull=False)
        if territory_contains(franchise.territory, lat=lead.lat, lng=lead.lng)
    ]
    for franchise in holders:
        if franchise.kind == Franchise.Kind.OFFICIAL_OFFICE:
            add(franchise, "official office for this territory")
    brand = [f.pk for f in holders if f.kind == Franchise.Kind.BRAND_FRANCHISE]
    recent = dict(
        Franchise.objects.filter(pk__in=brand)
        .annotate(
            recent=Count("leads", filter=Q(leads__routed_at__gte=now - RECENT_LEADS_WINDOW))
        )
        .values_list("pk", "recent")
    )
    for franchise in sorted(
        (f for f in holders if f.pk in recent), key=lambda f: (recent[f.pk], f.pk)
    ):
        add(franchise, "brand franchise covering this point")
    return candidates


@transaction.atomic
def lead_route(*, lead: Lead, reason: str) -> Lead:
    """Offer the lead to the best candidate not yet asked, or give it to HQ."""
    now = clock.now()
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    candidates = routing_candidates(lead=lead)
    if candidates:
        franchise, why = candidates[0]
        lead.franchise = franchise
        lead.status = Lead.Status.OFFERED
        lead.respond_by = now + _lead_sla()
        hop_reason = f"{reason}: {why}"
    else:
        lead.franchise = None
        lead.status = Lead.Status.NEW
        lead.respond_by = None
        hop_reason = f"{reason}: no franchise covers this point, HQ holds it"
    lead.routed_at = now
    lead.save(update_fields=["franchise", "status", "respond_by", "routed_at"])
    LeadHop.objects.create(lead=lead, franchise=lead.franchise, reason=hop_reason, offered_at=now)
    return lead
