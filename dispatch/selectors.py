"""Reads on orders and offers, and the candidate search of a call-out."""

import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connections, router
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet

from clients.geo import EARTH_RADIUS_KM, GeoPoint, bounding_box, haversine_km_vec
from config import rows
from messaging.models import OptOut
from workers.models import Skill, Worker, skills_for_work_type

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


# An offer in these states books its worker for the order's shift.
BOOKED_STATES = (Offer.State.CONFIRMED, Offer.State.STANDBY)


def busy_worker_ids(*, start: datetime, ends_at: datetime, exclude_order_id: int | None = None
                    ) -> QuerySet[Any]:
    """Workers booked (confirmed or standby) on an open order overlapping [start, ends_at)."""
    offers = Offer.objects.filter(
        state__in=BOOKED_STATES,
        order__status__in=Order.OPEN_STATUSES,
        order__start__lt=ends_at,
        order__ends_at__gt=start,
    )
    if exclude_order_id is not None:
        offers = offers.exclude(order_id=exclude_order_id)
    return offers.values("worker_id")


@functools.cache
def _candidate_sql(alias: str, n_skills: int) -> str:
    """The call-out's candidate query for a database alias and a number of qualifying skills.

    Written once as SQL (the ORM compiled the same statement afresh on every call, several
    milliseconds). Eligibility as `candidates_for_order` states it; the small sets (opted-out
    phones, workers booked at an overlapping time, this order's offers, the client's blocked
    and favourite workers) are `IN (SELECT ...)` sets, which PostgreSQL hashes once per call
    instead of probing an index for each worker in the box. Rows come cheapest first by the
    call-out's cost with the flat (equirectangular) distance: close enough to the great-circle
    one within a wave's radius to choose which rows to rank exactly.
    """
    connection = connections[alias]
    w = rows.Table(alias, Worker, "w")
    opt = rows.Table(alias, OptOut, "opt")
    booked, booked_order = rows.Table(alias, Offer, "b"), rows.Table(alias, Order, "bo")
    offered = rows.Table(alias, Offer, "f")
    blocked = rows.Table(alias, ClientPreference, "p")
    favourite = rows.Table(alias, ClientPreference, "fp")
    like = connection.operators["contains"]
    kind = ClientPreference.Kind
    if connection.vendor == "postgresql":
        # Served by the GiST index of workers' migration 0002.
        box = f"point({w.lng}, {w.lat}) <@ box(point(%s, %s), point(%s, %s))"
    else:
        box = f"{w.lng} BETWEEN %s AND %s AND {w.lat} BETWEEN %s AND %s"
    skills = " OR ".join([f"{w.skills} {like}"] * n_skills)
    is_favourite = (
        f"{w.id} IN (SELECT {favourite.worker} FROM {favourite} "
        f"WHERE {favourite.client} = %s AND {favourite.kind} = {_literal(kind.FAVOURITE)})"
    )
    north = f"(({w.lat} - %s) * %s)"
    east = f"(({w.lng} - %s) * %s)"
    cost = (
        f"SQRT({north} * {north} + {east} * {east}) * %s + (5.0 - {w.rating}) * %s "
        f"+ (1.0 - {w.reliability}) * %s - CASE WHEN {is_favourite} THEN %s ELSE 0.0 END"
    )
    open_statuses = ", ".join(_literal(status) for status in Order.OPEN_STATUSES)
    booked_states = ", ".join(_literal(state) for state in BOOKED_STATES)
    return (
        f"SELECT {w.id}, {w.lat}, {w.lng}, {w.rating}, {w.reliability}, {w.offers_received}, "
        f"{w.offers_answered}, {w.offers_accepted}, {w.shifts_completed}, {w.no_shows}, "
        f"{w.language}, {w.skills} {like}, {is_favourite}, {cost} AS approximate_cost "
        f"FROM {w} "
        f"WHERE {w.status} = {_literal(Worker.Status.ACTIVE)} AND {box} "
        f"AND {w.vetted_at} IS NOT NULL AND ({skills}) "
        f"AND {w.phone} NOT IN (SELECT {opt.phone} FROM {opt}) "
        f"AND {w.id} NOT IN (SELECT {booked.worker} FROM {booked} JOIN {booked_order} "
        f"ON {booked_order.id} = {booked.order} WHERE {booked.state} IN ({booked_states}) "
        f"AND {booked_order.status} IN ({open_statuses}) AND {booked_order.start} < %s "
        f"AND {booked_order.ends_at} > %s AND {booked.order} <> %s) "
        f"AND {w.id} NOT IN (SELECT {offered.worker} FROM {offered} WHERE {offered.order} = %s) "
        f"AND {w.id} NOT IN (SELECT {blocked.worker} FROM {blocked} "
        f"WHERE {blocked.client} = %s AND {blocked.kind} = {_literal(kind.BLOCKED)}) "
        f"ORDER BY approximate_cost, {w.id} LIMIT %s"
    )


def _literal(value: str) -> str:
    """A model constant written into SQL text (so the planner sees it, e.g. to use a partial
    index): only plain identifiers qualify."""
    if not value.isidentifier():
        raise ValueError(f"not a plain SQL literal: {value!r}")
    return f"'{value}'"


def _box_rows(order: Order, radius_km: float, cut: int) -> list[tuple[Any, ...]]:
    """The cheapest `cut` eligible workers in the box around the order's site (the query of
    `_candidate_sql`), as (id, lat, lng, rating, reliability, offers received, answered and
    accepted, shifts completed, no-shows, language, is foreman, is favourite, approximate
    cost)."""
    alias = router.db_for_read(Worker)
    connection = connections[alias]
    site = order.site
    min_lat, max_lat, min_lng, max_lng = bounding_box(GeoPoint(site.lat, site.lng), radius_km)
    if connection.vendor == "postgresql":
        box = [min_lng, min_lat, max_lng, max_lat]
    else:
        box = [min_lng, max_lng, min_lat, max_lat]
    like = connection.ops.prep_for_like_query
    skills = [f"%,{like(skill)},%" for skill in skills_for_work_type(order.work_type)]
    config = settings.DISPATCH
    weights = config["WEIGHTS"]
    north = [site.lat, EARTH_RADIUS_KM * math.pi / 180]
    east = [site.lng, north[1] * math.cos(math.radians(site.lat))]
    adapt = connection.ops.adapt_datetimefield_value
    params = [
        f"%,{like(Skill.FOREMAN)},%", order.client_id,
        *north, *north, *east, *east,
        weights["distance_per_km"], weights["rating_point"], weights["unreliability"],
        order.client_id, config["FAVOURITE_BONUS"],
        *box, *skills,
        adapt(order.ends_at), adapt(order.start), order.pk,
        order.pk,
        order.client_id,
        cut,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_candidate_sql(alias, len(skills)), params)
        return cursor.fetchall()


# A search wider than this first reads the box of this radius, when it wants few enough rows
# that the cheapest usually live inside (see `_candidate_rows`).
FIRST_RING_KM = 10.0
FIRST_RING_MAX_ROWS = 1000


def _candidate_rows(order: Order, radius_km: float, cut: int) -> list[tuple[Any, ...]]:
    """`_box_rows` for the whole radius, read from a smaller box first where that proves the
    same answer.

    Costing every eligible worker of a wide radius is most of a search's time (60 km around a
    Moscow site holds about 27,000), while the cheapest few hundred usually live within a few
    km. A worker outside the box of radius r is more than r km away by the flat distance, so
    its approximate cost is at least r x the weight per km plus the least the other terms can
    add (`floor`: the favourite bonus, taken off). If the cheapest `cut` inside the box all
    cost less than that, nobody outside can displace them. If they do not, the cut's cost c
    bounds the whole radius's from above, and the box of radius (c - floor) / weight per km
    settles it; with fewer than `cut` inside, the whole radius is read.
    """
    weights = settings.DISPATCH["WEIGHTS"]
    per_km = weights["distance_per_km"]
    if radius_km <= FIRST_RING_KM or cut > FIRST_RING_MAX_ROWS or per_km <= 0:
        return _box_rows(order, radius_km, cut)
    floor = (
        min(0.0, 5.0 * weights["rating_point"]) + min(0.0, weights["unreliability"])
        - max(0.0, settings.DISPATCH["FAVOURITE_BONUS"])
    )
    ring = FIRST_RING_KM
    for _ in range(2):
        if ring >= radius_km:
            break
        found = _box_rows(order, ring, cut)
        if len(found) < cut:
            break
        if found[-1][13] < ring * per_km + floor:
            return found
        ring = (found[-1][13] - floor) / per_km * 1.001 + 0.01
    return _box_rows(order, radius_km, cut)


def candidates_for_order(
    order: Order, *, radius_km: float, exclude_worker_ids: Iterable[int] = (), limit: int = 5000
) -> list[RankedCandidate]:
    """Workers who may be offered `order`, cheapest first.

    Eligible: active and vetted, not opted out, with the order's skill (or `general` where it
    covers it), home within `radius_km`, not blocked by the client, not booked at an
    overlapping time, and not already offered this order. The database narrows by an indexed
    latitude/longitude box and keeps the cheapest few thousand by an approximate cost (flat
    distance); exact distances and costs are computed with numpy on those survivors. One
    query; up to three for a small `limit` beyond `FIRST_RING_KM` (`_candidate_rows`).
    """
    site = order.site
    config = settings.DISPATCH
    weights = config["WEIGHTS"]
    # Without the SQL's ranking the cut would keep whoever registered first, not the nearest
    # and best; the margin over `limit` leaves room for the exact distance to reorder the edge.
    found = _candidate_rows(order, radius_km, limit + limit // 5 + 50)
    excluded = set(exclude_worker_ids)
    if excluded:
        found = [row for row in found if row[0] not in excluded]
    if not found:
        return []
    columns = np.array([row[:10] for row in found], dtype=float)
    ids = columns[:, 0]
    lat, lng, rating, reliability = columns[:, 1], columns[:, 2], columns[:, 3], columns[:, 4]
    received, answered, accepted = columns[:, 5], columns[:, 6], columns[:, 7]
    shifts, no_shows = columns[:, 8], columns[:, 9]
    is_favourite = np.array([bool(row[12]) for row in found])
    distance = haversine_km_vec(site.lat, site.lng, lat, lng)
    cost = (
        distance * weights["distance_per_km"]
        + (5.0 - rating) * weights["rating_point"]
        + (1.0 - reliability) * weights["unreliability"]
        - is_favourite * config["FAVOURITE_BONUS"]
    )
    prior = config["PRIOR_WEIGHT"]
    reply_rate = (answered + prior * config["PRIOR_REPLY_RATE"]) / (received + prior)
    accept_rate = (accepted + prior * config["PRIOR_ACCEPT_RATE"]) / (answered + prior)
    accept_probability = reply_rate * accept_rate
    newcomer = shifts < config["NEWCOMER_MAX_SHIFTS"]
    inside = np.flatnonzero(distance <= radius_km)
    ranked_rows = inside[np.lexsort((ids[inside], cost[inside]))][:limit]
    return [
        RankedCandidate(
            worker_id=found[index][0],
            lat=float(lat[index]),
            lng=float(lng[index]),
            rating=float(rating[index]),
            reliability=float(reliability[index]),
            distance_km=float(distance[index]),
            cost=float(cost[index]),
            accept_probability=float(accept_probability[index]),
            is_newcomer=bool(newcomer[index]),
            shifts_judged=int(shifts[index] + no_shows[index]),
            is_favourite=bool(is_favourite[index]),
            is_foreman=bool(found[index][11]),
            language=found[index][10],
        )
        for index in ranked_rows.tolist()
    ]


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


# --- A worker's record, as a profile page shows it -----------------------------------------------


@dataclass(frozen=True)
class WorkerOffer:
    """One offer on a worker's record. `order_code` and `order_id` are None for an order
    outside the reader's scope: another franchise's order shows its date and kind, not which
    order it was."""

    order_code: str | None
    order_id: int | None
    start: datetime
    zone: str
    work_type: str
    wave: int
    sent_at: datetime
    response: str | None
    state: str
    attendance: str | None
    hours_worked: Any


def offers_of_worker(worker: Worker, *, user: Any, limit: int = 50) -> tuple[list[WorkerOffer],
                                                                          int]:
    """The worker's latest `limit` offers, newest first, and how many there are. Two queries
    however many offers and franchises."""
    from franchises.scoping import scope_queryset

    readable = scope_queryset(Order.objects.filter(pk=OuterRef("order_id")), user)
    offers = (
        Offer.objects.filter(worker=worker)
        .annotate(order_readable=Exists(readable))
        .values_list(
            "order_readable", "order__code", "order_id", "order__start",
            "order__franchise__timezone", "order__work_type", "wave", "sent_at", "response",
            "state", "attendance", "hours_worked",
        )
        .order_by("-sent_at", "-id")[:limit]
    )
    rows = [
        WorkerOffer(
            order_code=code if readable_row else None,
            order_id=order_id if readable_row else None,
            start=start, zone=zone, work_type=work_type, wave=wave, sent_at=sent_at,
            response=response, state=state, attendance=attendance, hours_worked=hours,
        )
        for (readable_row, code, order_id, start, zone, work_type, wave, sent_at, response,
             state, attendance, hours) in offers
    ]
    return rows, Offer.objects.filter(worker=worker).count()


@dataclass(frozen=True)
class WorkerAppeal:
    """A worker's appeal of a no-show. `decidable`: pending, and the reader may decide it
    (the order is in their scope, as `POST appeals/{id}/decide/` requires)."""

    id: int
    order_code: str | None
    start: datetime
    zone: str
    status: str
    text: str
    created_at: datetime
    decided_at: datetime | None
    notes: str
    decidable: bool


def appeals_of_worker(worker: Worker, *, user: Any) -> list[WorkerAppeal]:
    """Every appeal the worker made, newest first, in one query."""
    from franchises.scoping import scope_queryset

    from .models import Appeal

    in_scope = scope_queryset(Appeal.objects.filter(pk=OuterRef("pk")), user)
    appeals = (
        Appeal.objects.filter(offer__worker=worker)
        .annotate(in_scope=Exists(in_scope))
        .values_list(
            "id", "in_scope", "offer__order__code", "offer__order__start",
            "offer__order__franchise__timezone", "status", "text", "created_at", "decided_at",
            "notes",
        )
        .order_by("-created_at", "-id")
    )
    return [
        WorkerAppeal(
            id=appeal_id, order_code=code if in_scope_row else None, start=start, zone=zone,
            status=status, text=text, created_at=created_at, decided_at=decided_at, notes=notes,
            decidable=bool(in_scope_row) and status == Appeal.Status.PENDING,
        )
        for (appeal_id, in_scope_row, code, start, zone, status, text, created_at, decided_at,
             notes) in appeals
    ]


def order_codes_readable(order_ids: Iterable[int], *, user: Any) -> dict[int, str]:
    """The codes of those orders the reader may see (rating events name orders by id)."""
    from franchises.scoping import scope_queryset

    ids = {order_id for order_id in order_ids if order_id is not None}
    if not ids:
        return {}
    return dict(scope_queryset(Order.objects.filter(pk__in=ids), user)
                .values_list("pk", "code"))
