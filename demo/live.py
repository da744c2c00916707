"""Live orders for the demo network: work for the coming day, placed at the real current time.

The eight weeks of history are all completed, so without these the board and the foreman's
crew page would open empty, and the phone simulator would hold only weeks-old texts. Each
official office gets a few orders starting tomorrow morning (and one this evening while there
is still time to staff it), placed, called out and assigned by the real services, and answered
by the invited workers with SMS through the inbound path (`ДА K7Q`, `НЕТ K7Q`), as if the
office had been at it for a while:

- one has filled: a confirmed crew, usually standby behind it, the rest told they are not
  needed;
- one is partly booked: the quickest to answer are confirmed, the call-out goes on;
- one has only just started calling: a few yeses wait for the office's next batch.

What comes next is not done here: the next waves, the pending batch, the reminders and the
no-show checks are ordinary timed steps that the server's sweeper runs when their time comes. The
replies are drawn from `seed` and each worker's reliability, as the history's are.
"""

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction

from clients.models import Client
from core import clock
from dispatch.models import Offer, Order
from dispatch.services import assignment_run, callout_start, order_place, wave_next
from franchises.models import Franchise, User
from messaging.services import inbound_receive
from workers.models import Worker


class Stage:
    """How far an order's call-out has come by the time the demo opens."""

    CALLING = "calling"  # wave 1 out, a few answers in, the batch not yet run
    PARTLY_BOOKED = "partly_booked"  # the quickest to say yes are confirmed, still calling
    FILLED = "filled"  # crew confirmed, standby chosen from the spare yeses


@dataclass(frozen=True)
class LiveOrder:
    """One live order of an office: its start in local time, size, policy and stage."""

    days_ahead: int  # 0 today, 1 tomorrow (the office's local days)
    hour: int  # local start
    hours: int
    headcount: int
    policy: str
    work_type: str
    stage: str


# Tomorrow morning's shifts overlap, so a worker booked on one is not offered the next; the
# filled one goes first and takes the best-placed workers.
TOMORROW = (
    LiveOrder(1, 8, 8, 6, Order.Policy.FIXED, "loading", Stage.FILLED),
    LiveOrder(1, 9, 6, 10, Order.Policy.ADAPTIVE, "moving", Stage.PARTLY_BOOKED),
    LiveOrder(1, 10, 4, 4, Order.Policy.FIXED, "loading", Stage.CALLING),
)
# This evening's shift, placed only while the local time is before LATEST_PLACING_HOUR, so it
# starts at least five hours ahead: time for its reminders, and for someone trying the demo to
# find it on the crew page before its no-show check (half an hour after the start) runs.
THIS_EVENING = LiveOrder(0, 18, 4, 3, Order.Policy.FIXED, "general", Stage.FILLED)
LATEST_PLACING_HOUR = 13

# A partly booked order stops this many yeses short of its headcount; a just-started one has
# at most this many yeses in, and a few noes.
PARTLY_SHORT_BY = 3
CALLING_YESES = 3
CALLING_ANSWERS = 6


def _replies(
    rng: random.Random, order: Order, offers: list[Offer], stage: str, yeses_so_far: int
) -> int:
    """Text each invited worker's answer, if they have given it yet; returns the yeses.

    Whether a worker answers and says yes follows their reliability, as in the history; the
    stage says how many answers are in (all of them for a filled order).
    """
    yeses, answers = yeses_so_far, 0
    for offer in offers:
        worker = offer.worker
        # Drawn for every worker, answering or not, so the sequence does not depend on where
        # the stage cuts the answers off.
        answers_now = rng.random() < 0.3 + 0.5 * worker.reliability
        accepts = rng.random() < 0.35 + 0.4 * worker.reliability
        if not answers_now:
            continue
        if stage == Stage.PARTLY_BOOKED and accepts and yeses >= order.headcount - PARTLY_SHORT_BY:
            continue  # still thinking it over
        if stage == Stage.CALLING and (
            answers >= CALLING_ANSWERS or (accepts and yeses >= CALLING_YESES)
        ):
            continue
        word = ("ДА" if accepts else "НЕТ") if worker.language == Worker.Language.RU else (
            "YES" if accepts else "NO"
        )
        inbound_receive(provider_sid=None, sender=str(worker.phone), body=f"{word} {order.code}")
        answers += 1
        yeses += accepts
    return yeses


def _unanswered(order: Order) -> list[Offer]:
    return list(
        order.offers.filter(response__isnull=True, state=Offer.State.OFFERED)
        .select_related("worker").order_by("id")
    )


def _one_order(
    rng: random.Random, *, office: Franchise, client: Client, plan: LiveOrder, start: datetime,
    foreman: User | None,
) -> Order | None:
    site = client.sites.order_by("id").first()
    if site is None:
        return None
    with transaction.atomic():
        order = order_place(
            client=client, site=site, work_type=plan.work_type, headcount=plan.headcount,
            start=start, hours=Decimal(plan.hours), overbook_policy=plan.policy,
            foreman=foreman, notes="Demo: a live order placed by seed_demo.",
        )
        order = callout_start(order=order)
    yeses = _replies(rng, order, _unanswered(order), plan.stage, 0)
    if plan.stage == Stage.FILLED:
        # The waves the sweeper would send ten minutes apart, brought forward: a filled order
        # is one whose call-out has run its course.
        standby = max(1, math.ceil(plan.headcount * settings.DISPATCH["STANDBY_SHARE"]))
        for _ in settings.DISPATCH["WAVE_RADII_KM"][1:]:
            if yeses >= order.booking_target + standby or not wave_next(order_id=order.pk):
                break
            order.refresh_from_db()
            yeses = _replies(rng, order, _unanswered(order), plan.stage, yeses)
    if plan.stage != Stage.CALLING:
        # The franchise's batch run for this order alone: the just-started order's yeses wait
        # for the batch step their replies scheduled, due within two minutes.
        assignment_run(franchise_id=office.pk, order_ids=[order.pk])
    return order


def _start(now: datetime, zone: ZoneInfo, plan: LiveOrder) -> datetime:
    local_day = now.astimezone(zone).date() + timedelta(days=plan.days_ahead)
    return datetime(local_day.year, local_day.month, local_day.day, plan.hour, tzinfo=zone)


def place_live_orders(*, seed: int = 2026) -> int:
    """Give every official office with nothing open ahead of it a few live orders; returns how
    many were placed.

    An office that already has an open order starting in the future is left alone, so a second
    run the same day places nothing, and one days later (the earlier ones past) places fresh
    ones.
    """
    now = clock.now()
    placed = 0
    offices = Franchise.objects.filter(kind=Franchise.Kind.OFFICIAL_OFFICE).order_by("id")
    for office in offices:
        if Order.objects.filter(
            franchise=office, status__in=Order.OPEN_STATUSES, start__gt=now
        ).exists():
            continue
        clients = list(Client.objects.filter(franchise=office).order_by("id"))
        if not clients:
            continue
        foreman = (
            User.objects.filter(franchise=office, role=User.Role.FOREMAN).order_by("id").first()
        )
        zone = ZoneInfo(office.timezone)
        plans = list(TOMORROW)
        if now.astimezone(zone).hour < LATEST_PLACING_HOUR:
            plans.append(THIS_EVENING)
        # One generator per office and day: an office's orders do not depend on the others'.
        rng = random.Random(f"{seed}:live:{office.name}:{now.astimezone(zone).date()}")
        for index, plan in enumerate(plans):
            client = clients[index % len(clients)]
            start = _start(now, zone, plan)
            if _one_order(rng, office=office, client=client, plan=plan, start=start,
                          foreman=foreman) is not None:
                placed += 1
    return placed
