"""The dispatch simulator: simulated workers answer the real pipeline on a virtual clock.

`simulate(SimulationConfig(...))` builds a small network of its own (one franchise, a few
clients with one site each, N workers around a city centre), places orders over several
virtual days and drives the real services: `order_place` and `callout_start` for each order,
`run_due_steps` whenever a timed step falls due (waves, batch assignment, reminders, the
silence check, the no-show check), `inbound_receive` for every SMS a worker sends back (so
the grammar and its handlers decide what a reply means) and `order_complete` after the shift.
Nothing is booked, marked or counted behind the pipeline's back: simulated workers only read
the outbound `Message` rows the services wrote and text back.

Each worker has hidden propensities (reply, accept, show, lateness, withdrawal, reply
delay) drawn from the distributions in bench/SIMULATION.md; they are drawn from a generator
seeded by the seed alone, before any order exists, so both policies face the same people.
Every later random choice comes from the worker's own generator (or the order plan's), so
the same seed gives the same result on an unchanged database.

The run happens inside one transaction that is rolled back at the end: the database it ran
against is left as it was (no `on_commit` callback fires, so nothing is actually sent).

Contract of the result (CONTRACT.md §6), computed over the simulated orders:

- ``fill_rate``: share of orders with at least ``headcount`` workers present at the start;
  "present at the start" means checked in (``HERE K7Q``) no later than the no-show check,
  start + ``NO_SHOW_GRACE_MINUTES``.
- ``slot_fill_rate``: sum over orders of min(present, headcount) / sum of headcounts.
- ``surplus_per_order``: mean of max(0, present - headcount).
- ``sms_sent``: outbound `Message` rows written during the run for the simulated workers
  and orders (offers, confirmations, standby and release notices, reminders, call-ins and
  the replies to workers' texts).
- ``sms_per_filled_slot``: ``sms_sent`` / filled slots (``None`` when no slot was filled).
- ``median_minutes_to_fill``: median minutes from the call-out to the order reaching its
  booking target (``filled_at``), over orders that reached it (``None`` when none did).
- ``no_show_rate``: no-shows / workers whose attendance was judged (present, late, no-show).
- ``overbooking_cost_per_order``: the show-up fees (workers sent home beyond the headcount)
  and standby fees (standby never called) the books paid, per order, in the currency's units
  (the simulated franchise's fees: the defaults, 500 and 300).
- ``margin_per_order``: billed - paid - fees per order, at the run's rates (220 billed and 100
  paid an hour), as the invoice and pay lines completion wrote say.
"""

from __future__ import annotations

import heapq
import math
import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from billing.selectors import orders_money
from clients.services import client_create, site_create
from core import clock
from dispatch.models import Offer, Order, Step
from dispatch.services import callout_start, order_place
from dispatch.services.onsite import order_complete
from dispatch.tasks import run_due_steps
from franchises.models import Franchise
from messaging.models import Direction, Message
from messaging.services import inbound_receive
from workers.models import Worker

KM_PER_DEGREE = 6371.009 * math.pi / 180
# A place no demo or test data uses, so a run against a populated database meets nobody else.
CENTRE = (67.50, 64.05)
CITY_RADIUS_KM = 30.0
SITE_RADIUS_KM = 12.0
CLIENTS = 8
EPOCH = datetime(2030, 6, 3, 0, 0, tzinfo=UTC)  # a Monday; 03:00 local (Europe/Moscow)
PHONE_PREFIX = "+7958"
HEADCOUNTS = (2, 3, 4, 5, 6, 8, 10, 12)
HEADCOUNT_WEIGHTS = (3, 4, 4, 4, 3, 2, 1, 1)
START_HOURS_LOCAL = (7, 8, 8, 9, 9, 10, 13, 18)
LEAD_HOURS = (30, 20, 16, 12, 6, 3)
SHIFT_HOURS = (4, 6, 6, 8, 8)
LOCAL_OFFSET = timedelta(hours=3)  # Europe/Moscow, no daylight saving

METRIC_KEYS = (
    "policy", "orders", "slots", "fill_rate", "slot_fill_rate", "surplus_per_order",
    "sms_sent", "sms_per_filled_slot", "median_minutes_to_fill", "no_show_rate",
    "overbooking_cost_per_order", "margin_per_order",
)


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate. `policy` is "fixed" or "adaptive"; `mean_show_rate` in (0, 1)."""

    workers: int = 3000
    orders: int = 300
    days: int = 10
    policy: str = "adaptive"
    seed: int = 1
    mean_show_rate: float = 0.7

    def __post_init__(self) -> None:
        if self.policy not in ("fixed", "adaptive"):
            raise ValueError(f"policy must be 'fixed' or 'adaptive', got {self.policy!r}")
        if not 0.0 < self.mean_show_rate < 1.0:
            # The population's show propensities are Beta-distributed around it: 0 and 1
            # would leave no one to tell apart.
            raise ValueError(
                "the mean show rate (--mean-show-rate) must be strictly between 0 and 1, "
                f"got {self.mean_show_rate!r}"
            )
        if self.workers < 1 or self.orders < 1 or self.days < 1:
            raise ValueError("workers, orders and days must be at least 1")


# --- The hidden population ----------------------------------------------------------------


def _beta(rng: random.Random, mean: float, concentration: float) -> float:
    return rng.betavariate(mean * concentration, (1.0 - mean) * concentration)


@dataclass
class Person:
    """A simulated worker: hidden propensities and a private random stream."""

    index: int
    phone: str
    reply: float
    accept: float
    show: float
    late: float
    withdraw: float
    delay_minutes: float
    rng: random.Random
    worker_id: int = 0

    def reply_delay(self) -> timedelta:
        minutes = self.delay_minutes * math.exp(self.rng.gauss(0.0, 0.6))
        return timedelta(seconds=max(20.0, minutes * 60.0))


def draw_population(count: int, seed: int, mean_show_rate: float) -> list[Person]:
    """The hidden propensities of `count` workers (bench/SIMULATION.md), policy-independent."""
    rng = random.Random(f"population:{seed}")
    people = []
    for index in range(count):
        people.append(
            Person(
                index=index,
                phone=f"{PHONE_PREFIX}{index:07d}",
                reply=_beta(rng, 0.75, 6.0),
                accept=_beta(rng, 0.5, 4.0),
                show=_beta(rng, mean_show_rate, 5.0),
                late=_beta(rng, 0.1, 10.0),
                withdraw=_beta(rng, 0.05, 20.0),
                delay_minutes=math.exp(rng.gauss(math.log(4.0), 0.8)),
                rng=random.Random(f"worker:{seed}:{index}"),
            )
        )
    return people


def _point(rng: random.Random, radius_km: float) -> tuple[float, float]:
    distance = radius_km * math.sqrt(rng.random())
    angle = rng.uniform(0.0, 2.0 * math.pi)
    lat = CENTRE[0] + distance * math.cos(angle) / KM_PER_DEGREE
    lng = CENTRE[1] + distance * math.sin(angle) / (
        KM_PER_DEGREE * math.cos(math.radians(CENTRE[0]))
    )
    return round(lat, 6), round(lng, 6)


@dataclass(frozen=True)
class OrderPlan:
    """One order to place: when it is placed, where, how many, when it starts."""

    place_at: datetime
    client_index: int
    headcount: int
    start: datetime
    hours: int


def plan_orders(config: SimulationConfig) -> list[OrderPlan]:
    """The orders of the run, spread evenly over the days, from the seed alone."""
    rng = random.Random(f"orders:{config.seed}")
    plans = []
    for number in range(config.orders):
        day = number * config.days // config.orders
        local_hour = rng.choice(START_HOURS_LOCAL)
        start = EPOCH + timedelta(days=day + 1, hours=local_hour) - LOCAL_OFFSET
        lead = timedelta(hours=rng.choice(LEAD_HOURS), minutes=rng.randrange(0, 60))
        plans.append(
            OrderPlan(
                place_at=max(EPOCH + timedelta(minutes=number % 60), start - lead),
                client_index=rng.randrange(CLIENTS),
                headcount=rng.choices(HEADCOUNTS, weights=HEADCOUNT_WEIGHTS)[0],
                start=start,
                hours=rng.choice(SHIFT_HOURS),
            )
        )
    return plans


# --- The run ---------------------------------------------------------------------------------


class _Rollback(Exception):
    """Raised to roll the run's transaction back once the metrics are computed."""


@dataclass
class _Booking:
    """What a worker intends for one booking, decided when they are told they are booked."""

    shows: bool
    withdrawn: bool = False


@dataclass(order=True)
class _Event:
    at: datetime
    sequence: int
    action: Callable[[], None] = field(compare=False)


class Simulation:
    """One run. Use `simulate(config)` rather than this class directly."""

    def __init__(self, config: SimulationConfig) -> None:
        self.config = config
        self.people = draw_population(config.workers, config.seed, config.mean_show_rate)
        self.by_worker: dict[int, Person] = {}
        self.plans = plan_orders(config)
        self.clock = clock.VirtualClock(EPOCH)
        self.events: list[_Event] = []
        self.sequence = 0
        self.codes: dict[int, str] = {}
        self.starts: dict[int, datetime] = {}
        self.bookings: dict[tuple[int, int], _Booking] = {}
        self.order_ids: list[int] = []
        self.last_message_id = 0
        self.first_message_id = 0
        self.sid = 0

    # --- setting up -------------------------------------------------------------------------

    def _build_network(self) -> None:
        half = 1.0
        lat, lng = CENTRE
        franchise = Franchise.objects.create(
            name=f"Simulated office {self.config.seed}",
            kind=Franchise.Kind.OFFICIAL_OFFICE,
            city="Simulated city",
            timezone="Europe/Moscow",
            territory={"type": "Polygon", "coordinates": [[
                [lng - half * 2, lat - half], [lng + half * 2, lat - half],
                [lng + half * 2, lat + half], [lng - half * 2, lat + half],
                [lng - half * 2, lat - half],
            ]]},
        )
        place_rng = random.Random(f"places:{self.config.seed}")
        self.sites = []
        for index in range(CLIENTS):
            client = client_create(name=f"Simulated client {index + 1}", franchise=franchise)
            site_lat, site_lng = _point(place_rng, SITE_RADIUS_KM)
            self.sites.append(
                (client, site_create(client=client, address=f"Simulated site {index + 1}",
                                     lat=site_lat, lng=site_lng))
            )
        vetted = EPOCH - timedelta(days=30)
        rows = []
        for person in self.people:
            home = _point(place_rng, CITY_RADIUS_KM)
            skills = ["loading", "general"] if place_rng.random() < 0.3 else ["loading"]
            rows.append(Worker(
                name=f"Simulated worker {person.index + 1}", phone=person.phone,
                status=Worker.Status.ACTIVE, vetted_at=vetted, lat=home[0], lng=home[1],
                skills=skills, language="en",
            ))
        Worker.objects.bulk_create(rows, batch_size=1000)
        ids = dict(
            Worker.objects.filter(phone__in=[p.phone for p in self.people])
            .values_list("phone", "id")
        )
        for person in self.people:
            person.worker_id = ids[person.phone]
            self.by_worker[person.worker_id] = person
        self.franchise = franchise
        self.first_message_id = self.last_message_id = (
            Message.objects.order_by("-id").values_list("id", flat=True).first() or 0
        )

    # --- the event queue --------------------------------------------------------------------

    def at(self, moment: datetime, action: Callable[[], None]) -> None:
        self.sequence += 1
        heapq.heappush(self.events, _Event(moment, self.sequence, action))

    def _next_step_due(self) -> datetime | None:
        return (
            Step.objects.filter(done_at__isnull=True, claimed_at__isnull=True)
            .order_by("due_at").values_list("due_at", flat=True).first()
        )

    def run(self) -> dict[str, Any]:
        """Drive the whole run; returns the metrics (CONTRACT.md §6)."""

        self._build_network()
        for plan in self.plans:
            self.at(plan.place_at, partial(self._place, plan))
        end = max(p.start + timedelta(hours=p.hours + 2) for p in self.plans)
        # The periodic sweeper runs every few seconds: a step it could not finish (a failure,
        # or more due steps than one sweep takes) is tried again at the next sweep, not in a
        # loop at the same instant.
        interval = timedelta(seconds=settings.PERIODIC_INTERVAL_SECONDS)
        last_sweep: datetime | None = None
        while True:
            step_due = self._next_step_due()
            if step_due is not None and last_sweep is not None and step_due <= last_sweep:
                step_due = last_sweep + interval
            event_due = self.events[0].at if self.events else None
            candidates = [t for t in (step_due, event_due) if t is not None]
            if not candidates:
                break
            moment = max(min(candidates), self.clock.current)
            if moment > end:
                break
            self.clock.set(moment)
            if step_due is not None and step_due <= moment:
                run_due_steps()
                last_sweep = moment
                self._read_outbox()
            while self.events and self.events[0].at <= moment:
                heapq.heappop(self.events).action()
                self._read_outbox()
        return {**self._metrics(), **self._money()}

    # --- what the operator does -------------------------------------------------------------

    def _place(self, plan: OrderPlan) -> None:
        client, site = self.sites[plan.client_index]
        with transaction.atomic():
            order = order_place(
                client=client, site=site, work_type="loading", headcount=plan.headcount,
                start=plan.start, hours=Decimal(plan.hours), overbook_policy=self.config.policy,
                bill_rate=Decimal(220), pay_rate=Decimal(100),
            )
            order = callout_start(order=order)
        self.order_ids.append(order.pk)
        self.codes[order.pk] = order.code
        self.starts[order.pk] = order.start
        self.at(order.ends_at + timedelta(minutes=30), lambda: self._complete(order.pk))

    def _complete(self, order_id: int) -> None:
        order = Order.objects.get(pk=order_id)
        if order.status in (Order.Status.IN_PROGRESS, Order.Status.CALLING,
                            Order.Status.FILLED):
            order_complete(order=order)

    # --- what the workers do ----------------------------------------------------------------

    def _text(self, person: Person, body: str) -> None:
        self.sid += 1
        inbound_receive(provider_sid=f"SMSIM{self.config.seed}x{self.sid:012d}",
                        sender=person.phone, body=body)

    def _later(self, person: Person, delay: timedelta, body: str,
               condition: Callable[[], bool] = lambda: True) -> None:
        def send() -> None:
            if condition():
                self._text(person, body)

        self.at(self.clock.current + delay, send)

    def _read_outbox(self) -> None:
        """Hand every new outbound SMS to the simulated worker it was written for."""

        rows = list(
            Message.objects.filter(id__gt=self.last_message_id, direction=Direction.OUT)
            .order_by("id").values_list("id", "purpose", "worker_id", "order_id")
        )
        if not rows:
            return
        self.last_message_id = rows[-1][0]
        for _, purpose, worker_id, order_id in rows:
            person = self.by_worker.get(worker_id)
            if person is None or order_id not in self.codes:
                continue
            handler = self._reactions.get(purpose)
            if handler is not None:
                handler(self, person, order_id)

    def _on_offer(self, person: Person, order_id: int) -> None:
        rng = person.rng
        if rng.random() >= person.reply:
            return
        word = "YES" if rng.random() < person.accept else "NO"
        delay = person.reply_delay()
        if self.clock.current + delay < self.starts[order_id]:
            self._later(person, delay, f"{word} {self.codes[order_id]}")

    def _arrive(self, person: Person, order_id: int, booking: _Booking) -> None:
        """Plan the check-in of a worker who will come: on time or late."""
        start = self.starts[order_id]
        rng = person.rng
        if rng.random() < person.late:
            arrival = start + timedelta(minutes=rng.uniform(16, 45))
        else:
            arrival = start + timedelta(minutes=rng.uniform(-40, 10))
        arrival = max(arrival, self.clock.current + timedelta(minutes=rng.uniform(20, 60)))
        self._later(person, arrival - self.clock.current, f"HERE {self.codes[order_id]}",
                    lambda: not booking.withdrawn)

    def _on_confirmed(self, person: Person, order_id: int) -> None:
        rng = person.rng
        start = self.starts[order_id]
        booking = _Booking(shows=rng.random() < person.show)
        self.bookings[(person.worker_id, order_id)] = booking
        if rng.random() < person.withdraw:
            room = (start - timedelta(minutes=30) - self.clock.current).total_seconds()
            if room > 60:
                booking.shows = False

                def withdraw() -> None:
                    booking.withdrawn = True
                    self._text(person, f"CANCEL {self.codes[order_id]}")

                self.at(self.clock.current + timedelta(seconds=rng.uniform(60, room)), withdraw)
                return
        if booking.shows:
            self._arrive(person, order_id, booking)

    def _on_called_in(self, person: Person, order_id: int) -> None:
        booking = _Booking(shows=person.rng.random() < person.show)
        self.bookings[(person.worker_id, order_id)] = booking
        if booking.shows:
            self._arrive(person, order_id, booking)

    def _on_reminder(self, person: Person, order_id: int) -> None:
        booking = self.bookings.get((person.worker_id, order_id))
        if booking is None or booking.withdrawn:
            return
        # Those who mean to come answer reminders as they answer offers; those who do not
        # mostly stay silent.
        chance = person.reply if booking.shows else person.reply * 0.3
        if person.rng.random() < chance:
            self._later(person, person.reply_delay(), f"YES {self.codes[order_id]}",
                        lambda: not booking.withdrawn)

    _reactions: dict[str, Callable[[Simulation, Person, int], None]] = {
        "offer": _on_offer,
        "confirmation": _on_confirmed,
        "standby_call": _on_called_in,
        "reminder": _on_reminder,
    }

    # --- the figures --------------------------------------------------------------------------

    def _metrics(self) -> dict[str, Any]:


        grace = timedelta(minutes=settings.DISPATCH["NO_SHOW_GRACE_MINUTES"])
        orders = list(
            Order.objects.filter(pk__in=self.order_ids).order_by("start", "pk")
            .values_list("pk", "headcount", "start", "calling_since", "filled_at")
        )
        present: dict[int, int] = dict.fromkeys(self.order_ids, 0)
        judged = no_shows = 0
        for order_id, attendance, checked_in_at, start in Offer.objects.filter(
            order_id__in=self.order_ids, attendance__isnull=False
        ).values_list("order_id", "attendance", "checked_in_at", "order__start"):
            if attendance == Offer.Attendance.EXCUSED:
                continue
            judged += 1
            if attendance == Offer.Attendance.NO_SHOW:
                no_shows += 1
            elif checked_in_at is not None and checked_in_at <= start + grace:
                present[order_id] += 1
        slots = sum(headcount for _, headcount, *_ in orders)
        filled_slots = sum(min(present[pk], headcount) for pk, headcount, *_ in orders)
        full = sum(1 for pk, headcount, *_ in orders if present[pk] >= headcount)
        surplus = sum(max(0, present[pk] - headcount) for pk, headcount, *_ in orders)
        fill_minutes = [
            (filled_at - calling_since).total_seconds() / 60
            for _, _, _, calling_since, filled_at in orders
            if filled_at is not None and calling_since is not None
        ]
        sms_sent = Message.objects.filter(
            Q(worker_id__in=list(self.by_worker)) | Q(order_id__in=self.order_ids),
            direction=Direction.OUT, id__gt=self.first_message_id,
        ).count()
        count = len(orders)
        return {
            "policy": self.config.policy,
            "orders": count,
            "slots": slots,
            "fill_rate": round(full / count, 4) if count else 0.0,
            "slot_fill_rate": round(filled_slots / slots, 4) if slots else 0.0,
            "surplus_per_order": round(surplus / count, 4) if count else 0.0,
            "sms_sent": sms_sent,
            "sms_per_filled_slot": round(sms_sent / filled_slots, 4) if filled_slots else None,
            "median_minutes_to_fill": (
                round(statistics.median(fill_minutes), 2) if fill_minutes else None
            ),
            "no_show_rate": round(no_shows / judged, 4) if judged else 0.0,
        }


    def _money(self) -> dict[str, float]:
        """What over-booking cost and what the franchise kept, per order, from the books the
        real completion wrote (invoice and pay lines)."""

        books = orders_money(order_ids=self.order_ids)
        return {
            "overbooking_cost_per_order": float(books.overbooking_cost_per_order or 0),
            "margin_per_order": float(books.margin_per_order or 0),
        }


def simulate(config: SimulationConfig, *, keep: bool = False) -> dict[str, Any]:
    """Run the simulation and return the metrics dict (keys: `METRIC_KEYS`).

    Everything is written inside one transaction that is rolled back before returning,
    unless `keep` is true, in which case the rows stay in the caller's transaction (tests
    use this to inspect them; the test's own transaction is rolled back afterwards).
    """
    simulation = Simulation(config)
    if keep:
        with clock.use_clock(simulation.clock):
            return simulation.run()
    result: dict[str, Any] = {}
    try:
        with transaction.atomic(), clock.use_clock(simulation.clock):
            result = simulation.run()
            raise _Rollback
    except _Rollback:
        pass
    return result
