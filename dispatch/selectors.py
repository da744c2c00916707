"""Reads on orders and offers, and the candidate search of a call-out."""

import enum
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypedDict, cast
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.db import connections, router
from django.db.models import Case, Count, Exists, F, Max, Min, OuterRef, Q, QuerySet, Sum, When

from clients.models import Lead, LeadHop
from core.expressions import MillisecondsBetween
from core.geo import EARTH_RADIUS_KM, GeoPoint, bounding_box, haversine_km_vec
from franchises.scoping import scope_queryset
from messaging.models import Direction, Message
from ratings.models import RatingEvent
from workers.models import Skill, Worker, skills_for_work_type

from . import optimizer, sql
from .models import Appeal, Offer, Order, Step
from .overbooking import shrunk_rate
from .sql import BOOKED_STATES
from .surplus import CrewSplit, Present, crew_split

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


class OrderCounts(TypedDict):
    """The annotations `orders_with_counts` adds (one per entry of `_COUNTS`)."""

    count_invited: int
    count_accepted: int
    count_confirmed: int
    count_standby: int
    count_present: int
    count_no_show: int


class OrderCheckins(OrderCounts):
    """`orders_with_checkins`' annotations: the counts, and the crew's check-in state."""

    count_late: int
    count_awaiting: int


if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    OrderWithCounts = WithAnnotations[Order, OrderCounts]
    OrderWithCheckins = WithAnnotations[Order, OrderCheckins]


def orders_with_counts(queryset: QuerySet[Order]) -> "QuerySet[OrderWithCounts]":
    """Orders annotated with their offer funnel, one query however many orders."""
    counted = queryset.annotate(**{f"count_{name}": agg for name, agg in _COUNTS.items()})
    # The names come from `_COUNTS`, which the checker cannot read through `**`.
    return cast("QuerySet[OrderWithCounts]", counted)


def crew_split_of(order: Order) -> tuple[CrewSplit, dict[int, Decimal]]:
    """The split of those who came to `order` (dispatch/surplus.py): the crew the client is
    billed for, the extras kept at its request, and those who go home. From the attendance as
    recorded, in the order of arrival, with each one's hours (worker id -> hours; the shift's
    for anyone whose hours are not recorded yet). One query."""
    came = list(
        order.offers.filter(attendance__in=[Offer.Attendance.PRESENT, Offer.Attendance.LATE])
        .order_by(F("checked_in_at").asc(nulls_last=True), "id")
        .values_list("worker_id", "hours_worked", "kept", "sent_home_at")
    )
    hours = {worker_id: order.hours if worked is None else worked
             for worker_id, worked, _, _ in came}
    split = crew_split(order.headcount, [
        Present(worker_id, hours[worker_id], kept=kept, sent_home=sent_home_at is not None)
        for worker_id, _, kept, sent_home_at in came
    ])
    return split, hours


def orders_with_checkins(queryset: QuerySet[Order]) -> "QuerySet[OrderWithCheckins]":
    """`orders_with_counts` plus the crew's check-in state: `count_late` (also counted in
    `count_present`) and `count_awaiting`, the confirmed workers nobody has checked in or
    marked absent yet. One query however many orders."""
    return orders_with_counts(queryset).annotate(
        count_late=Count("offers", filter=Q(offers__attendance=Offer.Attendance.LATE),
                         distinct=True),
        count_awaiting=Count(
            "offers",
            filter=Q(offers__state=Offer.State.CONFIRMED, offers__attendance__isnull=True),
            distinct=True,
        ),
    )


# --- The board ----------------------------------------------------------------------------


def orders_of_local_day(queryset: QuerySet[Order], *, day: date, zones: Iterable[str]
                        ) -> QuerySet[Order]:
    """Orders of `queryset` whose start falls on `day` in their own franchise's time zone
    (a network's board mixes zones: 08:00 in Novosibirsk is 04:00 in Moscow, the same day).
    `zones` are the time zones the orders may be in; one range of local day per zone, so
    the indexed `start` narrows each."""
    window = Q()
    for zone_name in sorted(set(zones)):
        zone = ZoneInfo(zone_name)
        first = datetime.combine(day, time.min, tzinfo=zone)
        last = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
        window |= Q(franchise__timezone=zone_name, start__gte=first, start__lt=last)
    if not window:
        return queryset.none()
    return queryset.filter(window)


def orders_with_counts_by_id(order_ids: list[int]) -> "list[OrderWithCounts]":
    """The orders of `order_ids` in that order, with their franchise, client and site and
    their offer funnel (`orders_with_counts`): one query for a page of a board, however long
    the day it pages through (counting offers for the page's orders only)."""
    found = {
        order.pk: order
        for order in orders_with_counts(
            Order.objects.filter(pk__in=order_ids).select_related("client", "site", "franchise")
        )
    }
    return [found[pk] for pk in order_ids if pk in found]


class Risk(StrEnum):
    """Why an order on the board needs someone's attention now."""

    CREW_SHORT = "crew_short"  # the start is near and fewer are confirmed than needed
    ON_SITE_SHORT = "on_site_short"  # under way with fewer on site than needed


def order_risk(order: "OrderWithCounts", *, now: datetime, near: timedelta) -> Risk | None:
    """An order annotated by `orders_with_counts` is at risk when its start is within
    `near` (or has passed) while fewer workers are confirmed than its headcount, or when
    it is in progress with fewer present than its headcount."""
    if order.status == Order.Status.IN_PROGRESS:
        return Risk.ON_SITE_SHORT if order.count_present < order.headcount else None
    if order.status not in (Order.Status.DRAFT, Order.Status.CALLING, Order.Status.FILLED):
        return None
    if order.start - now <= near and order.count_confirmed < order.headcount:
        return Risk.CREW_SHORT
    return None


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


def crew_on_site(offers: QuerySet[Offer]) -> QuerySet[Offer]:
    """Of `offers`, those counted on their order's crew while the work runs: confirmed, and not
    marked off it (no-show, or excused on appeal). A running order is short, and still takes
    urgent yeses, while fewer than its headcount count. The SQL of sql.crew_count."""
    return offers.filter(state=Offer.State.CONFIRMED).exclude(attendance__in=Offer.OFF_CREW_MARKS)


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


def _box_rows(order: Order, radius_km: float, cut: int) -> list[tuple[Any, ...]]:
    """The cheapest `cut` eligible workers in the box around the order's site (the query of
    `sql.candidate_sql`), as rows in `sql.CandidateRow`'s column order."""
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
        cursor.execute(sql.candidate_sql(alias, len(skills)), params)
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
        costliest = sql.CandidateRow._make(found[-1]).approximate_cost
        if costliest < ring * per_km + floor:
            return found
        ring = (costliest - floor) / per_km * 1.001 + 0.01
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
        worker_id = sql.COLUMN["worker_id"]
        found = [row for row in found if row[worker_id] not in excluded]
    if not found:
        return []
    columns = np.array([row[:sql.NUMERIC_COLUMNS] for row in found], dtype=float)
    ids = columns[:, 0]
    lat, lng, rating, reliability = columns[:, 1], columns[:, 2], columns[:, 3], columns[:, 4]
    received, answered, accepted = columns[:, 5], columns[:, 6], columns[:, 7]
    shifts, no_shows = columns[:, 8], columns[:, 9]
    favourite_column = sql.COLUMN["is_favourite"]
    is_favourite = np.array([bool(row[favourite_column]) for row in found])
    distance = haversine_km_vec(site.lat, site.lng, lat, lng)
    cost_weights = optimizer.Weights(**weights)
    cost = (
        optimizer.pair_cost(distance, optimizer.worker_cost(rating, reliability, cost_weights),
                            cost_weights)
        - is_favourite * config["FAVOURITE_BONUS"]
    )
    prior = config["PRIOR_WEIGHT"]
    reply_rate = (answered + prior * config["PRIOR_REPLY_RATE"]) / (received + prior)
    accept_rate = (accepted + prior * config["PRIOR_ACCEPT_RATE"]) / (answered + prior)
    accept_probability = reply_rate * accept_rate
    newcomer = shifts < config["NEWCOMER_MAX_SHIFTS"]
    inside = np.flatnonzero(distance <= radius_km)
    ranked_rows = inside[np.lexsort((ids[inside], cost[inside]))][:limit]
    # Read by named positions: naming each of up to 5,000 rows would cost a few milliseconds.
    worker_column, foreman_column, language_column = (
        sql.COLUMN["worker_id"], sql.COLUMN["is_foreman"], sql.COLUMN["language"]
    )
    return [
        RankedCandidate(
            worker_id=found[index][worker_column],
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
            is_foreman=bool(found[index][foreman_column]),
            language=found[index][language_column],
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
    # Compared as a number the database computes: datetime arithmetic in the ORM costs a
    # Python call per row on SQLite.
    reminded = Q(booked_ahead_ms__gt=settings.DISPATCH["FINAL_REMINDER_HOURS"] * 3_600_000)
    answered = Q(reconfirmed_at__isnull=False)
    counts = Offer.objects.filter(
        order__franchise_id=franchise_id,
        order__start__gte=now - timedelta(days=SHOW_RATE_DAYS),
        order__start__lt=now,
        attendance__in=[Offer.Attendance.PRESENT, Offer.Attendance.LATE,
                        Offer.Attendance.NO_SHOW],
    ).alias(booked_ahead_ms=MillisecondsBetween("order__start", "confirmed_at")).aggregate(
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


ANOTHER_OFFICE = "another office"


def worker_worked_for(worker_id: int, franchise_id: int) -> bool:
    """Whether the worker has worked the franchise's orders: accepted an offer of one of them
    (whatever came of it after). Such an office may keep notes on them and interview them
    (`workers.access`). One query."""
    return Offer.objects.filter(
        worker_id=worker_id, order__franchise_id=franchise_id,
        response=Offer.Response.ACCEPTED,
    ).exists()


def worker_history(worker: Worker, *, events: int = 100, user: Any = None) -> dict:
    """A worker's record as operators see it: shifts and hours worked, no-shows, offer
    counters, and the latest rating events (most recent first). The worker pool's API shows it
    through `core.hooks.worker_history`: offers and rating events live above the pool.

    An event on an order outside `user`'s scope (another franchise's) keeps its date, kind,
    score and the hours worked, and loses the order's id and code and the note (notes name
    the order): its `office` reads "another office". Three queries."""
    worked = Q(attendance__in=[Offer.Attendance.PRESENT, Offer.Attendance.LATE])
    totals = Offer.objects.filter(worker=worker).aggregate(
        shifts=Count("id", filter=worked),
        hours=Sum("hours_worked", filter=worked),
        no_shows=Count("id", filter=Q(attendance=Offer.Attendance.NO_SHOW)),
    )
    recent = list(RatingEvent.objects.filter(worker=worker).order_by("-id")[:events])
    order_ids = {event.order_ref for event in recent if event.order_ref is not None}
    readable: dict[int, str] = {}
    hours: dict[int, Any] = {}
    if order_ids:

        # One query: each order's hours for this worker and whether the reader may see it.
        visible = scope_queryset(Order.objects.filter(pk=OuterRef("order_id")), user)
        for order_id, code, worked_hours, is_visible in (
            Offer.objects.filter(worker=worker, order_id__in=order_ids)
            .annotate(visible=Exists(visible))
            .values_list("order_id", "order__code", "hours_worked", "visible")
        ):
            hours[order_id] = worked_hours
            if is_visible:
                readable[order_id] = code

    def shown(event: RatingEvent) -> dict[str, Any]:
        ref = event.order_ref
        own = ref is None or ref in readable
        worked_hours = hours.get(ref) if ref is not None else None
        return {
            "kind": event.kind,
            "score": event.score,
            "source": event.source,
            "order": ref if own else None,
            "order_code": readable.get(ref) if ref is not None else None,
            "office": None if ref is None else ("own" if own else ANOTHER_OFFICE),
            "hours": float(worked_hours) if worked_hours is not None else None,
            "at": event.at.isoformat(),
            "reversed": event.reversed_at is not None,
            "note": event.note if own else "",
        }

    return {
        "shifts": totals["shifts"],
        "hours": totals["hours"] or 0,
        "no_shows": totals["no_shows"],
        "offers_received": worker.offers_received,
        "offers_accepted": worker.offers_accepted,
        "events": [shown(event) for event in recent],
    }


# --- One order's page: its offers, its timeline, its messages ---------------------------------


def order_offers(order: Order) -> list[Offer]:
    """Every offer of `order` with its worker, wave by wave; each marked `with_link` when its
    SMS carried the one-tap link (the link holds the offer's token). One query however many
    offers."""
    link_sent = Message.objects.filter(
        order_id=OuterRef("order_id"), worker_id=OuterRef("worker_id"),
        direction=Direction.OUT, body__contains=OuterRef("token"),
    )
    return list(
        order.offers.select_related("worker")
        .annotate(with_link=Exists(link_sent))
        .order_by("wave", "id")
    )


def order_messages(order: Order, *, limit: int) -> tuple[list[Message], int]:
    """The order's texts in and out, newest first, at most `limit`; and how many there are.
    Two queries."""
    messages = list(
        Message.objects.filter(order=order).select_related("worker")
        .order_by("-created_at", "-id")[:limit]
    )
    return messages, Message.objects.filter(order=order).count()


class Moment(enum.StrEnum):
    """What happened (or will) in an order's life, as its timeline tells it."""

    PLACED = "placed"
    CALLOUT = "callout"
    WAVE = "wave"
    ASSIGNMENT = "assignment"
    FILLED = "filled"
    REMINDER = "reminder"
    SILENCE_CHECK = "silence_check"
    STANDBY_CALLED = "standby_called"
    CHECK_INS = "check_ins"
    NO_SHOW_CHECK = "no_show_check"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    CLIENT_ASKED = "client_asked"
    # A timed step still to come (`step` names which).
    PENDING = "pending"


@dataclass(frozen=True)
class TimelineEntry:
    """One line of an order's timeline. `facts` are the figures the line states (offers sent,
    workers confirmed...); a pending step carries its kind in `step` and `at` is its due
    time."""

    at: datetime
    moment: Moment
    facts: dict[str, Any]
    step: str = ""

    @property
    def pending(self) -> bool:
        return self.moment == Moment.PENDING


# Texts sent by a batch assignment, by the word the timeline counts them under.
_BATCH_TEXTS = {"confirmation": "confirmed", "standby": "standby", "release": "released"}


def order_timeline(order: Order) -> list[TimelineEntry]:
    """The order's life from the records it left: its own timestamps, the waves of offers,
    the texts of each batch assignment, reminder and standby call, the check-ins, and its
    timed steps (those still to come are pending, at their due time). Four queries, however
    many offers and messages the order has."""
    attendance = order.offers.aggregate(
        first=Min("checked_in_at", filter=Q(attendance__in=[
            Offer.Attendance.PRESENT, Offer.Attendance.LATE])),
        present=Count("id", filter=Q(attendance=Offer.Attendance.PRESENT)),
        late=Count("id", filter=Q(attendance=Offer.Attendance.LATE)),
        no_show=Count("id", filter=Q(attendance=Offer.Attendance.NO_SHOW)),
        awaiting_batch=Count("id", filter=Q(response=Offer.Response.ACCEPTED,
                                            state=Offer.State.OFFERED)),
    )
    texts: dict[str, dict[datetime, int]] = {}
    for purpose, created_at, count in (
        Message.objects.filter(order=order, direction=Direction.OUT, purpose__in=[
            *_BATCH_TEXTS, "reminder", "standby_call", "cancellation", "client_feedback"])
        .values("purpose", "created_at").order_by("created_at")
        .annotate(count=Count("id")).values_list("purpose", "created_at", "count")
    ):
        texts.setdefault(purpose, {})[created_at] = count

    entries = [TimelineEntry(order.created_at, Moment.PLACED, {})]
    if order.calling_since:
        entries.append(TimelineEntry(order.calling_since, Moment.CALLOUT,
                                     {"target": order.booking_target}))
    for wave, first, offers, farthest in (
        order.offers.values("wave").order_by("wave")
        .annotate(first=Min("sent_at"), offers=Count("id"), farthest=Max("distance_km"))
        .values_list("wave", "first", "offers", "farthest")
    ):
        entries.append(TimelineEntry(first, Moment.WAVE, {
            "wave": wave, "offers": offers, "farthest_km": round(farthest or 0.0, 1)}))
    batches: dict[datetime, dict[str, int]] = {}
    for purpose, word in _BATCH_TEXTS.items():
        for created_at, count in texts.get(purpose, {}).items():
            batches.setdefault(created_at, {"confirmed": 0, "standby": 0, "released": 0})
            batches[created_at][word] += count
    entries += [TimelineEntry(at, Moment.ASSIGNMENT, facts) for at, facts in batches.items()]
    if order.filled_at:
        entries.append(TimelineEntry(order.filled_at, Moment.FILLED, {}))
    entries += _step_entries(order, texts, no_shows=attendance["no_show"],
                             awaiting_batch=attendance["awaiting_batch"])
    if attendance["first"] is not None:
        entries.append(TimelineEntry(attendance["first"], Moment.CHECK_INS, {
            "present": attendance["present"], "late": attendance["late"]}))
    if order.cancelled_at:
        told = sum(texts.get("cancellation", {}).values())
        entries.append(TimelineEntry(order.cancelled_at, Moment.CANCELLED, {"told": told}))
    if order.completed_at:
        entries.append(TimelineEntry(order.completed_at, Moment.COMPLETED, {
            "no_shows": attendance["no_show"]}))
    entries += [TimelineEntry(at, Moment.CLIENT_ASKED, {})
                for at in texts.get("client_feedback", {})]
    # Placing comes first whatever its time says: `created_at` is the row's own clock, which
    # an order written after the fact (an import, a simulated history) sets later.
    order_of = list(Moment)
    return sorted(entries, key=lambda e: (e.moment != Moment.PLACED, e.pending, e.at,
                                          order_of.index(e.moment)))


def _step_entries(order: Order, texts: dict[str, dict[datetime, int]], *, no_shows: int,
                  awaiting_batch: int) -> list[TimelineEntry]:
    """Entries for the order's timed steps: each one that ran, with the texts it sent, and
    each one still to come that will matter to the order (the next wave while it is calling,
    the franchise's batch assignment while acceptances of it wait to be booked). Steps
    dropped unrun (the order was cancelled or completed first) are left out, as are waves
    that ran (their offers tell them).

    A step's texts are told apart by time: the sweeper claims a step, runs it and marks it
    done, and everything the step queued was written in between. Reminders and standby calls
    outside any step (a withdrawal calls standby in) get entries of their own."""
    booking = order.status in (Order.Status.CALLING, Order.Status.FILLED)
    mine = Q(order=order)
    if booking and awaiting_batch:
        mine |= Q(franchise_id=order.franchise_id, kind=Step.Kind.ASSIGN, done_at__isnull=True)
    entries = []
    told: set[tuple[str, datetime]] = set()

    def sent_during(purpose: str, step: Step) -> int:
        began, ended = step.claimed_at, step.done_at
        if began is None or ended is None:  # not run yet: nothing sent by it
            return 0
        found = [(at, count) for at, count in texts.get(purpose, {}).items()
                 if began <= at <= ended]
        told.update((purpose, at) for at, _ in found)
        return sum(count for _, count in found)

    for step in Step.objects.filter(mine).order_by("due_at", "id"):
        if step.done_at is None:
            if step.kind != Step.Kind.WAVE or order.status == Order.Status.CALLING:
                entries.append(TimelineEntry(step.due_at, Moment.PENDING, {}, step=step.kind))
        elif step.claimed_at is None:
            continue
        elif step.kind in (Step.Kind.REMINDER_EVENING, Step.Kind.REMINDER_FINAL):
            entries.append(TimelineEntry(step.done_at, Moment.REMINDER, {
                "sent": sent_during("reminder", step)}, step=step.kind))
        elif step.kind == Step.Kind.SILENCE_CHECK:
            entries.append(TimelineEntry(step.done_at, Moment.SILENCE_CHECK, {
                "standby_called": sent_during("standby_call", step)}))
        elif step.kind == Step.Kind.NO_SHOW_CHECK:
            entries.append(TimelineEntry(step.done_at, Moment.NO_SHOW_CHECK, {
                "standby_called": sent_during("standby_call", step), "no_shows": no_shows}))
    for purpose, moment, word in (("standby_call", Moment.STANDBY_CALLED, "called"),
                                  ("reminder", Moment.REMINDER, "sent")):
        entries += [TimelineEntry(at, moment, {word: count})
                    for at, count in texts.get(purpose, {}).items() if (purpose, at) not in told]
    return entries


# --- Leads and the orders they became ---------------------------------------------------------


def leads_waiting(leads: QuerySet[Lead]) -> list[Lead]:
    """Of `leads` (already scoped to the caller), those offered and waiting for an answer,
    the one whose time runs out first first. One query."""
    return list(
        leads.filter(status=Lead.Status.OFFERED).select_related("franchise")
        .order_by("respond_by", "id")
    )


def leads_listed(leads: QuerySet[Lead], *, status: str = "", held_by_hq: bool = False
                 ) -> QuerySet[Lead]:
    """`leads` newest first, with holder and order, narrowed to a status and to those HQ
    holds (no franchise) when asked."""
    if status:
        leads = leads.filter(status=status)
    if held_by_hq:
        leads = leads.filter(franchise__isnull=True)
    return leads.select_related("franchise", "order").order_by("-created_at", "-id")


def lead_hops_answered(*, franchise_id: int, since: datetime, limit: int) -> list[LeadHop]:
    """The franchise's own answers to leads since `since` (accepted, rejected, timed out),
    newest first, each with its lead and the order it became. One query. A lead the
    franchise turned down has moved on: its hop is the franchise's own record of it."""
    return list(
        LeadHop.objects.filter(franchise_id=franchise_id, answered_at__gte=since)
        .exclude(outcome=LeadHop.Outcome.PENDING)
        .select_related("lead", "lead__order")
        .order_by("-answered_at", "-id")[:limit]
    )


def lead_journey(lead: Lead) -> list[LeadHop]:
    """Every franchise the lead was offered to (HQ's hops have none), in order. One query."""
    return list(lead.hops.select_related("franchise").order_by("offered_at", "id"))


def order_invitees(*, code: str) -> tuple[Order | None, list[Offer]]:
    """The order a worker texting `code` would mean (the open one with it; else the latest
    that had it) and its offers with their workers, wave by wave. Two queries."""
    order = (
        Order.objects.filter(code=code.strip().upper()).select_related("franchise")
        .annotate(closed=Case(When(status__in=Order.OPEN_STATUSES, then=0), default=1))
        .order_by("closed", "-start", "-id").first()
    )
    if order is None:
        return None, []
    return order, list(order.offers.select_related("worker").order_by("wave", "id"))
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

    ids = {order_id for order_id in order_ids if order_id is not None}
    if not ids:
        return {}
    return dict(scope_queryset(Order.objects.filter(pk__in=ids), user)
                .values_list("pk", "code"))
