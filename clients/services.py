"""Writes on clients, sites and leads."""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import clock, geo
from franchises.models import Franchise

from .models import Client, GeocodeCache, Lead, Site
from .routing import Cause, lead_route, routing_candidates

# Labour is booked days or weeks ahead, never years: a start further out than this is a typo
# in the year (9999 for 2026). It would also overflow the local-time and month arithmetic
# that reminders, prices and the books do on the start.
BOOKING_HORIZON = timedelta(days=365)
# The codes of an address that cannot be placed, for a page to say it in its own words.
ADDRESS_NOT_FOUND = "address_not_found"
GEOCODER_UNAVAILABLE = "geocoder_unavailable"


def booking_horizon_error(*, start: datetime, now: datetime) -> str | None:
    """Why `start` is too far ahead to book, or None when it is not."""
    if start - now <= BOOKING_HORIZON:
        return None
    return _(
        "The start must be at most %(days)s days from now; a booking further out is most "
        "likely a typo in the date."
    ) % {"days": BOOKING_HORIZON.days}


def _geocoder() -> geo.Geocoder:
    return geo.build_geocoder(
        settings.GEOCODER,
        domain=settings.NOMINATIM_DOMAIN,
        scheme=settings.NOMINATIM_SCHEME,
        user_agent=settings.NOMINATIM_USER_AGENT,
        timeout=settings.NOMINATIM_TIMEOUT,
        min_delay_seconds=settings.NOMINATIM_MIN_DELAY_SECONDS,
        max_retries=settings.NOMINATIM_MAX_RETRIES,
    )


def geocode_key(address: str) -> str:
    """The geocoding cache's key for an address: spaces collapsed, case folded."""
    query = " ".join(address.split())[:300]
    # Case-folding can lengthen a string ("ß" -> "ss"): cut after it, to fit the column.
    return query.casefold()[:300]


def address_geocode(*, address: str) -> geo.GeoPoint:
    """The point of an address, from the cache or the configured geocoder.

    Raises ValidationError on the `address` field when it cannot be found, or when the
    service is down (the operator can then give lat/lng by hand).
    """
    query = " ".join(address.split())[:300]
    key = geocode_key(query)
    cached = GeocodeCache.objects.filter(query=key).first()
    if cached is not None and cached.found and cached.lat is not None and cached.lng is not None:
        return geo.GeoPoint(cached.lat, cached.lng)
    if cached is None:
        try:
            result = _geocoder().geocode(query)
        except geo.GeocodingError as exc:
            if not exc.transient:
                raise ValidationError({"address": [ValidationError(
                    _("This address cannot be geocoded (%(error)s); give lat and lng.")
                    % {"error": exc},
                    code=ADDRESS_NOT_FOUND)]}) from exc
            raise ValidationError({"address": [ValidationError(
                _("The geocoder is unavailable (%(error)s); give lat and lng instead.")
                % {"error": exc},
                code=GEOCODER_UNAVAILABLE)]}) from exc
        try:
            with transaction.atomic():
                GeocodeCache.objects.create(
                    query=key,
                    source=settings.GEOCODER,
                    found=result is not None,
                    lat=result.point.lat if result else None,
                    lng=result.point.lng if result else None,
                    display_name=result.display_name[:500] if result else "",
                )
        except IntegrityError:
            pass  # another request cached the same address a moment ago
        if result is not None:
            return result.point
    raise ValidationError({"address": [ValidationError(
        _("This address could not be found; give lat and lng."), code=ADDRESS_NOT_FOUND)]})


def _point_or_geocode(
    *, address: str, lat: float | None, lng: float | None
) -> tuple[float, float]:
    if (lat is None) != (lng is None):
        field = "lng" if lng is None else "lat"
        raise ValidationError({field: [_("Give both lat and lng, or neither.")]})
    if lat is not None and lng is not None:
        return lat, lng
    point = address_geocode(address=address)
    return point.lat, point.lng


@transaction.atomic
def client_create(
    *, name: str, franchise: Franchise | None, phone: Any = "", email: str = "", notes: str = ""
) -> Client:
    client = Client(name=name, franchise=franchise, phone=phone, email=email, notes=notes)
    client.full_clean()
    client.save()
    return client


@transaction.atomic
def site_create(
    *,
    client: Client,
    address: str,
    lat: float | None = None,
    lng: float | None = None,
    conditions: str = Site._meta.get_field("conditions").default,
    notes: str = "",
) -> Site:
    """A client's site; geocoded from the address when no coordinates are given."""
    lat, lng = _point_or_geocode(address=address, lat=lat, lng=lng)
    site = Site(
        client=client, address=address, lat=lat, lng=lng, conditions=conditions, notes=notes
    )
    site.full_clean()
    site.save()
    return site


@transaction.atomic
def site_update(*, site: Site, **changes: Any) -> Site:
    address_changed = "address" in changes and changes["address"] != site.address
    for field, value in changes.items():
        setattr(site, field, value)
    if address_changed and "lat" not in changes and "lng" not in changes:
        point = address_geocode(address=site.address)
        site.lat, site.lng = point.lat, point.lng
    site.full_clean()
    site.save()
    return site


def may_post_leads(user: Any) -> bool:
    """Leads are the network's work: the call centre (HQ) takes the calls, and an official
    office, which holds its city exclusively for the brand, may hand on a request it cannot
    serve. A brand franchise sells under its own brand in a territory it does not hold: it
    places its own orders and does not feed the network's routing. Foremen and recruiters have
    no business with clients at all."""
    if user is None or not user.is_authenticated:
        return False
    if user.is_hq:
        return True
    franchise = user.franchise
    return (user.role == "franchise" and franchise is not None
            and franchise.kind == franchise.Kind.OFFICIAL_OFFICE)


@transaction.atomic
def lead_create(
    *,
    contact_name: str,
    phone: Any,
    address: str,
    work_type: str,
    headcount: int,
    start: Any,
    hours: Decimal,
    lat: float | None = None,
    lng: float | None = None,
    notes: str = "",
    created_by: Any = None,
) -> Lead:
    """Record a call-centre lead and hand it to the franchise that should serve it.

    A naive `start` is the local time of the franchise the lead goes to first (HQ's when
    nobody covers the point): the time the client said on the phone. `created_by` must be
    allowed to post leads (`may_post_leads`; PermissionDenied otherwise); None is the system."""

    if created_by is not None and not may_post_leads(created_by):
        raise PermissionDenied(_(
            "Only HQ and the official offices post leads for the network; a brand franchise "
            "places its own orders."))

    now = clock.now()
    lat, lng = _point_or_geocode(address=address, lat=lat, lng=lng)
    lead = Lead(
        contact_name=contact_name,
        phone=phone,
        address=address,
        lat=lat,
        lng=lng,
        work_type=work_type,
        headcount=headcount,
        start=start,
        hours=hours,
        notes=notes,
        created_by=created_by,
    )
    if timezone.is_naive(start):
        candidates = routing_candidates(lead=lead)
        zone = candidates[0][0].timezone if candidates else Franchise.hq_timezone()
        start = lead.start = clock.in_zone(start, zone)
    if start <= now:
        raise ValidationError({"start": [_("The start must be in the future.")]})
    too_far = booking_horizon_error(start=start, now=now)
    if too_far is not None:
        raise ValidationError({"start": [too_far]})
    lead.full_clean()
    lead.save()
    return lead_route(lead=lead, reason=Cause.NEW)
