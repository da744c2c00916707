"""Where a lead goes: who should serve the point, and the hop history that proves it.

Order of preference (the franchise network's published allocation rule):
1. the franchise that served this client (by phone) before;
2. the official office whose territory holds the site;
3. brand franchises whose territory holds it, the one with the fewest recent leads first;
4. HQ, which holds the lead itself.
A franchise that has already had the lead, is inactive, or has paused leads is skipped.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils.translation import gettext as _

from core import clock, hooks
from core.geo import territory_contains
from franchises.models import Franchise
from messaging.services import sms_queue

from .models import Client, Lead, LeadHop

RECENT_LEADS_WINDOW = timedelta(days=30)
# Workers are looked for within this distance of the site when a lead is routed.
STAFFING_RADIUS_KM = 35.0

SHORT, TIGHT = "short", "tight"


class Cause(StrEnum):
    """Why a lead is routed (again)."""

    NEW = "new lead"
    REJECTED = "rejected"
    EXPIRED = "not accepted in time"


class Why(StrEnum):
    """Why it goes where it goes."""

    SERVED_BEFORE = "served this client before"
    OFFICIAL_OFFICE = "official office for this territory"
    BRAND_FRANCHISE = "brand franchise covering this point"
    NOBODY_LEFT = "no other franchise left to ask"
    NOT_COVERED = "no franchise covers this point"


# A hop's reason is stored as these words (the API shows it as written): "<cause>: <why>",
# "<cause>: <why>, HQ holds it", "rejected (<the franchise's words>): ..." or "handed on by HQ
# (<login>)". `hop_reason_read` takes one apart, so pages can say it in their reader's language.
HQ_HOLDS_IT = ", HQ holds it"
_ROUTED = re.compile(
    rf"(?P<cause>{'|'.join(map(re.escape, Cause))})(?: \((?P<said>.*)\))?: "
    rf"(?P<why>{'|'.join(map(re.escape, Why))})(?P<held>{re.escape(HQ_HOLDS_IT)})?",
    re.DOTALL,
)
_HANDED_ON = re.compile(r"handed on by HQ \((?P<name>.*)\)", re.DOTALL)


@dataclass(frozen=True)
class HopReason:
    """A hop's reason taken apart: routed for `cause` (with the rejecting franchise's own words
    in `said`) to a franchise for `why`, or held by HQ; or handed on by HQ's login `handed_by`."""

    cause: Cause | None = None
    said: str | None = None
    why: Why | None = None
    held_by_hq: bool = False
    handed_by: str | None = None


def hop_reason_read(reason: str) -> HopReason | None:
    """The parts of a reason routing wrote; None for any other text."""
    handed = _HANDED_ON.fullmatch(reason)
    if handed is not None:
        return HopReason(handed_by=handed["name"])
    found = _ROUTED.fullmatch(reason)
    if found is None:
        return None
    return HopReason(cause=Cause(found["cause"]), said=found["said"], why=Why(found["why"]),
                     held_by_hq=bool(found["held"]))


def staffing_level(in_reach: int | None, headcount: int) -> str | None:
    """SHORT when fewer suitable workers live within reach than the lead has places, TIGHT
    when fewer than three for each place, None when there are enough or nobody knows."""
    if in_reach is None:
        return None
    if in_reach < headcount:
        return SHORT
    if in_reach < 3 * headcount:
        return TIGHT
    return None


def _workers_in_reach(lead: Lead) -> int | None:
    """How many suitable workers live within reach of the lead's site: the worker pool, above
    clients, answers through `core.hooks.staffing_probe`."""
    probe = hooks.staffing_probe.get()
    if probe is None or lead.lat is None or lead.lng is None:
        return None
    return probe(
        lat=lead.lat, lng=lead.lng, radius_km=STAFFING_RADIUS_KM, work_type=lead.work_type
    )


def _lead_sla() -> timedelta:
    return timedelta(minutes=getattr(settings, "LEAD_SLA_MINUTES", 15))


def routing_candidates(*, lead: Lead) -> list[tuple[Franchise, Why]]:
    """Franchises to offer the lead to, best first, each with the reason it qualifies."""
    now = clock.now()
    # A lead not yet saved (its start's zone is being chosen) has been nowhere.
    already = (
        set(lead.hops.exclude(franchise=None).values_list("franchise_id", flat=True))
        if lead.pk else set()
    )
    available = (
        Franchise.objects.filter(is_active=True)
        .exclude(kind=Franchise.Kind.HQ)
        .exclude(pk__in=already)
        .exclude(leads_paused_until__gt=now)
    )
    candidates: list[tuple[Franchise, Why]] = []
    seen: set[int] = set()

    def add(franchise: Franchise, reason: Why) -> None:
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
        add(previous.franchise, Why.SERVED_BEFORE)
    if lead.lat is None or lead.lng is None:
        return candidates
    holders = [
        franchise
        for franchise in available.filter(territory__isnull=False)
        if franchise.territory is not None
        and territory_contains(franchise.territory, lat=lead.lat, lng=lead.lng)
    ]
    for franchise in holders:
        if franchise.kind == Franchise.Kind.OFFICIAL_OFFICE:
            add(franchise, Why.OFFICIAL_OFFICE)
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
        add(franchise, Why.BRAND_FRANCHISE)
    return candidates


@transaction.atomic
def lead_route(*, lead: Lead, reason: str) -> Lead:
    """Offer the lead to the best candidate not yet asked, or give it to HQ.

    Only a lead nobody holds is routed: a holder's hop is closed first (by `lead_reject` or
    the SLA sweep), so the lead is never with two franchises at once.

    Staffing-aware: the lead says how many suitable workers are within reach, so the holder
    knows before accepting whether the region can staff it. The pool is shared by the whole
    network, so a thin pool is thin for every candidate: it is reported, not routed around.
    """
    now = clock.now()
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    # One holder at a time: the current holder's hop must be closed (answered or timed out)
    # before the lead moves on, and an accepted lead has become an order.
    if lead.status == Lead.Status.ACCEPTED:
        raise ValidationError({"status": [_("An accepted lead is not routed again.")]})
    if lead.hops.filter(outcome=LeadHop.Outcome.PENDING).exists():
        raise ValidationError(
            {"status": [_("The lead is held until its holder answers or its time runs out.")]}
        )
    candidates = routing_candidates(lead=lead)
    in_reach = _workers_in_reach(lead)
    lead.workers_in_reach = in_reach
    lead.staffing_note = ""
    level = staffing_level(in_reach, lead.headcount)
    if level == SHORT:
        lead.staffing_note = (
            f"Not enough: {in_reach} suitable workers within {STAFFING_RADIUS_KM:.0f} km "
            f"for {lead.headcount} places."
        )
    elif level == TIGHT:
        lead.staffing_note = (
            f"Tight: {in_reach} suitable workers within {STAFFING_RADIUS_KM:.0f} km for "
            f"{lead.headcount} places."
        )
    staffing = ("workers_in_reach", "staffing_note")
    if candidates:
        franchise, why = candidates[0]
        return _hand_to(lead, franchise, reason=f"{reason}: {why}", now=now, also=staffing)
    asked = lead.hops.exclude(franchise=None).exists()
    why = Why.NOBODY_LEFT if asked else Why.NOT_COVERED
    return _hand_to(lead, None, reason=f"{reason}: {why}{HQ_HOLDS_IT}", now=now, also=staffing)


def _hand_to(lead: Lead, franchise: Franchise | None, *, reason: str, now: datetime,
             also: tuple[str, ...] = ()) -> Lead:
    """Offer the lead to `franchise` (None: HQ holds it), with a hop that says why, and tell
    the franchise's manager by SMS. `also` names other fields of `lead` to save with it."""
    lead.franchise = franchise
    lead.status = Lead.Status.OFFERED if franchise is not None else Lead.Status.NEW
    lead.respond_by = now + _lead_sla() if franchise is not None else None
    lead.routed_at = now
    lead.save(update_fields=["franchise", "status", "respond_by", "routed_at", *also])
    LeadHop.objects.create(lead=lead, franchise=franchise, reason=reason[:200], offered_at=now)
    if franchise is not None and franchise.manager_phone:

        sms_queue(
            phone=franchise.manager_phone,
            body=(f"New lead #{lead.pk}: {lead.headcount} x {lead.work_type}, "
                  f"{lead.address[:60]}. Accept within {int(_lead_sla().total_seconds() // 60)}"
                  f" min: {lead_console_url(lead)}"),
            purpose="lead",
        )
    return lead


# The console's page of one lead, where its holder accepts or rejects it (web's `lead`).
LEAD_PAGE_PATH = "/leads/{id}/"


def lead_console_url(lead: Lead) -> str:
    """The lead's page in the console, for the manager's SMS: the console is served from the
    same public origin as the offer links."""
    return settings.OFFER_LINK_BASE.rstrip("/") + LEAD_PAGE_PATH.format(id=lead.pk)


# Leads HQ holds: no franchise covered the point, or every candidate turned it down.
HELD_BY_HQ = (Lead.Status.NEW, Lead.Status.REJECTED, Lead.Status.EXPIRED)


@transaction.atomic
def lead_hand_on(*, lead: Lead, franchise: Franchise, user: object) -> Lead:
    """HQ gives a lead it holds to the franchise it chooses (a neighbour whose territory
    stops short of the site, one that turned it down before and has since agreed on the
    phone). The franchise then answers as to any offered lead, within the same SLA."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if lead.franchise_id is not None or lead.status not in HELD_BY_HQ:
        if lead.franchise_id is not None:
            refusal = _("Only a lead HQ holds can be handed on; this one is with a franchise.")
        else:
            refusal = _("Only a lead HQ holds can be handed on; this one is %(status)s.") % {
                "status": lead.status}
        raise ValidationError({"status": [refusal]})
    if franchise.kind == Franchise.Kind.HQ or not franchise.is_active:
        raise ValidationError({"franchise": [_("Hand the lead to an active franchise.")]})
    now = clock.now()
    LeadHop.objects.filter(lead=lead, franchise=None, outcome=LeadHop.Outcome.PENDING).update(
        outcome=LeadHop.Outcome.HANDED_ON, answered_at=now
    )
    name = getattr(user, "username", "") or "HQ"
    return _hand_to(lead, franchise, reason=f"handed on by HQ ({name})", now=now)


def lead_hop_close(lead: Lead, outcome: str, now: datetime) -> None:
    """Record how the current holder answered (accepted, rejected, timed out)."""
    LeadHop.objects.filter(
        lead=lead, franchise=lead.franchise, outcome=LeadHop.Outcome.PENDING
    ).update(outcome=outcome, answered_at=now)


@transaction.atomic
def lead_reject(*, lead: Lead, reason: str = "") -> Lead:
    """The holder turns the lead down: it goes to the next candidate, the hop is kept."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if lead.status != Lead.Status.OFFERED:
        raise ValidationError(
            {"status": [_("Only an offered lead can be rejected (%(status)s).")
                        % {"status": lead.status}]}
        )
    lead_hop_close(lead, LeadHop.Outcome.REJECTED, clock.now())
    lead = lead_route(lead=lead, reason=Cause.REJECTED + (f" ({reason})" if reason else ""))
    if lead.franchise is None:
        Lead.objects.filter(pk=lead.pk).update(status=Lead.Status.REJECTED)
        lead.status = Lead.Status.REJECTED
    return lead


def leads_reroute_expired() -> int:
    """Leads not answered within their SLA move on to the next candidate."""
    now = clock.now()
    moved = 0
    for lead_id in Lead.objects.filter(
        status=Lead.Status.OFFERED, respond_by__lt=now
    ).values_list("pk", flat=True):
        with transaction.atomic():
            lead = Lead.objects.select_for_update().get(pk=lead_id)
            if (lead.status != Lead.Status.OFFERED or lead.respond_by is None
                    or lead.respond_by >= now):
                continue
            lead_hop_close(lead, LeadHop.Outcome.TIMED_OUT, now)
            lead = lead_route(lead=lead, reason=Cause.EXPIRED)
            if lead.franchise is None:
                # Nobody left to ask: HQ holds a lead that ran out of time.
                Lead.objects.filter(pk=lead.pk).update(status=Lead.Status.EXPIRED)
            moved += 1
    return moved
