"""A believable past for the demo network, made by the real services on a virtual clock.

Orders are placed, called out, answered, assigned, attended and completed day by day over the
last eight weeks, so ratings, invoices, royalty statements and the benchmark report all show
real numbers the first time someone opens the console.
"""

import random
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction

from billing.services import previous_period, royalty_statements_issue
from clients.models import Client
from core import clock
from dispatch.models import Offer, Order, Step
from dispatch.services import assignment_run, callout_start, offer_respond, order_place
from dispatch.services.onsite import (
    AttendanceEntry,
    FeedbackEntry,
    attendance_record,
    feedback_record,
    order_complete,
)
from dispatch.services.steps import step_finish
from franchises.models import Franchise
from ratings import scoring
from ratings.models import RatingEvent
from ratings.services import rating_params, worker_figures_set
from workers.models import Worker

HISTORY_DAYS = 56
WORK_TYPES = ("loading", "loading", "loading", "moving", "general", "cleaning")


def past_figures_set(worker: Worker, events: list[scoring.Event], *, now: datetime) -> None:
    """Put on a worker row about to be created the figures of a recorded past: the ratings
    model's replay of exactly `events` (in time order), so the first live event, or a recompute,
    carries that record on instead of starting again from the priors."""
    worker_figures_set(worker=worker, state=scoring.replay(events, rating_params()), now=now)


def past_events_write(past: list[tuple[int, scoring.Event, int | None]]) -> int:
    """Store a recorded past as rating events: (worker id, event, order ref or None), each
    worker's in time order, so ids follow time as they do for recorded events and a recompute
    (events by id) replays them exactly as `past_figures_set` did. Returns how many."""
    RatingEvent.objects.bulk_create(
        [
            RatingEvent(worker_id=worker_id, kind=event.kind, score=event.score,
                        source=event.source or "", at=event.at, order_ref=order_ref)
            for worker_id, event, order_ref in past
        ],
        batch_size=2000,
    )
    return len(past)


def _one_order(rng: random.Random, client: Client, day: datetime, virtual: clock.VirtualClock
               ) -> Order | None:
    site = client.sites.order_by("id").first()
    if site is None:
        return None
    start = day.replace(hour=rng.choice((5, 6, 7, 10)), minute=0)
    virtual.set(start - timedelta(hours=rng.choice((20, 16, 6))))
    with transaction.atomic():
        order = order_place(
            client=client, site=site, work_type=rng.choice(WORK_TYPES),
            headcount=rng.choice((3, 4, 5, 6, 8, 10, 12)), start=start,
            hours=Decimal(rng.choice((4, 6, 8))),
            overbook_policy=rng.choice((Order.Policy.FIXED, Order.Policy.ADAPTIVE)),
        )
        order = callout_start(order=order)
    for offer in order.offers.select_related("worker"):
        worker = offer.worker
        if rng.random() < 0.3 + 0.5 * worker.reliability:
            virtual.advance(timedelta(seconds=rng.randint(5, 40)))
            offer_respond(offer=offer, accept=rng.random() < 0.35 + 0.4 * worker.reliability)
    virtual.advance(timedelta(minutes=3))
    assignment_run(franchise_id=order.franchise_id, order_ids=[order.pk])
    _batch_step_finish(order.franchise_id)
    virtual.set(start + timedelta(minutes=40))
    crew = list(order.offers.filter(state=Offer.State.CONFIRMED).select_related("worker"))
    if not crew:
        # Nobody took it: it stays on the books as an order that was not filled, closed like
        # every other, so no step of it is left to run when the server starts.
        virtual.set(order.ends_at + timedelta(minutes=30))
        order_complete(order=order)
        return order
    entries = []
    for offer in crew:
        roll = rng.random()
        if roll < offer.worker.reliability:
            status = "late" if rng.random() < 0.08 else "present"
            entries.append(AttendanceEntry(offer.worker_id, status, order.hours))
        else:
            entries.append(AttendanceEntry(offer.worker_id, "no_show"))
    attendance_record(order=order, entries=entries)
    virtual.set(order.ends_at + timedelta(minutes=30))
    came = [e.worker_id for e in entries if e.status != "no_show"]
    if came:
        feedback_record(
            order=order,
            entries=[FeedbackEntry(worker_id, rng.choice((3, 4, 4, 5, 5)), "foreman")
                     for worker_id in rng.sample(came, k=min(len(came), 3))],
        )
    order_complete(order=order)
    return order


def _batch_step_finish(franchise_id: int) -> None:
    """The batch the yeses scheduled has just run, for their order: close its step. Left open,
    a weeks-old batch would run the moment the server starts and book the yeses of a live order
    at once, not when their replies said."""
    pending = Step.objects.filter(
        kind=Step.Kind.ASSIGN, franchise_id=franchise_id, done_at__isnull=True
    ).values_list("id", flat=True)
    for step_id in pending:
        step_finish(step_id, now=clock.now())


def history_start(now: datetime) -> datetime:
    """When the eight weeks of history begin, for a history loaded at `now`: the virtual clock
    starts here, so every event the real services record is at least this recent. A seeded
    record older than this cannot land between them."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=HISTORY_DAYS + 1)


def load_history(*, seed: int = 2026) -> int:
    """Fill the last eight weeks with completed orders, once. Returns how many were made."""
    if Order.objects.filter(status=Order.Status.COMPLETED).exists():
        return 0
    rng = random.Random(seed)
    real_now = clock.now()
    today = real_now.replace(hour=0, minute=0, second=0, microsecond=0)
    clients = {
        franchise.pk: list(Client.objects.filter(franchise=franchise).order_by("id"))
        for franchise in Franchise.objects.exclude(kind=Franchise.Kind.HQ)
    }
    offices = Franchise.objects.filter(kind=Franchise.Kind.OFFICIAL_OFFICE).order_by("id")
    brands = Franchise.objects.filter(kind=Franchise.Kind.BRAND_FRANCHISE).order_by("id")
    made = 0
    virtual = clock.VirtualClock(history_start(real_now))
    with clock.use_clock(virtual):
        for days_ago in range(HISTORY_DAYS, 0, -1):
            day = today - timedelta(days=days_ago)
            busy = [f for f in offices if days_ago % 3 == f.pk % 3]
            busy += [f for f in brands if days_ago % 9 == f.pk % 9]
            for franchise in busy:
                if clients.get(franchise.pk) and _one_order(
                    rng, rng.choice(clients[franchise.pk]), day, virtual
                ):
                    made += 1
    royalty_statements_issue(period=previous_period(real_now.date()))
    return made
