"""Reads on orders and offers, and the candidate search of a call-out."""

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Sqrt

from clients.geo import GeoPoint, bounding_box, haversine_km_vec
from messaging.models import OptOut
from workers.models import Worker, skills_for_work_type

from .models import ClientPreference, Offer, Order
from .overbooking import shrunk_rate

_COUNTS = {
    "invited": Count("offers", distinct=True),
    "accepted": Count("offers", filter=Q(offers__response=Offer.Response.ACCEPTED), distinct=True),
    "confirmed": Count("offers", filter=Q(offers__state=Offer.State.CONFIRMED), distinct=True),
    "standby": Count("offers", filter=Q(offers__state=Offer.State.STANDBY), distinct=True),
    "present": Count(
        "offers",
        filter=Q(offers__attendance__in=[Offer.Attendance.PRESENT, Offer.Attendance.LATE]),
        distinct=True,
    ),
    "no_show": Count(
        "offers", filter=Q(offers__attendance=Offer.Attendance.NO_SHOW), distinct=True
    ),
}
COUNT_NAMES = tuple(_COUNTS)


def orders_with_counts(queryset: QuerySet[Order]) -> QuerySet[Order]:
    """Orders annotated with their offer funnel, one query however many orders."""
    return queryset.annotate(**{f"count_{name}": agg for name, agg in _COUNTS.items()})


# --- Candidates for a call-out ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RankedCandidate:
    """A worker who may be offered an order, with the optimiser's cost for that order."""

    worker_id: int
    lat: float
    lng: float
    rating: float
    reliability: float
    distance_km: float
    cost: float
    accept_probability: float
    is_newcomer: bool
    # Shifts whose attendance was judged (worked or missed): the evidence behind `reliability`.
    shifts_judged: int
    is_favourite: bool
    is_foreman: bool
    language: str


def busy_worker_ids(*, start: datetime, ends_at: datetime, exclude_order_id: int | None = None
                    ) -> QuerySet[Any]:
    """Workers booked (confirmed or standby) on an open order overlapping [start, ends_at)."""
    offers = Offer.objects.filter(
        state__in=[Offer.State.CONFIRMED, Offer.State.STANDBY],
        order__status__in=Order.OPEN_STATUSES,
        order__start__lt=ends_at,
        order__ends_at__gt=start,
    )
    if exclude_order_id is not None:
        offers = offers.exclude(order_id=exclude_order_id)
    return offers.values("worker_id")


def _approximate_cost(order: Order, weights: dict[str, float], favourite_bonus: float) -> Any:
    """The call-out's cost in SQL, with the flat (equirectangular) distance: close enough to
    the great-circle one within a wave's radius to choose which rows to rank exactly."""
    site = order.site
    km_per_degree = 6371.009 * math.pi / 180
    cos_lat = math.cos(math.radians(site.lat))
    north = (F("lat") - site.lat) * km_per_degree
    east = (F("lng") - site.lng) * (km_per_degree * cos_lat)
    favourite = Exists(
        ClientPreference.objects.filter(
            client_id=order.client_id, kind=ClientPreference.Kind.FAVOURITE,
            worker_id=OuterRef("pk"),
        )
    )
    return (
        Sqrt(north * north + east * east, output_field=FloatField())
        * weights["distance_per_km"]
        + (5.0 - F("rating")) * weights["rating_point"]
        + (1.0 - F("reliability")) * weights["unreliability"]
        - Case(When(favourite, then=Value(favourite_bonus)), default=Value(0.0),
               output_field=FloatField())
    )


def candidates_for_order(
    order: Order, *, radius_km: float, exclude_worker_ids: Iterable[int] = (), limit: int = 5000
) -> list[RankedCandidate]:
    """Workers who may be offered `order`, cheapest first.

    Eligible: active and vetted, not opted out, with the order's skill (or `general` where it
    covers it), home within `radius_km`, not blocked by the client, not booked at an
    overlapping time, and not already offered this order. The database narrows by an indexed
    latitude/longitude box and keeps the cheapest few thousand by an approximate cost (flat
    distance); exact distances and costs are computed with numpy on those survivors.
    """
    site = order.site
    point = GeoPoint(site.lat, site.lng)
    min_lat, max_lat, min_lng, max_lng = bounding_box(point, radius_km)
    config = settings.DISPATCH
    weights = config["WEIGHTS"]
    skill_match = Q()
    for skill in skills_for_work_type(order.work_type):
        skill_match |= Q(skills__has=skill)
    rows = list(
        Worker.objects.filter(
            skill_match,
            status=Worker.Status.ACTIVE,
            vetted_at__isnull=False,
            lat__gte=min_lat,
            lat__lte=max_lat,
            lng__gte=min_lng,
            lng__lte=max_lng,
        )
        .exclude(Exists(OptOut.objects.filter(phone=OuterRef("phone"))))
        .exclude(pk__in=busy_worker_ids(start=order.start, ends_at=order.ends_at,
                                        exclude_order_id=order.pk))
        .exclude(pk__in=Offer.objects.filter(order=order).values("worker_id"))
        .exclude(
            pk__in=ClientPreference.objects.filter(
                client_id=order.client_id, kind=ClientPreference.Kind.BLOCKED
            ).values("worker_id")
        )
        # Without this order the cut below would keep whoever registered first, not the
        # nearest and best: in a dense city the box holds far more workers than are kept.
        .annotate(
            approximate_cost=_approximate_cost(order, weights, config["FAVOURITE_BONUS"]),
            # Decided in SQL: splitting every row's skills in Python cost more than the test.
            is_foreman=ExpressionWrapper(Q(skills__has="foreman"), output_field=BooleanField()),
        )
        .order_by("approximate_cost", "id")
        .values_list(
            "id", "lat", "lng", "rating", "reliability", "offers_received", "offers_answered",
            "offers_accepted", "shifts_completed", "is_foreman", "language", "no_shows",
        )[: limit + limit // 5 + 50]
    )
    excluded = set(exclude_worker_ids)
    rows = [row for row in rows if row[0] not in excluded]
    if not rows:
        return []
    favourites = set(
        ClientPreference.objects.filter(
            client_id=order.client_id, kind=ClientPreference.Kind.FAVOURITE
        ).values_list("worker_id", flat=True)
    )
    columns = np.array([row[1:9] for row in rows], dtype=float)
    lat, lng, rating, reliability = columns[:, 0], columns[:, 1], columns[:, 2], columns[:, 3]
    received, answered = columns[:, 4], columns[:, 5]
    accepted, shifts = columns[:, 6], columns[:, 7]
    distance = haversine_km_vec(site.lat, site.lng, lat, lng)
    cost = (
        distance * weights["distance_per_km"]
        + (5.0 - rating) * weights["rating_point"]
        + (1.0 - reliability) * weights["unreliability"]
    )
    is_favourite = np.array([row[0] in favourites for row in rows])
    cost = cost - is_favourite * config["FAVOURITE_BONUS"]
    prior = config["PRIOR_WEIGHT"]
    reply_rate = (answered + prior * config["PRIOR_REPLY_RATE"]) / (received + prior)
    accept_rate = (accepted + prior * config["PRIOR_ACCEPT_RATE"]) / (answered + prior)
    inside = distance <= radius_km
    order_by = np.lexsort((np.array([row[0] for row in rows]), cost))
    ranked = []
    for index in order_by:
        if not inside[index]:
            continue
        row = rows[index]
        ranked.append(
            RankedCandidate(
                worker_id=row[0],
                lat=float(lat[index]),
                lng=float(lng[index]),
                rating=float(rating[index]),
                reliability=float(reliability[index]),
                distance_km=float(distance[index]),
                cost=float(cost[index]),
                accept_probability=float(reply_rate[index] * accept_rate[index]),
                is_newcomer=bool(shifts[index] < config["NEWCOMER_MAX_SHIFTS"]),
                shifts_judged=int(shifts[index]) + row[11],
                is_favourite=bool(is_favourite[index]),
                is_foreman=bool(row[9]),
                language=row[10],
            )
        )
        if len(ranked) >= limit:
            break
    return ranked


# Orders whose attendance is judged over this many days set a franchise's observed show rates.
SHOW_RATE_DAYS = 30
# Each observed rate counts as this many bookings at its prior before any is judged, so a new
# franchise starts from the defaults and a few shifts do not swing it.
SHOW_RATE_PRIOR_WEIGHT = 20.0
# Priors of the show rate of bookings that re-confirmed, and of those silent after a reminder.
RECONFIRMED_PRIOR = 0.9
SILENT_PRIOR = 0.5


@dataclass(frozen=True, slots=True)
class ShowRates:
    """How a franchise's confirmed bookings turned up lately: all of them, those who answered
    a reminder, and those who stayed silent."""

    base: float
    reconfirmed: float
    silent: float


def observed_show_rates(*, franchise_id: int, now: datetime, prior_rate: float) -> ShowRates:
    """Shares of the franchise's judged bookings (over the last `SHOW_RATE_DAYS` days) that
    turned up, each shrunk towards its prior. Re-confirmed and silent are counted among
    bookings made before the final reminder, the ones that were asked. One query."""
    shows = ~Q(attendance=Offer.Attendance.NO_SHOW)
    reminded = Q(confirmed_at__lt=F("order__start")
                 - timedelta(hours=settings.DISPATCH["FINAL_REMINDER_HOURS"]))
    answered = Q(reconfirmed_at__isnull=False)
    counts = Offer.objects.filter(
        order__franchise_id=franchise_id,
        order__start__gte=now - timedelta(days=SHOW_RATE_DAYS),
        order__start__lt=now,
        attendance__in=[Offer.Attendance.PRESENT, Offer.Attendance.LATE,
                        Offer.Attendance.NO_SHOW],
    ).aggregate(
        judged=Count("id"),
        shows=Count("id", filter=shows),
        answered=Count("id", filter=reminded & answered),
        answered_shows=Count("id", filter=reminded & answered & shows),
        silent=Count("id", filter=reminded & ~answered),
        silent_shows=Count("id", filter=reminded & ~answered & shows),
    )
    weight = SHOW_RATE_PRIOR_WEIGHT
    return ShowRates(
        base=shrunk_rate(counts["shows"], counts["judged"], prior_rate, weight),
        reconfirmed=shrunk_rate(counts["answered_shows"], counts["answered"],
                                RECONFIRMED_PRIOR, weight),
        silent=shrunk_rate(counts["silent_shows"], counts["silent"], SILENT_PRIOR, weight),
    )
