"""Reads on clients, their sites and their leads: what the call centre's desk looks up, and
how the month's leads travelled through the network."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import phonenumbers
from django.conf import settings
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from phonenumbers import PhoneMetadata

from core import geo
from franchises.models import Franchise

from .models import Client, GeocodeCache, Lead, LeadHop, Site
from .routing import HELD_BY_HQ, routing_candidates
from .services import address_geocode, geocode_key

# A lookup answers with this many clients at most: an operator reads a short list.
LOOKUP_LIMIT = 10
# Fewer digits than this (after the country code) match too many numbers to be worth a query.
MIN_PHONE_DIGITS = 3
MIN_NAME_LETTERS = 2


def phone_prefixes(text: str, region: str | None = None) -> tuple[str | None, list[str]]:
    """How a number typed so far may begin in E.164: (the whole number when `text` already
    is a valid one, else None; the E.164 beginnings it may have).

    An operator types the number as the caller says it, digit by digit: "8 812 55" in
    Russia (the trunk prefix 8, then the area code), "+7 812", or "812 55" without the
    trunk prefix. phonenumbers reads a complete number; a partial one is read here with
    the region's own country code and trunk prefix from phonenumbers' metadata.
    """
    region = region or settings.PHONENUMBER_DEFAULT_REGION
    digits = "".join(ch for ch in text if ch.isdigit())
    if not digits:
        return None, []
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_valid_number(number):
        whole = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        return whole, [whole]
    if text.lstrip().startswith(("+", "00")):
        international = digits.removeprefix("00") if text.lstrip().startswith("00") else digits
        return None, [f"+{international}"] if len(international) > MIN_PHONE_DIGITS else []
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None:
        return None, []
    country = str(metadata.country_code)
    trunk = metadata.national_prefix or ""
    # A leading trunk prefix may also be the first digit of the area code (8 is both in
    # Russia: "8 812" and "812"), and a leading country code may be the start of a number
    # typed without its plus: each reading is kept, the wrong ones match nothing.
    readings = [digits]
    if trunk and digits.startswith(trunk):
        readings.append(digits.removeprefix(trunk))
    prefixes = [f"+{country}{national}" for national in readings
                if len(national) >= MIN_PHONE_DIGITS]
    if digits.startswith(country) and len(digits) - len(country) >= MIN_PHONE_DIGITS:
        prefixes.append(f"+{digits}")
    return None, list(dict.fromkeys(prefixes))


def clients_matching(queryset: QuerySet[Client], text: str, *, name: str = "",
                     limit: int = LOOKUP_LIMIT) -> list[Client]:
    """Clients of `queryset` (already scoped to the caller) whose phone begins as `text` is
    typed so far, or whose name holds `name` (or `text`, when it is not a number); exact
    phone matches first. One query, whatever the number of clients."""
    whole, prefixes = phone_prefixes(text)
    condition = Q(pk__in=[])
    for prefix in prefixes:
        # Served by the phone column's index (a `varchar_pattern_ops` one on PostgreSQL).
        condition |= Q(phone__startswith=prefix)
    words = " ".join((name or ("" if prefixes or whole else text)).split())
    if len(words) >= MIN_NAME_LETTERS:
        condition |= Q(name__icontains=words)
    if not prefixes and len(words) < MIN_NAME_LETTERS:
        return []
    matches = queryset.filter(condition).select_related("franchise")
    if whole:
        exact = Case(When(phone=whole, then=Value(0)), default=Value(1),
                     output_field=IntegerField())
        matches = matches.annotate(rank=exact).order_by("rank", "name", "id")
    else:
        matches = matches.order_by("name", "id")
    return list(matches[:limit])


def client_sites(client: Client) -> list[Site]:
    """The client's sites, the one whose order starts latest first (then the newest
    site): the one a repeat caller most likely means. Each carries `last_order_start`
    (None if never ordered for). One query."""
    return list(
        Site.objects.filter(client=client)
        .annotate(last_order_start=Max("orders__start"))
        .order_by(F("last_order_start").desc(nulls_last=True), "-id")
    )


@dataclass(frozen=True)
class Place:
    """Where an address was found: the point and the name the geocoder gave it."""

    point: geo.GeoPoint
    name: str


def address_place(*, address: str) -> Place:
    """The point of `address` (geocoded through the cache, as `site_create` does) and the
    place's name as the geocoder resolved it. ValidationError on `address` when it cannot be
    placed."""
    point = address_geocode(address=address)
    name = (
        GeocodeCache.objects.filter(query=geocode_key(address))
        .values_list("display_name", flat=True).first()
    )
    return Place(point=point, name=name or f"{point.lat:.5f}, {point.lng:.5f}")


def serving_franchise(*, phone: Any, lat: float | None, lng: float | None) -> Franchise | None:
    """The franchise a new request from this caller at this point would go to: the one that
    served the caller before, else the territory's holder (the lead routing rule), None when
    nobody covers it."""

    # No number must not read as "every client without one served this caller".
    probe = Lead(phone=phone or None, lat=lat, lng=lng)
    candidates = routing_candidates(lead=probe)
    return candidates[0][0] if candidates else None


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


_OUTCOMES: dict[str, str] = {
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
