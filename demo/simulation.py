"""The dispatch simulator: simulated workers answer the real pipeline on a virtual clock.

`simulate(SimulationConfig(...))` builds a small network of its own (one franchise, a few
clients with one site each, N workers around a city centre), places orders over several
virtual days and drives the real services: `order_place` and `callout_start` for each order,
`run_due_steps` whenever a timed step falls due (waves, batch assignment, reminders, the
silence check, the no-show check), `inbound_receive` for every SMS a worker sends back (so
the grammar and its handlers decide what a reply means) and `order_complete` after the shift.
Nothing is booked, marked or counted behind the pipeline's back: simulated workers only read
the outbound `Message` rows the services wrote and text back.

With `history_days` > 0 the pool has a recorded past drawn from those same propensities
(bench/SIMULATION.md): offer counters, completed orders with each booking's attendance, and
rating events written as seed_demo writes the demo network's; about a fifth of the pool is new
and a few join during the run. `history_days` 0 is the cold pool.

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
from django.test.utils import override_settings

from billing.selectors import orders_money
from clients.services import client_create, site_create
from core import clock
from demo.history import past_events_write, past_figures_set
from dispatch.models import Offer, Order, Step
from dispatch.services import callout_start, order_place
from dispatch.services.onsite import order_complete
from dispatch.tasks import run_due_steps
from franchises.models import Franchise
from messaging.models import Direction, Message
from messaging.services import inbound_receive
from ratings import scoring
from ratings.services import rating_params
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
    "overbooking_cost_per_order", "margin_per_order", "history_days", "mean_show_propensity",
)

# A pool with a past (`history_days` > 0): this share of the workers has no record yet, and
# this share joins during the run, on a day drawn for each; the others have a record.
NEWCOMER_SHARE = 0.20
JOINER_SHARE = 0.03
# The recorded past of a worker with a record: on this share of the days they were sent an
# offer; of the offers they accepted, this share was booked (the rest stood by or were let go).
HISTORY_OFFER_DAILY = 0.7
HISTORY_BOOKED_SHARE = 0.6
HISTORY_SHIFT_HOURS = 8


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate. `policy` is "fixed" or "adaptive"; `mean_show_rate` in (0, 1).

    `history_days`: how many days of recorded past the pool has before the run (0: a cold pool
    nobody knows). `booking_ratio` and `target_chance` replace the franchise's settings of the
    house rule (book ratio x headcount) and of the adaptive policy (the chance of a full crew
    it books for); None keeps the defaults.
    """

    workers: int = 3000
    orders: int = 300
    days: int = 10
    policy: str = "adaptive"
    seed: int = 1
    mean_show_rate: float = 0.7
    history_days: int = 56
    booking_ratio: float | None = None
    target_chance: float | None = None

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
        if self.history_days < 0:
            raise ValueError(f"--history-days must be 0 or more, got {self.history_days!r}")
        if self.booking_ratio is not None and not 1.0 <= self.booking_ratio <= 5.0:
            raise ValueError(
                f"--booking-ratio must be between 1 and 5, got {self.booking_ratio!r}"
            )
        if self.target_chance is not None and not 0.0 < self.target_chance < 1.0:
            raise ValueError(
                f"--target-chance must be strictly between 0 and 1, got {self.target_chance!r}"
            )


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
    # "known" (a recorded past), "new" (no record yet) or "joins" (during the run, at
    # `joins_at`); everyone is "known" to nobody in a cold pool, so "new".
    standing: str = "new"
    joins_at: datetime | None = None

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


def assign_standing(people: list[Person], config: SimulationConfig) -> None:
    """Who has a record, who is new and who joins during the run, from the seed alone (and
    without touching anyone's propensities). A cold pool (`history_days` 0) is all new, all
    there from the start."""
    if config.history_days == 0:
        return
    rng = random.Random(f"standing:{config.seed}")
    for person in people:
        roll = rng.random()
        joins_after = rng.uniform(0.0, config.days)
        if roll < NEWCOMER_SHARE:
            person.standing = "new"
        elif roll < NEWCOMER_SHARE + JOINER_SHARE:
            person.standing = "joins"
            person.joins_at = EPOCH + timedelta(days=joins_after)
        else:
            person.standing = "known"


@dataclass(frozen=True)
class PastBooking:
    """One recorded past booking of a worker: the day (0 = the first day of the history), the
    client, and what came of it."""

    day: int
    client_index: int
    outcome: str  # "show", "late", "no_show" or "withdrew"
    reconfirmed: bool = False
    notice_hours: float = 0.0  # for a withdrawal: how long before the start
    arrival_minutes: float = 0.0  # for a show or a late arrival: minutes after the start


@dataclass
class PastRecord:
    """A worker's recorded past: the offer counters and the bookings, in time order."""

    received: int = 0
    answered: int = 0
    accepted: int = 0
    bookings: list[PastBooking] = field(default_factory=list)


def draw_past(person: Person, config: SimulationConfig) -> PastRecord:
    """The record a worker with a past has from the `history_days` before the run, drawn from
    their own hidden propensities on a stream of their own (the same as a live offer would):
    offers, replies, acceptances, then for each booking a withdrawal, a no-show, or a show
    (on time or late) and whether they answered the reminder."""
    rng = random.Random(f"past:{config.seed}:{person.index}")
    record = PastRecord()
    for day in range(config.history_days):
        if rng.random() >= HISTORY_OFFER_DAILY:
            continue
        record.received += 1
        if rng.random() >= person.reply:
            continue
        record.answered += 1
        if rng.random() >= person.accept:
            continue
        record.accepted += 1
        if rng.random() >= HISTORY_BOOKED_SHARE:
            continue
        client_index = rng.randrange(CLIENTS)
        if rng.random() < person.withdraw:
            record.bookings.append(PastBooking(day, client_index, "withdrew",
                                               notice_hours=rng.uniform(1.0, 30.0)))
            continue
        shows = rng.random() < person.show
        reconfirmed = rng.random() < (person.reply if shows else person.reply * 0.3)
        if not shows:
            record.bookings.append(PastBooking(day, client_index, "no_show", reconfirmed))
        elif rng.random() < person.late:
            record.bookings.append(PastBooking(day, client_index, "late", reconfirmed,
                                               arrival_minutes=rng.uniform(16, 45)))
        else:
            record.bookings.append(PastBooking(day, client_index, "show", reconfirmed,
                                               arrival_minutes=rng.uniform(-40, 10)))
    return record


def past_start(config: SimulationConfig, day: int, client_index: int) -> datetime:
    """When the past order of a client on a day of the history started (one a client a day)."""
    local_hour = START_HOURS_LOCAL[(day * CLIENTS + client_index) % len(START_HOURS_LOCAL)]
    return EPOCH - timedelta(days=config.history_days - day) + timedelta(
        hours=local_hour) - LOCAL_OFFSET


def past_events(config: SimulationConfig, record: PastRecord, params: Any
                ) -> list[tuple[Any, tuple[int, int]]]:
    """The rating events of a record, in time order, each with the (day, client) of its
    order: what the no-show check, the attendance and a withdrawal record live."""

    events = []
    for booking in record.bookings:
        start = past_start(config, booking.day, booking.client_index)
        key = (booking.day, booking.client_index)
        if booking.outcome == "withdrew":
            notice = timedelta(hours=booking.notice_hours)
            kind = scoring.classify_withdrawal(notice, params)
            events.append((scoring.Event(kind, start - notice), key))
        elif booking.outcome == "no_show":
            grace = timedelta(minutes=settings.DISPATCH["NO_SHOW_GRACE_MINUTES"])
            events.append((scoring.Event(scoring.EventKind.NO_SHOW, start + grace), key))
        else:
            kind = scoring.EventKind.LATE if booking.outcome == "late" else scoring.EventKind.SHOW
            events.append((scoring.Event(kind, start + timedelta(minutes=40)), key))
    events.sort(key=lambda pair: pair[0].at)
    return events


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
        self.homes: dict[int, tuple[tuple[float, float], list[str]]] = {}
        # Each worker with a past: their record and its rating events (with their orders).
        self.records: dict[int, tuple[PastRecord, list[tuple[Any, tuple[int, int]]]]] = {}

    # --- setting up -------------------------------------------------------------------------

    def _build_network(self) -> None:
        half = 1.0
        lat, lng = CENTRE
        franchise = Franchise.objects.create(
            name=f"Simulated office {self.config.seed}",
            kind=Franchise.Kind.OFFICIAL_OFFICE,
            city="Simulated city",
            timezone="Europe/Moscow",
            **({} if self.config.booking_ratio is None
               else {"booking_ratio": Decimal(repr(self.config.booking_ratio))}),
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
        self.franchise = franchise
        for person in self.people:
            home = _point(place_rng, CITY_RADIUS_KM)
            skills = ["loading", "general"] if place_rng.random() < 0.3 else ["loading"]
            self.homes[person.index] = (home, skills)
        assign_standing(self.people, self.config)
        vetted = EPOCH - timedelta(days=max(30, self.config.history_days + 1))
        self._workers_create([p for p in self.people if p.standing != "joins"], vetted)
        self._past_write()
        for person in self.people:
            if person.joins_at is not None:
                self.at(person.joins_at, partial(self._join, person))
        self.first_message_id = self.last_message_id = (
            Message.objects.order_by("-id").values_list("id", flat=True).first() or 0
        )

    def _workers_create(self, people: list[Person], vetted: datetime) -> None:
        """The worker rows of `people`, vetted at `vetted`; those with a past carry the
        figures of their recorded events (the path seed_demo's workers take)."""

        params = rating_params()
        rows = []
        for person in people:
            home, skills = self.homes[person.index]
            worker = Worker(
                name=f"Simulated worker {person.index + 1}", phone=person.phone,
                status=Worker.Status.ACTIVE, vetted_at=vetted, lat=home[0], lng=home[1],
                skills=skills, language="en",
            )
            if person.standing == "known":
                record = draw_past(person, self.config)
                events = past_events(self.config, record, params)
                self.records[person.index] = (record, events)
                past_figures_set(worker, [event for event, _ in events], now=EPOCH)
                worker.offers_received = record.received
                worker.offers_answered = record.answered
                worker.offers_accepted = record.accepted
            rows.append(worker)
        Worker.objects.bulk_create(rows, batch_size=1000)
        ids = dict(
            Worker.objects.filter(phone__in=[p.phone for p in people]).values_list("phone", "id")
        )
        for person in people:
            person.worker_id = ids[person.phone]
            self.by_worker[person.worker_id] = person

    def _join(self, person: Person) -> None:
        """A worker joins the pool during the run: vetted now, with no record."""
        self._workers_create([person], self.clock.current)

    def _past_write(self) -> None:
        """The pool's recorded past in the franchise's books: one completed order per client
        and day that had bookings, each booking's offer with its attendance and reminder
        answer (what the franchise's observed show rates are read from), and every worker's
        rating events with the order they are about, through the seed_demo path."""

        if not self.records:
            return
        crews: dict[tuple[int, int], list[tuple[Person, PastBooking]]] = {}
        for person in self.people:
            if person.index in self.records:
                for booking in self.records[person.index][0].bookings:
                    crews.setdefault((booking.day, booking.client_index), []).append(
                        (person, booking))
        keys = sorted(crews)
        orders = []
        for number, (day, client_index) in enumerate(keys):
            client, site = self.sites[client_index]
            start = past_start(self.config, day, client_index)
            headcount = max(1, sum(1 for _, b in crews[(day, client_index)]
                                   if b.outcome != "withdrew"))
            orders.append(Order(
                code=f"P{number:04d}", client=client, site=site,
                franchise=self.franchise, work_type="loading", headcount=headcount, start=start,
                hours=Decimal(HISTORY_SHIFT_HOURS),
                ends_at=start + timedelta(hours=HISTORY_SHIFT_HOURS),
                bill_rate=Decimal(220), pay_rate=Decimal(100), status=Order.Status.COMPLETED,
                overbook_policy=Order.Policy.FIXED, booking_target=headcount, waves_sent=1,
                calling_since=start - timedelta(hours=20), filled_at=start - timedelta(hours=19),
                completed_at=start + timedelta(hours=HISTORY_SHIFT_HOURS, minutes=30),
            ))
        Order.objects.bulk_create(orders, batch_size=1000)
        by_code = dict(Order.objects.filter(franchise=self.franchise,
                                            code__in=[o.code for o in orders])
                       .values_list("code", "id"))
        order_ids = {key: by_code[order.code] for key, order in zip(keys, orders, strict=True)}
        offers = []
        attendance = {"show": Offer.Attendance.PRESENT, "late": Offer.Attendance.LATE,
                      "no_show": Offer.Attendance.NO_SHOW}
        for key in keys:
            start = past_start(self.config, *key)
            for person, booking in crews[key]:
                if booking.outcome == "withdrew":
                    continue
                came = booking.outcome != "no_show"
                offers.append(Offer(
                    order_id=order_ids[key], worker_id=person.worker_id, wave=1,
                    sent_at=start - timedelta(hours=20), response=Offer.Response.ACCEPTED,
                    responded_at=start - timedelta(hours=20), state=Offer.State.CONFIRMED,
                    confirmed_at=start - timedelta(hours=19),
                    reconfirmed_at=start - timedelta(hours=2) if booking.reconfirmed else None,
                    attendance=attendance[booking.outcome],
                    checked_in_at=(start + timedelta(minutes=booking.arrival_minutes)
                                   if came else None),
                    hours_worked=Decimal(HISTORY_SHIFT_HOURS) if came else None,
                    token=f"past{self.config.seed}x{person.index}x{key[0]}",
                ))
        Offer.objects.bulk_create(offers, batch_size=2000)
        past_events_write([
            (person.worker_id, event, order_ids[key])
            for person in self.people if person.index in self.records
            for event, key in self.records[person.index][1]
        ])

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
        return {
            **self._metrics(), **self._money(), "history_days": self.config.history_days,
            "mean_show_propensity": round(statistics.fmean(p.show for p in self.people), 4),
        }

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
    dispatch = dict(settings.DISPATCH)
    if config.target_chance is not None:
        dispatch["ADAPTIVE_SHOW_TARGET"] = config.target_chance
    with override_settings(DISPATCH=dispatch):
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
