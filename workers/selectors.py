"""Reads on the worker pool."""

import re
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING, TypedDict, TypeVar

import phonenumbers
from django.conf import settings
from django.db.models import Exists, F, FloatField, OuterRef, Q, QuerySet, Value
from django.db.models.functions import ASin, Cos, Power, Radians, Sin, Sqrt

from core.geo import EARTH_RADIUS_KM, GeoPoint, bounding_box
from messaging.models import OptOut

from .models import Worker, skills_for_work_type

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


# Worker, or Worker with annotations: the filters below keep whichever they are given.
W = TypeVar("W", bound=Worker)


class OptOutFlag(TypedDict):
    opted_out: bool


class DistanceKm(TypedDict):
    distance_km: float

# Ratings are shown (API and pages) to two decimals, halves rounded up.
RATING_SHOWN_TO = Decimal("0.01")


def with_opt_out(
    queryset: QuerySet[Worker],
) -> "QuerySet[WithAnnotations[Worker, OptOutFlag]]":
    """Annotate `opted_out`: the worker's number texted STOP and has not opted back in."""
    return queryset.annotate(opted_out=Exists(OptOut.objects.filter(phone=OuterRef("phone"))))


def workers_near(
    queryset: QuerySet[Worker], *, point: GeoPoint, radius_km: float
) -> "QuerySet[WithAnnotations[Worker, DistanceKm]]":
    """Workers whose home lies within `radius_km` great-circle km of `point`, nearest first.

    An indexed latitude/longitude box narrows the rows first; the exact haversine distance
    (the sphere geopy's great_circle uses) is then computed by the database on the survivors
    and exposed as `distance_km`.
    """
    min_lat, max_lat, min_lng, max_lng = bounding_box(point, radius_km)
    boxed = queryset.filter(lat__gte=min_lat, lat__lte=max_lat)
    if min_lng <= max_lng:
        boxed = boxed.filter(lng__gte=min_lng, lng__lte=max_lng)
    else:  # the box crosses the antimeridian
        boxed = boxed.filter(lng__gte=min_lng) | boxed.filter(lng__lte=max_lng)
    lat0, lng0 = Value(point.lat, FloatField()), Value(point.lng, FloatField())
    half_dlat = (Radians(F("lat")) - Radians(lat0)) / 2
    half_dlng = (Radians(F("lng")) - Radians(lng0)) / 2
    chord = Power(Sin(half_dlat), 2) + Cos(Radians(lat0)) * Cos(Radians(F("lat"))) * Power(
        Sin(half_dlng), 2
    )
    distance = 2 * EARTH_RADIUS_KM * ASin(Sqrt(chord))
    return (
        boxed.annotate(distance_km=distance)
        .filter(distance_km__lte=radius_km)
        .order_by("distance_km", "id")
    )


def suitable_workers_in_reach(*, lat: float, lng: float, radius_km: float, work_type: str) -> int:
    """How many active, vetted, reachable workers with the skill live within `radius_km`."""

    skill_match = Q()
    for skill in skills_for_work_type(work_type):
        skill_match |= Q(skills__has=skill)
    pool = with_opt_out(
        Worker.objects.filter(skill_match, status=Worker.Status.ACTIVE, vetted_at__isnull=False)
    ).filter(opted_out=False)
    return workers_near(pool, point=GeoPoint(lat, lng), radius_km=radius_km).count()


def rating_at_least(queryset: QuerySet[W], value: Decimal) -> QuerySet[W]:
    """Workers whose rating, as shown, is at least `value`: a worker shown as 4.17 (stored
    4.1666...) passes 4.17.

    The shown rating is at least `value` exactly when it is at least `lowest`, the first
    shown step at or above `value`, and that holds exactly when the stored float is at or
    above the half step below `lowest` (the float of a short decimal compares with another
    float the way their decimal forms do; the API's `rating_shown` rounds from that form).
    """
    # Ratings are 0-5; clamping keeps the quantize below within Decimal's precision.
    value = min(max(value, Decimal(-1)), Decimal(6))
    lowest = value.quantize(RATING_SHOWN_TO, rounding=ROUND_CEILING)
    return queryset.filter(rating__gte=float(lowest - RATING_SHOWN_TO / 2))


def phone_match(typed: str) -> Q:
    """The stored E.164 numbers a phone typed in any form stands for: the whole number when it
    is one ("8 912 345-67-89" is +79123456789), else numbers holding its digits ("345-67"),
    those starting with them after a "+", or, after the region's trunk prefix (the Russian 8),
    those starting with the country code and the rest ("8 912" finds +7912...)."""
    region = settings.DEFAULT_PHONE_REGION
    try:
        number = phonenumbers.parse(typed, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_valid_number(number):
        return Q(phone=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    digits = re.sub(r"\D", "", typed)
    if not digits:
        return Q(pk__in=[])
    if typed.strip().startswith("+"):
        return Q(phone__startswith=f"+{digits}")
    match = Q(phone__contains=digits)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    trunk = metadata.national_prefix if metadata is not None else None
    if metadata is not None and trunk and digits.startswith(trunk):
        match |= Q(phone__startswith=f"+{metadata.country_code}{digits[len(trunk):]}")
    return match


@dataclass(frozen=True)
class WorkerSearch:
    """What a person looks for in the pool; empty fields do not narrow."""

    name: str = ""
    phone: str = ""  # as typed, any form
    skill: str = ""
    status: str = ""
    min_rating: Decimal | None = None
    near: GeoPoint | None = None
    radius_km: float = 10.0


def workers_search(queryset: QuerySet[Worker], search: WorkerSearch) -> QuerySet[Worker]:
    """The workers of `queryset` (already scoped to the caller) that match `search`, with
    `opted_out`, and `distance_km` when searching near a point: nearest first then, else by
    name. One query for the rows, whatever the pool's size."""
    workers = with_opt_out(queryset)
    for word in search.name.split():  # "Petrov Ivan" finds Ivan Petrov
        workers = workers.filter(name__icontains=word)
    if search.phone:
        workers = workers.filter(phone_match(search.phone))
    if search.skill:
        workers = workers.filter(skills__has=search.skill)
    if search.status:
        workers = workers.filter(status=search.status)
    if search.min_rating is not None:
        workers = rating_at_least(workers, search.min_rating)
    if search.near is not None:
        return workers_near(workers, point=search.near, radius_km=search.radius_km)
    return workers.order_by("name", "id")
