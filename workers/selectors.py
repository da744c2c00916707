"""Reads on the worker pool."""

from django.db.models import Exists, F, FloatField, OuterRef, Q, QuerySet, Value
from django.db.models.functions import ASin, Cos, Power, Radians, Sin, Sqrt

from core.geo import EARTH_RADIUS_KM, GeoPoint, bounding_box
from messaging.models import OptOut

from .models import Worker


def with_opt_out(queryset: QuerySet[Worker]) -> QuerySet[Worker]:
    """Annotate `opted_out`: the worker's number texted STOP and has not opted back in."""
    return queryset.annotate(opted_out=Exists(OptOut.objects.filter(phone=OuterRef("phone"))))


def workers_near(
    queryset: QuerySet[Worker], *, point: GeoPoint, radius_km: float
) -> QuerySet[Worker]:
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
    from .models import skills_for_work_type

    skill_match = Q()
    for skill in skills_for_work_type(work_type):
        skill_match |= Q(skills__has=skill)
    pool = with_opt_out(
        Worker.objects.filter(skill_match, status=Worker.Status.ACTIVE, vetted_at__isnull=False)
    ).filter(opted_out=False)
    return workers_near(pool, point=GeoPoint(lat, lng), radius_km=radius_km).count()
