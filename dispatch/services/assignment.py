"""Batch assignment: accepted workers onto all open orders of a franchise at once.

Maximum filled places first, then the cheapest crews (distance, rating, reliability), by the
pure optimiser. Confirmed bookings are never undone by a later batch: each batch fills only
the places still open. The orders are locked (in primary-key order) for the whole batch, so
two batches, or a batch and a cancellation, never book the same place twice.
"""

import logging
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Count, F, Q
from django.db.models.functions import Cast

from core import clock
from messaging.services import sms_queue_many
from workers.models import Skill, Worker
from workers.selectors import with_opt_out

from .. import optimizer, states
from ..models import ClientPreference, Offer, Order
from ..overbooking import crew_to_book
from ..selectors import busy_worker_ids
from .callout import show_probabilities
from .notify import sms_items

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class _Booked(TypedDict):
    """What a batch reads with each order: its crew so far."""

    confirmed_count: int
    standby_count: int


class _Contact(TypedDict):
    """What a batch reads with each offer to text its worker."""

    phone_text: str
    worker_language: str

logger = logging.getLogger(__name__)


@dataclass
class BatchResult:
    orders: int = 0
    candidates: int = 0
    confirmed: int = 0
    standby: int = 0
    released: int = 0
    filled_orders: list[int] = field(default_factory=list)
    solve_seconds: float = 0.0


class Acceptance(NamedTuple):
    """A yes waiting for the batch."""

    offer_id: int
    order_id: int
    worker_id: int


class Acceptor(NamedTuple):
    """What the optimiser needs of a worker who said yes."""

    id: int
    lat: float | None
    lng: float | None
    rating: float
    reliability: float
    skills: list[str]
    shifts_completed: int
    no_shows: int


def _standby_places(order: Order) -> int:
    return max(1, math.ceil(order.headcount * settings.DISPATCH["STANDBY_SHARE"]))


def _fairness_places(open_places: int) -> int:
    return int(open_places * settings.DISPATCH["FAIRNESS_SHARE"])


@transaction.atomic
def assignment_run(*, franchise_id: int, order_ids: list[int] | None = None) -> BatchResult:
    """Assign accepted workers to the franchise's open orders; tell everyone the outcome."""
    now = clock.now()
    orders_qs = Order.objects.filter(
        franchise_id=franchise_id, status__in=[Order.Status.CALLING, Order.Status.FILLED],
        start__gt=now,
    )
    if order_ids is not None:
        orders_qs = orders_qs.filter(pk__in=order_ids)
    # Lock first (FOR UPDATE cannot go with the GROUP BY of the counts), then read.
    locked = list(orders_qs.select_for_update().order_by("pk").values_list("pk", flat=True))
    orders = list(
        Order.objects.filter(pk__in=locked)
        .select_related("franchise", "site", "client")
        .order_by("pk")
        .annotate(
            confirmed_count=Count("offers", filter=Q(offers__state=Offer.State.CONFIRMED)),
            standby_count=Count("offers", filter=Q(offers__state=Offer.State.STANDBY)),
        )
    )
    result = BatchResult(orders=len(orders))
    if not orders:
        return result
    by_id = {order.pk: order for order in orders}
    pending = list(map(Acceptance._make, Offer.objects.filter(
        order_id__in=by_id, response=Offer.Response.ACCEPTED, state=Offer.State.OFFERED
    ).values_list("id", "order_id", "worker_id")))
    result.candidates = len(pending)
    open_places = {
        order.pk: max(0, order.booking_target - order.confirmed_count) for order in orders
    }
    # Workers already booked at an overlapping time elsewhere cannot take these orders.
    earliest = min(order.start for order in orders)
    latest = max(order.ends_at for order in orders)
    worker_ids = {acceptance.worker_id for acceptance in pending}
    booked = defaultdict(list)
    for worker_id, start, ends_at in Offer.objects.filter(
        worker_id__in=worker_ids,
        state__in=[Offer.State.CONFIRMED, Offer.State.STANDBY],
        order__status__in=Order.OPEN_STATUSES,
        order__start__lt=latest,
        order__ends_at__gt=earliest,
    ).values_list("worker_id", "order__start", "order__ends_at"):
        booked[worker_id].append((start, ends_at))

    def free_for(worker_id: int, order: Order) -> bool:
        return all(not (s < order.ends_at and e > order.start) for s, e in booked[worker_id])

    eligible = [
        (acceptance.worker_id, acceptance.order_id)
        for acceptance in pending
        if open_places[acceptance.order_id] > 0
        and free_for(acceptance.worker_id, by_id[acceptance.order_id])
    ]
    # A worker whose number opted out since saying yes could get no confirmation, address or
    # reminder: such acceptances are not booked.
    workers = {
        acceptor.id: acceptor
        for acceptor in map(Acceptor._make, with_opt_out(
            Worker.objects.filter(pk__in={w for w, _ in eligible})
        ).filter(opted_out=False).values_list(*Acceptor._fields))
    }
    eligible = [(w, o) for w, o in eligible if w in workers and workers[w].lat is not None]
    chances = _show_chances(orders, workers, now)
    chosen: list[tuple[int, int]] = []
    # The optimiser gives each worker one order per solve. A worker who accepted orders that
    # do not overlap (a morning and an evening shift) gets the next one in another round,
    # instead of waiting for some later acceptance to start a new batch.
    while eligible:
        placed = _solve(orders, open_places, eligible, workers, result, chances=chances)
        if not placed:
            break
        chosen.extend(placed)
        for worker_id, order_id in placed:
            open_places[order_id] -= 1
            booked[worker_id].append((by_id[order_id].start, by_id[order_id].ends_at))
        taken = set(chosen)
        eligible = [
            (w, o) for w, o in eligible
            if (w, o) not in taken and open_places[o] > 0 and free_for(w, by_id[o])
        ]
    chosen = _as_far_as_needed(orders, chosen, chances, now)
    _record(orders=orders, by_id=by_id, chosen=chosen, booked=booked, now=now, result=result)
    return result


def _show_chances(
    orders: Sequence[Order], workers: dict[int, Acceptor], now: Any
) -> dict[int, float]:
    """Each acceptor's chance of turning up (their record; a newcomer at the franchise's recent
    show rate), when an adaptive order is in the batch: the adaptive policy books by it."""
    adaptive = [o for o in orders if o.overbook_policy == Order.Policy.ADAPTIVE]
    if not adaptive or not workers:
        return {}
    ids = list(workers)
    chances, _ = show_probabilities(
        adaptive[0], [(workers[w].reliability, workers[w].shifts_completed + workers[w].no_shows)
                    for w in ids], now)
    return dict(zip(ids, chances, strict=True))


def _as_far_as_needed(orders: Sequence[Order], chosen: list[tuple[int, int]],
                      chances: dict[int, float], now: Any) -> list[tuple[int, int]]:
    """An adaptive order books only as far as its target needs: of the acceptors the solve
    gave it, the likeliest to come, until the chance that the headcount turns up (with the crew
    already booked) reaches the target; the order is then full at that count. Where all of
    them fall short it keeps calling beyond the target it started with."""
    adaptive = {o.pk: o for o in orders if o.overbook_policy == Order.Policy.ADAPTIVE}
    if not adaptive:
        return chosen
    target = settings.DISPATCH["ADAPTIVE_SHOW_TARGET"]
    crews: dict[int, list[float]] = defaultdict(list)
    fields = ("order_id", "worker__reliability", "worker__shifts_completed", "worker__no_shows")
    rows = list(Offer.objects.filter(order_id__in=adaptive, state=Offer.State.CONFIRMED)
                .values_list(*fields))
    if rows:
        booked_chances, _ = show_probabilities(
            next(iter(adaptive.values())), [(r, s + n) for _, r, s, n in rows], now)
        for (order_id, *_), chance in zip(rows, booked_chances, strict=True):
            crews[order_id].append(chance)
    kept = [(w, o) for w, o in chosen if o not in adaptive]
    for order_id, order in adaptive.items():
        mine = sorted((w for w, o in chosen if o == order_id),
                      key=lambda w: (-chances.get(w, 0.0), w))
        count, reached = crew_to_book(order.headcount, crews[order_id],
                                      [chances.get(w, 0.0) for w in mine], target)
        kept.extend((w, order_id) for w in mine[:count])
        booked = len(crews[order_id]) + count
        if reached:
            order.booking_target = booked
        elif booked >= order.booking_target:
            order.booking_target = max(order.headcount, booked + 1)
        else:
            continue
        Order.objects.filter(pk=order_id).update(booking_target=order.booking_target)
    return kept


def _solve(
    orders: Sequence[Order], open_places: dict[int, int], eligible: list[tuple[int, int]],
    workers: dict[int, Acceptor], result: BatchResult, *, chances: dict[int, float],
) -> list[tuple[int, int]]:
    config = settings.DISPATCH
    favourites = set(
        ClientPreference.objects.filter(
            client_id__in={o.client_id for o in orders}, kind=ClientPreference.Kind.FAVOURITE
        ).values_list("client_id", "worker_id")
    )
    client_of = {order.pk: order.client_id for order in orders}
    adaptive = {o.pk for o in orders if o.overbook_policy == Order.Policy.ADAPTIVE}
    adjustments: dict[tuple[int, int], float] = {}
    newcomer_pairs = []
    for worker_id, order_id in eligible:
        if (client_of[order_id], worker_id) in favourites:
            adjustments[(worker_id, order_id)] = -config["FAVOURITE_BONUS"]
        if order_id in adaptive and worker_id in chances:
            # An adaptive order wants the crew likeliest to turn up in full.
            adjustments[(worker_id, order_id)] = adjustments.get((worker_id, order_id), 0.0) + (
                config["ADAPTIVE_SHOW_WEIGHT"] * (1.0 - chances[worker_id]))
        if workers[worker_id].shifts_completed < config["NEWCOMER_MAX_SHIFTS"]:
            newcomer_pairs.append((worker_id, order_id))
    candidates = [
        optimizer.Candidate(
            id=acceptor.id, lat=acceptor.lat, lng=acceptor.lng, rating=acceptor.rating,
            reliability=acceptor.reliability, is_foreman=Skill.FOREMAN in acceptor.skills,
        )
        # One with no home point is in no eligible pair (above) and cannot be placed.
        for acceptor in workers.values() if acceptor.lat is not None and acceptor.lng is not None
    ]
    weights = optimizer.Weights(**config["WEIGHTS"])
    chosen: list[tuple[int, int]] = []
    places = dict(open_places)
    # The fairness share: a few places go first to the best newcomers who accepted, so new
    # people build a history. Solved as its own small problem, then the rest as usual.
    fair = {order.pk: _fairness_places(places[order.pk]) for order in orders}
    if newcomer_pairs and any(fair.values()):
        fair_solution = optimizer.solve(
            optimizer.Problem(
                orders=[
                    optimizer.OrderSlots(id=o.pk, slots=fair[o.pk], lat=o.site.lat, lng=o.site.lng)
                    for o in orders if fair[o.pk] > 0
                ],
                workers=candidates,
                eligible=[(w, o) for w, o in newcomer_pairs if fair.get(o, 0) > 0],
                weights=weights,
                pair_cost_adjustments=adjustments,
            )
        )
        result.solve_seconds += fair_solution.solve_seconds
        chosen.extend(fair_solution.assignments)
        for _, order_id in fair_solution.assignments:
            places[order_id] -= 1
    taken = {worker_id for worker_id, _ in chosen}
    solution = optimizer.solve(
        optimizer.Problem(
            orders=[
                optimizer.OrderSlots(
                    id=o.pk, slots=places[o.pk], lat=o.site.lat, lng=o.site.lng,
                    needs_foreman=min(o.foremen_needed, places[o.pk]),
                )
                for o in orders if places[o.pk] > 0
            ],
            workers=[c for c in candidates if c.id not in taken],
            eligible=[(w, o) for w, o in eligible if w not in taken and places[o] > 0],
            weights=weights,
            pair_cost_adjustments=adjustments,
        )
    )
    result.solve_seconds += solution.solve_seconds
    chosen.extend(solution.assignments)
    return chosen


def _person(offer: "WithAnnotations[Offer, _Contact]") -> tuple[int, str, str]:
    return (offer.worker_id, offer.phone_text, offer.worker_language)


def _overlaps(order: Order, spans: list[tuple[Any, Any]]) -> bool:
    return any(start < order.ends_at and end > order.start for start, end in spans)


def _standby_pick(
    order: Order, acceptors: "list[WithAnnotations[Offer, _Contact]]", room: int,
    booked: dict[int, list[tuple[Any, Any]]],
) -> "list[WithAnnotations[Offer, _Contact]]":
    """The best `room` acceptors who could come if called. Someone booked or standing by at
    an overlapping time (for any franchise) could not, and is let go instead."""
    picked: list[WithAnnotations[Offer, _Contact]] = []
    for offer in acceptors:
        if len(picked) >= room:
            break
        if _overlaps(order, booked[offer.worker_id]):
            continue
        picked.append(offer)
        booked[offer.worker_id].append((order.start, order.ends_at))
    return picked


def _record(
    *, orders: "Sequence[WithAnnotations[Order, _Booked]]",
    by_id: "Mapping[int, WithAnnotations[Order, _Booked]]", chosen: list[tuple[int, int]],
    booked: dict[int, list[tuple[Any, Any]]], now: Any, result: BatchResult,
) -> None:
    """Write the batch's outcome with bulk updates and queue everybody's text.

    `booked` holds each acceptor's (start, end) bookings, confirmed or standby, this batch's
    included."""
    chosen_pairs = set(chosen)
    chosen_workers = {worker_id for worker_id, _ in chosen}
    offers = list(
        Offer.objects.filter(order_id__in=by_id, state=Offer.State.OFFERED)
        .only("id", "order_id", "worker_id", "response", "cost")
        # The phone as stored text: parsing 15,000 phone numbers costs more than the solve.
        .annotate(phone_text=Cast("worker__phone", CharField()),
                  worker_language=F("worker__language"))
    )
    confirmed_ids: set[int] = set()
    recipients: dict[tuple[int, str], list[tuple[int, str, str]]] = defaultdict(list)
    new_confirmed: dict[int, int] = defaultdict(int)
    for offer in offers:
        if (offer.worker_id, offer.order_id) in chosen_pairs:
            confirmed_ids.add(offer.pk)
            new_confirmed[offer.order_id] += 1
            recipients[(offer.order_id, "confirmed")].append(_person(offer))
    states.offers_move(
        Offer.objects.filter(pk__in=confirmed_ids), to=Offer.State.CONFIRMED, confirmed_at=now
    )
    result.confirmed = len(confirmed_ids)

    # A worker booked on one order is not also kept on an overlapping one.
    overlapping_release: list[int] = []
    standby_ids: list[int] = []
    released_ids: list[int] = []
    filled: list[int] = []
    waiting: defaultdict[int, list[WithAnnotations[Offer, _Contact]]] = defaultdict(list)
    for offer in offers:
        if offer.pk in confirmed_ids:
            continue
        if offer.worker_id in chosen_workers and _overlaps(
            by_id[offer.order_id], booked[offer.worker_id]
        ):
            overlapping_release.append(offer.pk)
            if offer.response == Offer.Response.ACCEPTED:
                # They said yes here too: tell them this one is off, and why (the order may
                # well still be calling).
                recipients[(offer.order_id, "booked_elsewhere")].append(_person(offer))
            continue
        waiting[offer.order_id].append(offer)
    for order in orders:
        total = order.confirmed_count + new_confirmed[order.pk]
        if total < order.booking_target:
            continue
        if order.status == Order.Status.CALLING:
            filled.append(order.pk)
        # The order is full: acceptors become standby (best first), everyone else is told.
        acceptors = sorted(
            (o for o in waiting[order.pk] if o.response == Offer.Response.ACCEPTED),
            key=lambda o: (o.cost, o.pk),
        )
        room = max(0, _standby_places(order) - order.standby_count)
        standing_by = _standby_pick(order, acceptors, room, booked)
        for offer in standing_by:
            standby_ids.append(offer.pk)
            recipients[(order.pk, "standby")].append(_person(offer))
        kept = {offer.pk for offer in standing_by}
        for offer in [*(o for o in acceptors if o.pk not in kept),
                      *(o for o in waiting[order.pk] if o.response is None)]:
            released_ids.append(offer.pk)
            recipients[(order.pk, "not_needed")].append(_person(offer))
    states.offers_move(Offer.objects.filter(pk__in=standby_ids), to=Offer.State.STANDBY)
    states.offers_move(
        Offer.objects.filter(pk__in=[*released_ids, *overlapping_release]),
        to=Offer.State.RELEASED, released_at=now,
    )
    # Only a calling order becomes filled (a filled one called again stays filled).
    states.orders_move(Order.objects.filter(pk__in=filled), to=Order.Status.FILLED, filled_at=now)
    result.standby = len(standby_ids)
    result.released = len(released_ids) + len(overlapping_release)
    result.filled_orders = filled
    purposes = {"confirmed": "confirmation", "standby": "standby", "not_needed": "release",
                "booked_elsewhere": "release"}
    sms_queue_many(
        [
            item
            for (order_id, key), people in recipients.items()
            for item in sms_items(by_id[order_id], people, key, purposes[key])
        ]
    )
    logger.info(
        "batch: %d orders, %d acceptors, %d confirmed, %d standby, %d released",
        result.orders, result.candidates, result.confirmed, result.standby, result.released,
    )


def busy_elsewhere(worker_id: int, order: Order) -> bool:
    return busy_worker_ids(
        start=order.start, ends_at=order.ends_at, exclude_order_id=order.pk
    ).filter(worker_id=worker_id).exists()
