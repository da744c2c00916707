"""Reads on clients, their sites and their places: what the call centre's desk looks up."""

from dataclasses import dataclass
from typing import Any

import phonenumbers
from django.conf import settings
from django.db.models import Case, F, IntegerField, Max, Q, QuerySet, Value, When
from phonenumbers import PhoneMetadata

from franchises.models import Franchise

from . import geo
from .models import Client, GeocodeCache, Lead, Site
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
    from .routing import routing_candidates

    # No number must not read as "every client without one served this caller".
    probe = Lead(phone=phone or None, lat=lat, lng=lng)
    candidates = routing_candidates(lead=probe)
    return candidates[0][0] if candidates else None
