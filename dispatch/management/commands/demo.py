"""`python manage.py demo`: one order's story, told in the terminal.

An order for 10 loaders in Saint Petersburg goes through the real pipeline on a virtual
clock: the booking target, the SMS waves, workers' replies (simulated from each worker's
record), the batch assignment with distances and ratings, and the texts people get.
"""

import random
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from clients.models import Client
from config import clock
from dispatch.models import Offer, Order
from dispatch.services import callout_start, order_place
from dispatch.tasks import run_due_steps
from messaging.models import Direction, Message
from messaging.services import inbound_receive


class Command(BaseCommand):
    help = "Tell the story of one order, from call-out to confirmed crew."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--headcount", type=int, default=10)
        parser.add_argument("--policy", choices=["fixed", "adaptive"], default="fixed")
        parser.add_argument("--seed", type=int, default=7)

    def say(self, text: str = "") -> None:
        self.stdout.write(text)

    def handle(self, *args: Any, **options: Any) -> None:
        rng = random.Random(options["seed"])
        client = (
            Client.objects.filter(franchise__city="Saint Petersburg").order_by("id").first()
        )
        if client is None or not client.sites.exists():
            raise CommandError("Load the demo network first: python manage.py seed_demo")
        site = client.sites.order_by("id").first()
        moment = clock.now().replace(second=0, microsecond=0)
        virtual = clock.VirtualClock(moment)
        with clock.use_clock(virtual):
            self._story(rng, client, site, virtual, options)

    def _story(self, rng: random.Random, client: Client, site: Any,
               virtual: clock.VirtualClock, options: dict[str, Any]) -> None:
        start = (virtual.current + timedelta(days=1)).replace(hour=6, minute=0)
        with transaction.atomic():
            order = order_place(
                client=client, site=site, work_type="loading", headcount=options["headcount"],
                start=start, hours=Decimal(8), overbook_policy=options["policy"],
            )
            order = callout_start(order=order)
        self.say(f"ORDER {order.code}: {client.name} needs {order.headcount} loaders at "
                 f"{site.address}, {start:%d.%m %H:%M} UTC, 8 h, pay {order.pay_rate}/h.")
        self.say(f"Booking target ({order.get_overbook_policy_display()}): "
                 f"{order.booking_target} workers for {order.headcount} places.")
        sample = Message.objects.filter(order=order, purpose="offer").first()
        if sample:
            self.say(f'Offer text ({sample.segments} segment, {sample.encoding}): "{sample.body}"')
        minute = 0
        while True:
            self._wave_report(order)
            self._replies(rng, order, virtual)
            virtual.advance(timedelta(minutes=5))
            minute += 5
            run_due_steps()
            order.refresh_from_db()
            if order.status != Order.Status.CALLING or minute > 120:
                break
        self._outcome(order)

    def _wave_report(self, order: Order) -> None:
        waves = Counter(order.offers.values_list("wave", flat=True))
        accepted = order.offers.filter(response=Offer.Response.ACCEPTED).count()
        self.say(f"  {clock.now():%H:%M}  offers by wave {dict(sorted(waves.items()))}, "
                 f"{accepted} accepted so far")

    def _replies(self, rng: random.Random, order: Order, virtual: clock.VirtualClock) -> None:
        waiting = order.offers.filter(response__isnull=True, state=Offer.State.OFFERED)
        for offer in waiting.select_related("worker"):
            worker = offer.worker
            # A worker's habits show in their record: reliable people answer and say yes.
            if rng.random() > 0.35 + 0.5 * worker.reliability:
                continue
            if rng.random() < 0.25:
                continue  # will answer later, maybe
            yes = rng.random() < 0.3 + 0.4 * worker.reliability
            body = rng.choice([f"ДА {order.code}", f"yes {order.code}", "+", "Да"]) if yes \
                else rng.choice([f"НЕТ {order.code}", "no", "нет"])
            result = inbound_receive(provider_sid=None, sender=str(worker.phone), body=body)
            if rng.random() < 0.15:
                self.say(f'    {worker.name:<22} "{body}" -> "{result.reply}"')
        virtual.advance(timedelta(minutes=1))

    def _outcome(self, order: Order) -> None:
        self.say(f"Order {order.code} is {order.get_status_display().lower()}.")
        crew = order.offers.filter(state=Offer.State.CONFIRMED).select_related("worker")
        self.say(f"Confirmed crew ({crew.count()}), chosen by the optimiser:")
        self.say(f"    {'worker':<22} {'km':>5} {'rating':>6} {'reliab.':>7}")
        for offer in crew.order_by("cost"):
            w = offer.worker
            self.say(f"    {w.name:<22} {offer.distance_km:5.1f} {w.rating:6.2f} "
                     f"{w.reliability:7.2f}")
        standby = order.offers.filter(state=Offer.State.STANDBY).count()
        released = order.offers.filter(state=Offer.State.RELEASED).count()
        self.say(f"Standby: {standby}; told 'not needed' or declined: {released}.")
        texts = Counter(
            Message.objects.filter(order=order, direction=Direction.OUT)
            .values_list("purpose", flat=True)
        )
        self.say(f"SMS sent for this order: {dict(texts)}")
        for purpose in ("confirmation", "standby", "release"):
            message = Message.objects.filter(order=order, purpose=purpose).first()
            if message:
                self.say(f'  {purpose:<12} "{message.body}"')
