"""`python manage.py demo`: one order's whole story, told in the terminal.

An order for 10 loaders in Saint Petersburg goes through the real services on a virtual
clock (`core.clock`), from the quote to the client's score of the crew: the booking
target, the SMS waves, workers' replies, the batch assignment, the reminders, check-ins,
the no-show check, who goes home once the headcount is present (the client keeps one extra,
the others are sent home with the show-up fee), completion with its invoice (the headcount
billed, plus the kept), pay (hours, show-up and standby fees), margin and royalty, and the
feedback SMS.
Timed steps run as the sweeper runs them (`run_due_steps`) and every worker's text goes
through `inbound_receive`, so the reply grammar and its handlers decide what it means.

Only the workers and the client are simulated, deterministically from `--seed`: each one's
habits follow their record, and at least one booked worker does not come.

The story runs in one transaction that is rolled back at the end, as the simulator's runs
are: the demo database is left as it was, and since SMS are sent only after a commit
(`transaction.on_commit`), no text leaves the outbox.
"""

import heapq
import itertools
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Q

from billing import pricing
from billing.models import InvoiceLine, PayLine
from billing.selectors import order_books
from billing.services import period_of, rate_quote, statement_figures
from clients.models import Client, Site
from core import clock
from dispatch.models import Offer, Order, Step
from dispatch.selectors import crew_split_of
from dispatch.services import callout_start, order_place
from dispatch.services.onsite import order_complete, surplus_keep, surplus_send_home
from dispatch.tasks import run_due_steps
from franchises.models import Franchise
from messaging.models import Direction, Message
from messaging.services import inbound_receive
from workers.models import Worker

SAMPLE_SIZE = 4
# The order is placed at 10:00 local and starts at 09:00 local the next morning, so the
# evening reminder, the two-hour reminder and the silence check all fall inside the story.
PLACED_AT_HOUR = 10
START_HOUR = 9
HOURS = Decimal(8)
# Of those booked, about one in twelve withdraws by SMS the night before.
WITHDRAW_RATE = 0.08


def _plain(value: Decimal) -> str:
    """A quantity without trailing zeros: 8.0 -> "8", 1.50 -> "1.5"."""
    return f"{value.normalize():f}"


class _Rollback(Exception):
    """Raised at the end of the story to roll its transaction back."""


@dataclass
class _Plan:
    """What a simulated worker means to do about a booking."""

    comes: bool
    withdraws: bool = False


@dataclass
class _Text:
    """One SMS a simulated worker sent, the system's answer, and the worker's figures
    (rating, reliability) just before and after it."""

    at: datetime
    worker: Worker
    body: str
    reply: str
    before: tuple[float, float] = (0.0, 0.0)
    after: tuple[float, float] = (0.0, 0.0)


@dataclass
class _ClientText:
    """One SMS the simulated client sent, and the system's answer."""

    at: datetime
    body: str
    reply: str


@dataclass(order=True)
class _Event:
    at: datetime
    sequence: int
    action: Callable[[], None] = field(compare=False)


class Command(BaseCommand):
    help = "Tell one order's whole story, from the quote to the client's score."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--headcount", type=int, default=10)
        parser.add_argument("--policy", choices=["fixed", "adaptive"], default="fixed")
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args: Any, **options: Any) -> None:
        client = (
            Client.objects.filter(franchise__city="Saint Petersburg").order_by("id").first()
        )
        site = client.sites.order_by("id").first() if client else None
        if client is None or site is None:
            raise CommandError("Load the demo network first: python manage.py seed_demo")
        if options["headcount"] < 1:
            raise CommandError("--headcount must be at least 1")
        orders_before = Order.objects.count()
        try:
            story = Story(self.stdout.write, client, site, options)
            with clock.use_clock(story.clock), transaction.atomic():
                story.tell()
                raise _Rollback
        except _Rollback:
            pass
        self.stdout.write(
            f"\nThe story ran in one transaction, now rolled back: the database holds "
            f"{Order.objects.count()} orders\n(before: {orders_before}) and no SMS was sent "
            f"(texts leave the outbox only after a commit)."
        )


class Story:
    """One order, told chapter by chapter. Each chapter runs its part of the virtual day
    (`_run_until`), then reports what the services did, read back from the database."""

    def __init__(self, say: Callable[[str], Any], client: Client, site: Site,
                 options: dict[str, Any]) -> None:
        self.say = say
        self.client, self.site, self.options = client, site, options
        if client.franchise is None:
            raise CommandError("The demo client has no franchise: run seed_demo again.")
        self.franchise: Franchise = client.franchise
        self.zone = ZoneInfo(self.franchise.timezone)
        self.rng = random.Random(options["seed"])
        local_now = clock.now().astimezone(self.zone)
        placed = local_now.replace(hour=PLACED_AT_HOUR, minute=0, second=0, microsecond=0)
        if placed <= local_now:
            placed += timedelta(days=1)
        self.start = (placed + timedelta(days=1)).replace(hour=START_HOUR).astimezone(UTC)
        self.clock = clock.VirtualClock(placed.astimezone(UTC))
        self.events: list[_Event] = []
        self.sequence = itertools.count()
        self.plans: dict[int, _Plan] = {}
        self.texts: list[_Text] = []
        self.client_texts: list[_ClientText] = []
        self.last_message_id = Message.objects.order_by("-id").values_list("id", flat=True).first()
        self.last_sweep: datetime | None = None
        self.order: Order

    # --- time ----------------------------------------------------------------------------

    def hm(self, moment: datetime | None) -> str:
        """A time of day in the franchise's zone, labelled with the zone ("--:--" for none)."""
        if moment is None:
            return "--:--"
        return f"{moment.astimezone(self.zone):%H:%M %Z}"

    def day(self, moment: datetime) -> str:
        return f"{moment.astimezone(self.zone):%a %d.%m %H:%M %Z}"

    def at(self, moment: datetime, action: Callable[[], None]) -> None:
        heapq.heappush(self.events, _Event(moment, next(self.sequence), action))

    def later(self, delay: timedelta, action: Callable[[], None]) -> None:
        self.at(self.clock.current + delay, action)

    def _next_step_due(self) -> datetime | None:
        """The next timed step of this order or of its office's batch assignment. The sweeper
        runs every due step of the database; the story's clock only stops for these."""
        due = (
            Step.objects.filter(done_at__isnull=True, claimed_at__isnull=True)
            .filter(Q(order=self.order) | Q(kind=Step.Kind.ASSIGN, franchise=self.franchise))
            .order_by("due_at").values_list("due_at", flat=True).first()
        )
        if due is not None and self.last_sweep is not None and due <= self.last_sweep:
            # A step that failed waits for the next sweep, as with the real sweeper.
            due = self.last_sweep + timedelta(seconds=settings.PERIODIC_INTERVAL_SECONDS)
        return due

    def _run_until(self, moment: datetime, stop: Callable[[], bool] = lambda: False) -> None:
        """Move the clock to `moment`, stopping at every due step (the sweeper runs) and every
        planned text of a simulated person, in time order."""
        while not stop():
            step_due = self._next_step_due()
            event_due = self.events[0].at if self.events else None
            due = min((t for t in (step_due, event_due) if t is not None), default=None)
            if due is None or due > moment:
                break
            self.clock.set(max(due, self.clock.current))
            if step_due is not None and step_due <= self.clock.current:
                run_due_steps()
                self.last_sweep = self.clock.current
                self._read_outbox()
            while self.events and self.events[0].at <= self.clock.current:
                heapq.heappop(self.events).action()
                self._read_outbox()
        if not stop():
            self.clock.set(max(moment, self.clock.current))

    # --- the simulated people ------------------------------------------------------------

    def _read_outbox(self) -> None:
        """Hand every new text written for this order to the person it was written for."""
        rows = list(
            Message.objects.filter(
                id__gt=self.last_message_id or 0, direction=Direction.OUT, order=self.order
            ).order_by("id").values_list("id", "purpose", "worker_id")
        )
        if rows:
            self.last_message_id = rows[-1][0]
        reactions = {
            "offer": self._on_offer, "confirmation": self._on_confirmed,
            "reminder": self._on_reminder, "standby_call": self._on_called_in,
            "urgent_offer": self._on_urgent_offer,
        }
        for _, purpose, worker_id in rows:
            if purpose == "client_feedback":
                score = self.rng.choice(["5", "5", "4"])
                self.later(timedelta(minutes=20), partial(self._text, None, score))
            elif purpose in reactions and worker_id is not None:
                reactions[purpose](worker_id)

    def _text(self, worker_id: int | None, body: str) -> None:
        """An SMS from the worker `worker_id`, or from the client when that is None."""
        if worker_id is None:
            result = inbound_receive(provider_sid=None, sender=str(self.client.phone), body=body)
            self.client_texts.append(_ClientText(self.clock.current, body, result.reply or ""))
            return
        worker = Worker.objects.get(pk=worker_id)
        before = (worker.rating, worker.reliability)
        result = inbound_receive(provider_sid=None, sender=str(worker.phone), body=body)
        worker.refresh_from_db(fields=["rating", "reliability"])
        after = (worker.rating, worker.reliability)
        self.texts.append(_Text(self.clock.current, worker, body, result.reply or "",
                                before, after))

    def _word(self, worker_id: int, meaning: str) -> str:
        """The text a worker sends for `meaning`, in their language, as people type it."""
        code = self.order.code
        russian = Worker.objects.filter(pk=worker_id, language="ru").exists()
        words = {
            "yes": [f"ДА {code}", f"да {code}", "Да"] if russian else [f"YES {code}", "yes"],
            "no": [f"НЕТ {code}", "нет"] if russian else [f"NO {code}", "no"],
            "here": [f"ТУТ {code}"] if russian else [f"HERE {code}"],
            "cancel": [f"ОТМЕНА {code}"] if russian else [f"CANCEL {code}"],
        }[meaning]
        return self.rng.choice(words)

    def _reliability(self, worker_id: int) -> float:
        return Worker.objects.values_list("reliability", flat=True).get(pk=worker_id)

    def _on_offer(self, worker_id: int) -> None:
        # A worker's habits show in their record: reliable people answer, and say yes.
        reliability = self._reliability(worker_id)
        if self.rng.random() > 0.35 + 0.5 * reliability:
            return  # stays silent
        word = self._word(worker_id, "yes" if self.rng.random() < 0.3 + 0.4 * reliability
                          else "no")
        delay = timedelta(seconds=self.rng.uniform(30, 540))

        def answer() -> None:
            # Someone already told the order is full does not answer any more.
            if self.order.offers.filter(worker_id=worker_id, state=Offer.State.OFFERED,
                                        response__isnull=True).exists():
                self._text(worker_id, word)

        self.later(delay, answer)

    def _on_confirmed(self, worker_id: int) -> None:
        plan = _Plan(comes=self.rng.random() < self._reliability(worker_id))
        self.plans[worker_id] = plan
        if self.rng.random() < WITHDRAW_RATE:
            plan.comes, plan.withdraws = False, True
            evening, final = self._reminder_times()
            span = (final - evening).total_seconds() - 2400
            moment = evening + timedelta(seconds=1200 + self.rng.uniform(0, max(span, 0)))
            self.at(moment, lambda: self._text(worker_id, self._word(worker_id, "cancel")))
            return
        late = self.rng.random() < 0.1
        offset = self.rng.uniform(16, 25) if late else self.rng.uniform(-40, 10)
        self._arrive(worker_id, plan, self.start + timedelta(minutes=offset))

    def _arrive(self, worker_id: int, plan: _Plan, moment: datetime) -> None:
        def check_in() -> None:
            if plan.comes:
                self._text(worker_id, self._word(worker_id, "here"))

        self.at(moment, check_in)

    def _on_reminder(self, worker_id: int) -> None:
        plan = self.plans.get(worker_id)
        if plan is None or plan.withdraws:
            return
        # Those who mean to come mostly answer; those who do not mostly stay silent.
        if self.rng.random() < (0.9 if plan.comes else 0.3):
            word = self._word(worker_id, "yes")
            self.later(timedelta(minutes=self.rng.uniform(2, 45)),
                       lambda: self._text(worker_id, word))

    def _on_called_in(self, worker_id: int) -> None:
        plan = _Plan(comes=self.rng.random() < 0.9)
        self.plans[worker_id] = plan
        word = self._word(worker_id, "yes")
        self.later(timedelta(minutes=self.rng.uniform(3, 8)), lambda: self._text(worker_id, word))
        on_time = self.start + timedelta(minutes=self.rng.uniform(-30, 5))
        on_the_way = self.clock.current + timedelta(minutes=self.rng.uniform(25, 45))
        self._arrive(worker_id, plan, max(on_time, on_the_way))

    def _on_urgent_offer(self, worker_id: int) -> None:
        if self.rng.random() >= 0.4:
            return
        word = self._word(worker_id, "yes")

        def answer() -> None:
            self._text(worker_id, word)
            if self.order.offers.filter(worker_id=worker_id,
                                        state=Offer.State.CONFIRMED).exists():
                plan = self.plans[worker_id] = _Plan(comes=True)
                self._arrive(worker_id, plan, self.clock.current
                             + timedelta(minutes=self.rng.uniform(25, 45)))

        self.later(timedelta(minutes=self.rng.uniform(2, 8)), answer)

    def _someone_will_not_come(self) -> None:
        """At least one booked worker does not come (the story is about what happens then):
        if nobody's habits already say so, the seeded generator picks one."""
        crew = sorted(self.order.offers.filter(state=Offer.State.CONFIRMED)
                      .values_list("worker_id", flat=True))
        staying = [w for w in crew if w in self.plans and not self.plans[w].withdraws]
        if staying and all(self.plans[w].comes for w in staying):
            self.plans[self.rng.choice(staying)].comes = False

    # --- reading back --------------------------------------------------------------------

    def _reminder_times(self) -> tuple[datetime, datetime]:
        due = dict(
            Step.objects.filter(order=self.order, kind__in=[
                Step.Kind.REMINDER_EVENING, Step.Kind.REMINDER_FINAL,
            ]).values_list("kind", "due_at")
        )
        final = due[Step.Kind.REMINDER_FINAL]
        return due.get(Step.Kind.REMINDER_EVENING, final - timedelta(hours=10)), final

    def _sent(self, purpose: str, since: datetime | None = None,
              until: datetime | None = None) -> list[Message]:
        messages = Message.objects.filter(order=self.order, direction=Direction.OUT,
                                          purpose=purpose).select_related("worker")
        if since is not None:
            messages = messages.filter(created_at__gte=since)
        if until is not None:
            messages = messages.filter(created_at__lt=until)
        return list(messages.order_by("id"))

    def _russian_sample(self, messages: list[Message]) -> Message | None:
        """A text as a Saint Petersburg worker reads it: a Russian one where there is one."""
        russian = [m for m in messages if m.worker and m.worker.language == "ru"]
        shown = russian or messages
        return shown[0] if shown else None

    def _quote(self, label: str, message: Message | None) -> None:
        if message is not None:
            self.say(f'  {label} ({message.segments} segment(s), {message.encoding}): '
                     f'"{message.body}"')

    def _texts(self, since: datetime, until: datetime, words: tuple[str, ...]) -> list[_Text]:
        return [t for t in self.texts if since <= t.at < until
                and t.body.upper().split()[0].strip(".!") in words]

    @staticmethod
    def _figures(pair: tuple[float, float]) -> str:
        return f"rating {pair[0]:.2f}, reliability {pair[1]:.2f}"

    # --- the chapters --------------------------------------------------------------------

    def tell(self) -> None:
        self.say(f"ONE ORDER'S STORY at {self.franchise.name}, told by the real services on a "
                 f"virtual clock.")
        self.say(f"Every time is the office's local time ({self.franchise.timezone}); workers' "
                 f"and the client's texts are simulated from --seed {self.options['seed']}.")
        self._placed()
        callout_began = self.clock.current
        self._run_until(callout_began + timedelta(hours=3),
                        stop=lambda: self._status() != Order.Status.CALLING)
        self._waves()
        self._replies(callout_began)
        self._assignment()
        self._someone_will_not_come()
        self._reminders()
        self._on_site()
        self._completion()
        self._feedback()

    def _status(self) -> str:
        self.order.refresh_from_db(fields=["status"])
        return self.order.status

    def _placed(self) -> None:
        headcount, policy = self.options["headcount"], self.options["policy"]
        quote = rate_quote(franchise=self.franchise, work_type="loading",
                           conditions=self.site.conditions, headcount=headcount, hours=HOURS,
                           start=self.start)
        with transaction.atomic():
            order = order_place(client=self.client, site=self.site, work_type="loading",
                                headcount=headcount, start=self.start, hours=HOURS,
                                overbook_policy=policy)
            self.order = callout_start(order=order)
        order = self.order
        self.say(f"\n1. THE ORDER  (placed {self.day(self.clock.current)})")
        self.say(f"  {self.client.name} needs {order.headcount} loaders at {self.site.address} "
                 f"({self.site.get_conditions_display().lower()}),")
        self.say(f"  start {self.day(order.start)}, {_plain(order.hours)} h. "
                 f"Order code {order.code}.")
        self.say(f"  Quote from the rate card: bill {order.bill_rate}/h, pay {order.pay_rate}/h "
                 f"({'; '.join(quote.breakdown)});")
        self.say(f"  {quote.total_bill} for the whole crew of {order.headcount}.")
        if order.overbook_policy == Order.Policy.FIXED:
            why = (f"fixed policy, the house rule ceil({_plain(self.franchise.booking_ratio)} x "
                   f"{order.headcount}):\n  about a third of those booked usually drop out")
        else:
            why = (f"adaptive policy: the fewest best\n  candidates whose chance that at least "
                   f"{order.headcount} turn up reaches "
                   f"{settings.DISPATCH['ADAPTIVE_SHOW_TARGET']:.0%}, each one's from their record")
        self.say(f"  Booking target: {order.booking_target} workers for {order.headcount} "
                 f"places ({why}).")

    def _waves(self) -> None:
        radii = settings.DISPATCH["WAVE_RADII_KM"]
        self.say("\n2. CALL-OUT WAVES  (the best-ranked free workers first; the radius grows "
                 "wave by wave)")
        offers = self.order.offers.order_by("wave", "sent_at")
        for wave, count in sorted(Counter(offers.values_list("wave", flat=True)).items()):
            sent_at = offers.filter(wave=wave).values_list("sent_at", flat=True).first()
            self.say(f"  {self.hm(sent_at)}  wave {wave}: {count} offers, within "
                     f"{radii[min(wave, len(radii)) - 1]:g} km")
        self._quote("Offer SMS as a worker sees it",
                    self._russian_sample(self._sent("offer")))

    def _replies(self, since: datetime) -> None:
        offers = self.order.offers.all()
        total = offers.count()
        yes = offers.filter(response=Offer.Response.ACCEPTED).count()
        no = offers.filter(response=Offer.Response.DECLINED).count()
        self.order.refresh_from_db(fields=["filled_at"])
        why = "the order filled" if self.order.filled_at else "the call-out stopped"
        self.say(f"\n3. REPLIES  (tally at {self.hm(self.clock.current)}, when {why})")
        self.say(f"  Of {total} offered: {yes} answered yes, {no} answered no, "
                 f"{total - yes - no} stayed silent.")
        replies = [t for t in self.texts if t.at >= since]
        sample = sorted(self.rng.sample(replies, min(SAMPLE_SIZE, len(replies))),
                        key=lambda t: t.at)
        self.say(f"  A sample of {len(sample)} of the {len(replies)} replies "
                 f"(the worker's SMS -> the automatic answer):")
        for text in sample:
            self.say(f'    {self.hm(text.at)}  {text.worker.name:<20} "{text.body}" -> '
                     f'"{text.reply}"')

    def _assignment(self) -> None:
        order = self.order
        self.say("\n4. BATCH ASSIGNMENT  (acceptors onto every open order of the office at once:")
        self.say("   most places filled first, then the cheapest crew by distance, rating and "
                 "reliability)")
        crew = order.offers.filter(state=Offer.State.CONFIRMED).select_related("worker")
        for moment, count in sorted(Counter(crew.values_list("confirmed_at", flat=True)).items()):
            self.say(f"  {self.hm(moment)}  batch: {count} confirmed")
        order.refresh_from_db()
        filled = (f"filled at {self.hm(order.filled_at)}" if order.filled_at
                  else f"still {order.get_status_display().lower()}")
        self.say(f"  Crew: {crew.count()} of {order.booking_target} booked, order {filled}:")
        self.say(f"    {'worker':<22} {'km':>5} {'rating':>6} {'reliab.':>7}")
        for offer in crew.order_by("cost", "id"):
            worker = offer.worker
            self.say(f"    {worker.name:<22} {offer.distance_km:5.1f} {worker.rating:6.2f} "
                     f"{worker.reliability:7.2f}")
        standby = order.offers.filter(state=Offer.State.STANDBY).count()
        released = Counter(order.offers.filter(state=Offer.State.RELEASED)
                           .values_list("response", flat=True))
        self.say(f"  Standby: {standby}. Released: {sum(released.values())} "
                 f"({released[Offer.Response.DECLINED]} who said no, "
                 f"{released[Offer.Response.ACCEPTED]} yes but not needed,")
        self.say(f"  {released[None]} silent, told the order is full). "
                 f"Texts in the worker's language:")
        for purpose, label in (("confirmation", "Confirmation"), ("standby", "Standby"),
                               ("release", "Release")):
            self._quote(label, self._russian_sample(self._sent(purpose)))

    def _reminders(self) -> None:
        evening, final = self._reminder_times()
        silence = self.start - timedelta(minutes=settings.DISPATCH["SILENCE_CHECK_MINUTES"])
        self._run_until(silence)
        self.say("\n5. REMINDERS  (the evening before and two hours before: YES re-confirms)")
        for label, since, until in (("evening reminder", evening, final),
                                    ("two-hour reminder", final, silence)):
            self._reminder(label, since, until)
        called = self._sent("standby_call", since=silence, until=silence + timedelta(seconds=1))
        silent = self.order.offers.filter(state=Offer.State.CONFIRMED,
                                          reconfirmed_at__isnull=True,
                                          confirmed_at__lt=silence).count()
        standby_left = self.order.offers.filter(state=Offer.State.STANDBY).count()
        if self.order.overbook_policy == Order.Policy.FIXED:
            rule = "one standby is called in beside each"
        else:
            rule = "standby are called while the crew's chance of showing is short"
        self.say(f"  {self.hm(silence)}  silence check: {silent} booked worker(s) answered "
                 f"neither reminder;")
        self.say(f"         {rule}: {len(called)} called in, {standby_left} standby left.")
        self._quote("Call-in SMS", self._russian_sample(called))

    def _reminder(self, label: str, since: datetime, until: datetime) -> None:
        sent = self._sent("reminder", since=since, until=until)
        if not sent:
            return
        reminded = {m.worker_id for m in sent}
        yes = {t.worker.pk for t in self._texts(since, until, ("ДА", "YES"))} & reminded
        withdrawals = [t for t in self._texts(since, until, ("ОТМЕНА", "CANCEL"))
                       if t.worker.pk in reminded]
        self.say(f"  {self.hm(since)}  {label} to {len(sent)}: {len(yes)} answered yes, "
                 f"{len(withdrawals)} withdrew, {len(reminded) - len(yes) - len(withdrawals)} "
                 f"silent.")
        self._quote("Reminder SMS", self._russian_sample(sent))
        for text in withdrawals:
            notice = self.start - text.at
            self.say(f'  {self.hm(text.at)}  {text.worker.name} texted "{text.body}" '
                     f'({notice.total_seconds() / 3600:.1f} h notice) -> "{text.reply}"')
            label = "penalty" if text.after != text.before else "no penalty"
            self.say(f"         {label}: {self._figures(text.before)} -> "
                     f"{self._figures(text.after)}")
            for message in self._sent("standby_call", since=text.at,
                                      until=text.at + timedelta(seconds=1)):
                who = message.worker.name if message.worker else message.phone
                self.say(f'         standby {who} called in: "{message.body}"')

    def _on_site(self) -> None:
        grace = self.start + timedelta(minutes=settings.DISPATCH["NO_SHOW_GRACE_MINUTES"])
        self._run_until(grace - timedelta(seconds=1))
        missing = {
            offer.worker_id: (offer.worker.rating, offer.worker.reliability)
            for offer in self.order.offers.filter(
                state=Offer.State.CONFIRMED, attendance__isnull=True
            ).select_related("worker")
        }
        self._run_until(grace)
        self.say(f"\n6. ON SITE  (start {self.day(self.start)}; workers text HERE / ТУТ)")
        check_ins = self._texts(self.start - timedelta(hours=1), grace, ("ТУТ", "HERE"))
        attendance = Counter(self.order.offers.values_list("attendance", flat=True))
        booked = self.order.offers.filter(state=Offer.State.CONFIRMED,
                                          confirmed_at__lt=self.start).count()
        self.say(f"  {booked} booked at the start. Check-ins by SMS before {self.hm(grace)}: "
                 f"{len(check_ins)} ({attendance[Offer.Attendance.PRESENT]} on time, "
                 f"{attendance[Offer.Attendance.LATE]} late). A sample:")
        for text in sorted(self.rng.sample(check_ins, min(3, len(check_ins))),
                           key=lambda t: t.at):
            self.say(f'    {self.hm(text.at)}  {text.worker.name:<20} "{text.body}" -> '
                     f'"{text.reply}"')
        self._no_shows(grace, missing)
        self._surplus()
        self._run_until(self.order.ends_at)
        for text in self._texts(grace, self.order.ends_at, ("ТУТ", "HERE")):
            self.say(f'  {self.hm(text.at)}  {text.worker.name} (called in) "{text.body}" -> '
                     f'"{text.reply}"')

    def _no_shows(self, grace: datetime, before: dict[int, tuple[float, float]]) -> None:
        no_shows = self.order.offers.filter(attendance=Offer.Attendance.NO_SHOW
                                            ).select_related("worker")
        self.say(f"  {self.hm(grace)}  no-show check (start + grace, run by the sweeper): "
                 f"{no_shows.count()} no-show(s),")
        self.say("         each one's figures drop at once:")
        for offer in no_shows:
            worker = offer.worker
            self.say(f"    {worker.name}: {self._figures(before[worker.pk])} -> "
                     f"{self._figures((worker.rating, worker.reliability))}")
        present = self.order.offers.filter(attendance__in=[
            Offer.Attendance.PRESENT, Offer.Attendance.LATE]).count()
        called = self._sent("standby_call", since=grace, until=grace + timedelta(seconds=1))
        urgent = self._sent("urgent_offer", since=grace, until=grace + timedelta(seconds=1))
        if not called and not urgent:
            self.say(f"  {present} present for {self.order.headcount} places: no gap, so nobody "
                     f"is called in (standby and")
            self.say("  urgent offers go out only for places short; the over-booking covered it).")
            return
        self.say(f"  {present} present for {self.order.headcount} places: {len(called)} "
                 f"standby called in, {len(urgent)} urgent offers to free workers nearby.")
        self._quote("Call-in SMS", self._russian_sample(called))
        self._quote("Urgent offer SMS", self._russian_sample(urgent))

    def _surplus(self) -> None:
        """The foreman's crew page once the headcount is present: those beyond it go home
        with the show-up fee unless the client keeps them. Here the client keeps one when
        two or more are extra; the foreman sends the others home (an SMS says the fee)."""
        split, _ = crew_split_of(self.order)
        going = list(split.sent_home)
        headcount, fee = self.order.headcount, self.franchise.show_up_fee
        if not going:
            self.say(f"  Nobody beyond the {headcount} ordered: nobody is sent home.")
            return
        names = dict(Worker.objects.filter(pk__in=going).values_list("pk", "name"))
        self.say(f"  {self.hm(self.clock.current)}  the foreman's crew page: the {headcount} "
                 f"ordered are present; {len(going)} beyond them go home with the show-up "
                 f"fee ({fee})")
        self.say("         unless the client asks to keep them: the client pays for the crew it "
                 "ordered.")
        if len(going) >= 2:
            kept = going.pop(0)
            surplus_keep(order=self.order, worker_id=kept, kept=True)
            self.say(f"         The client asks to keep {names[kept]}: Keep (billed and paid the "
                     f"hours; the invoice line says so).")
        for worker_id in going:
            surplus_send_home(order=self.order, worker_id=worker_id)
        self.say(f"         Sent home: {', '.join(names[w] for w in going)}.")
        self._quote("Send-home SMS", self._russian_sample(self._sent("sent_home")))

    def _completion(self) -> None:
        self._run_until(self.order.ends_at + timedelta(minutes=15))
        self.order = order_complete(order=self.order)  # what the API's complete/ calls
        self._read_outbox()
        self.say(f"\n7. COMPLETION  ({self.day(self.clock.current)}, order_complete)")
        worked = self.order.offers.filter(hours_worked__gt=0).count()
        self.say(f"  Hours confirmed for the {worked} who stayed (the shift's "
                 f"{_plain(self.order.hours)} h unless the foreman recorded others).")
        self.say(f"  The client pays for its crew: at most the {self.order.headcount} ordered "
                 f"(the longest hours first), plus those it kept.")
        turnover = self._lines("Invoice lines", InvoiceLine, "basis", {
            InvoiceLine.Basis.HEADCOUNT: f"within the {self.order.headcount} ordered",
            InvoiceLine.Basis.KEPT: "kept at the client's request",
        })
        self._lines("Pay lines", PayLine, "kind", {
            PayLine.Kind.HOURS: "hours", PayLine.Kind.SHOW_UP_FEE: "show-up fee (sent home)",
            PayLine.Kind.STANDBY_FEE: "standby fee (never called)",
        })
        books = order_books(order=self.order)
        money = books.money
        self.say(f"  Over-booking cost: {books.sent_home} show-up fee(s) and {books.standby} "
                 f"standby fee(s) = {money.overbooking_cost}"
                 + ("" if books.standby else
                    f" (no standby was left uncalled; one never called gets "
                    f"{self.franchise.standby_fee})") + ".")
        self.say(f"  Margin (billed - paid - fees): {money.billed} - {money.paid} - "
                 f"{money.overbooking_cost} = {money.margin}.")
        rate = self.franchise.royalty_rate
        royalty, _ = pricing.royalty(turnover, rate, self.franchise.monthly_fee)
        self.say(f"  Turnover {turnover}; royalty to HQ {_plain(rate * 100)} % of it = {royalty} "
                 f"(on turnover, not on the margin).")
        period = period_of(self.order.start, self.franchise.timezone)
        month = statement_figures(franchise=self.franchise, period=period)
        self.say(f"  {self.franchise.name}, {period} so far: turnover {month['turnover']:.2f}, "
                 f"royalty {month['royalty']:.2f}")
        self.say(f"  (the month's statement adds the fixed fee, {self.franchise.monthly_fee}).")

    def _lines(self, label: str, model: Any, field: str, names: dict[str, str]) -> Decimal:
        """Print the order's billing lines of `model`, grouped by their basis or kind
        (`field`, named by `names`), hours and rate; their sum."""
        count: Counter[tuple[str, Decimal, Decimal]] = Counter()
        for line in model.objects.filter(order=self.order):
            count[(getattr(line, field), line.hours, line.rate)] += 1
        total = sum(model.objects.filter(order=self.order).values_list("amount", flat=True),
                    Decimal(0))
        order = list(names)
        parts = ", ".join(
            f"{n} x {_plain(hours)} h x {rate} {names[kind]}" if hours else
            f"{n} x {rate} {names[kind]}"
            for (kind, hours, rate), n in sorted(count.items(),
                                                 key=lambda item: order.index(item[0][0]))
        )
        self.say(f"  {label + ':':<15}{parts or 'none'} = {total}")
        return total

    def _feedback(self) -> None:
        asked = self._sent("client_feedback")
        self.say("\n8. CLIENT FEEDBACK")
        if not asked:
            self.say("  Nobody came, so the client is not asked to score the crew.")
            return
        self.say(f'  {self.hm(asked[0].created_at)}  SMS to the client: "{asked[0].body}"')
        self._run_until(self.clock.current + timedelta(hours=1))
        for text in self.client_texts:
            self.order.refresh_from_db(fields=["client_score"])
            self.say(f'  {self.hm(text.at)}  the client answers "{text.body}" -> "{text.reply}"')
            self.say(f"         (a client score of {self.order.client_score} for each worker "
                     f"who came)")
