"""`python manage.py seed_demo`: the demo network, safe to run again and again.

HQ, three official offices with territories, five brand franchises, 3,000 workers around
those cities with varied histories, 30 clients with sites, and one login per role; then eight
weeks of completed orders (`demo.history`, not with --no-history) and a few live orders for
the coming day in each official office that has none ahead (`demo.live`, not with
--no-live).

A worker's history is real rating events (shows, late arrivals, no-shows and foreman's scores)
from before the eight weeks of orders, and the figures on the worker row are the ratings model's
replay of exactly those events, so the first real event, or a recompute after an appeal, carries
the seeded record on instead of starting again from the priors.
"""

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from clients.models import Client, Conditions, Site
from core import clock
from demo.history import history_start, load_history, past_events_write, past_figures_set
from demo.live import place_live_orders
from demo.network import DEMO_CITIES, territory_box
from franchises.models import Franchise, User
from franchises.services import franchise_save
from ratings import scoring
from workers.models import Interview, Skill, Worker

DEMO_PASSWORD = "demo12345"
# (username, role, franchise key or None, superuser)
DEMO_LOGINS = (
    ("admin", User.Role.HQ, None, True),
    ("operator", User.Role.HQ, None, False),
    ("spb", User.Role.FRANCHISE, "spb", False),
    ("nsk", User.Role.FRANCHISE, "nsk", False),
    ("kazan", User.Role.FRANCHISE, "kazan", False),
    ("foreman", User.Role.FOREMAN, "spb", False),
)

FIRST_NAMES = ("Ivan", "Sergey", "Alexey", "Dmitry", "Andrey", "Nikolay", "Pavel", "Oleg",
               "Timur", "Rustam", "Farkhod", "Aziz", "Maksim", "Artem", "Roman", "Ilya",
               "Yuri", "Viktor", "Marat", "Denis", "Olga", "Anna", "Elena", "Gulnara")
LAST_NAMES = ("Ivanov", "Petrov", "Sidorov", "Smirnov", "Kuznetsov", "Popov", "Sokolov",
              "Lebedev", "Kozlov", "Novikov", "Morozov", "Volkov", "Alekseev", "Karimov",
              "Rakhimov", "Nazarov", "Yusupov", "Galiev", "Khabibullin", "Orlov")
CLIENT_NAMES = ("Lenta", "Magnit", "Pyaterochka", "Hoff", "Leroy Merlin", "Petrovich",
                "Ozon warehouse", "Wildberries hub", "Stroy Market", "Metro C&C")
WORK_SKILLS = (Skill.LOADING, Skill.MOVING, Skill.GENERAL, Skill.SNOW_CLEARING, Skill.ROOFING,
               Skill.CLEANING)

# The shape of a seeded past shift, as the eight weeks of history make them: attendance is
# recorded 40 minutes after the start, the foreman's score half an hour after the end.
PAST_SHIFT_STARTS = (5, 6, 7, 10)  # hour of the day, UTC
PAST_SHIFT_HOURS = (4, 6, 8)
PAST_LATE_SHARE = 0.08  # of the shifts a worker came to, as in the history
# Of the shifts a worker came to, the foreman scored this share (the history scores up to three
# of a crew of 3-12).
PAST_SCORED_SHARE = 0.6
PAST_SCORE_SPREAD = 0.8  # a score's standard deviation around the worker's quality, in stars


@dataclass(frozen=True)
class DemoRecord:
    """A demo worker's hidden propensities, drawn with the worker; turned into events only for
    workers this run creates."""

    came: tuple[bool, ...]  # one entry per past shift the worker was confirmed for, in order
    quality: float  # 1-5: what the foreman's scores scatter around


class Command(BaseCommand):
    help = "Load the demo network (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--quiet", action="store_true", help="print only the logins")
        parser.add_argument(
            "--no-history", action="store_true",
            help="skip the eight weeks of completed orders (faster, for tests)",
        )
        parser.add_argument(
            "--no-live", action="store_true",
            help="place no live orders for the coming day",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        rng = random.Random(options["seed"])
        with transaction.atomic():
            franchises = self._franchises()
            self._logins(franchises)
            created_workers = self._workers(rng, seed=options["seed"])
            created_clients = self._clients(rng, franchises)
        history = 0
        if not options["no_history"]:
            history = load_history(seed=options["seed"])
        # After the history: the live orders' workers are then judged on their past shifts.
        live = 0 if options["no_live"] else place_live_orders(seed=options["seed"])
        if not options["quiet"]:
            self.stdout.write(
                f"Demo network: {Franchise.objects.count()} franchises, "
                f"{Worker.objects.count()} workers ({created_workers} new), "
                f"{Client.objects.count()} clients ({created_clients} new), "
                f"{history} past orders made, {live} live orders placed."
            )
        self.stdout.write(f"Logins (password for all: {DEMO_PASSWORD}):")
        for username, role, key, superuser in DEMO_LOGINS:
            where = f" - {franchises[key].name}" if key else ""
            admin = ", Django admin" if superuser else ""
            self.stdout.write(f"  {username:<9} {role}{where}{admin}")

    def _franchises(self) -> dict[str, Franchise]:
        hq, _ = Franchise.objects.get_or_create(
            kind=Franchise.Kind.HQ,
            defaults={"name": "Headquarters", "city": "Moscow", "timezone": "Europe/Moscow"},
        )
        franchises = {"hq": hq}
        for index, city in enumerate(DEMO_CITIES, start=1):
            franchise = Franchise.objects.filter(name=city.franchise).first()
            if franchise is None:
                franchise = franchise_save(
                    franchise=Franchise(
                        name=city.franchise,
                        kind=city.kind,
                        city=city.city,
                        timezone=city.timezone,
                        territory=territory_box(city),
                        monthly_fee=0 if city.kind == "official_office" else 15000,
                        manager_phone=f"+7903{index:07d}",
                    )
                )
            franchises[city.key] = franchise
        return franchises

    def _logins(self, franchises: dict[str, Franchise]) -> None:
        # Hashed once for all the logins: PBKDF2 costs a quarter of a second a hash, and the
        # demo password is the same (and printed) for every one of them anyway.
        password_hash = ""
        for username, role, key, superuser in DEMO_LOGINS:
            if User.objects.filter(username=username).exists():
                continue
            password_hash = password_hash or make_password(DEMO_PASSWORD)
            user = User(
                username=username,
                role=role,
                franchise=franchises[key] if key else None,
                is_superuser=superuser,
                is_staff=superuser or role == User.Role.HQ,
            )
            user.password = password_hash
            user.save()

    def _workers(self, rng: random.Random, *, seed: int) -> int:
        now = clock.now()
        past_ends = history_start(now) - timedelta(days=1)
        existing = set(Worker.objects.values_list("phone", flat=True))
        existing = {str(phone) for phone in existing}
        new_workers: list[Worker] = []
        past: dict[str, list[scoring.Event]] = {}
        serial = 0
        for city in DEMO_CITIES:
            lng_scale = max(math.cos(math.radians(city.lat)), 0.1)
            for _ in range(city.workers):
                serial += 1
                phone = f"+7901{serial:07d}"
                # Draw every value even for existing workers, so reruns stay deterministic.
                worker, record = self._demo_worker(rng, city, lng_scale, phone, now)
                if phone in existing:
                    continue
                # A generator of its own per worker: the main sequence (and so the rest of the
                # network) does not depend on how many events each past needed.
                events = _past_events(
                    random.Random(f"{seed}:{phone}"), record, worker.vetted_at, past_ends
                )
                past_figures_set(worker, events, now=now)
                past[phone] = events
                new_workers.append(worker)
        Worker.objects.bulk_create(new_workers, batch_size=1000)
        # Re-read rather than trust bulk_create to fill in primary keys: not every backend does.
        ids = {
            str(phone): pk
            for phone, pk in Worker.objects.filter(
                phone__in=[w.phone for w in new_workers]
            ).values_list("phone", "id")
        }
        Interview.objects.bulk_create(
            [
                Interview(worker_id=ids[str(w.phone)], outcome=Interview.Outcome.PASSED,
                          at=w.vetted_at, notes="Demo: interviewed at the mobile office.")
                for w in new_workers
                if w.vetted_at is not None
            ],
            batch_size=1000,
        )
        past_events_write(
            [(ids[phone], event, None) for phone, events in past.items() for event in events]
        )
        return len(new_workers)

    @staticmethod
    def _demo_worker(
        rng: random.Random, city: Any, lng_scale: float, phone: str, now: datetime
    ) -> tuple[Worker, DemoRecord]:
        """The worker row (figures still the priors) and the propensities behind its record."""
        lat = city.lat + rng.gauss(0, city.half / 2.5)
        lng = city.lng + rng.gauss(0, city.half / 2.5) / lng_scale
        skills = set(rng.sample(WORK_SKILLS, k=rng.choice((1, 1, 2, 2, 3))))
        if rng.random() < 0.06:
            skills.add(Skill.FOREMAN)
        if rng.random() < 0.08:
            skills.add(Skill.DRIVER)
        roll = rng.random()
        if roll < 0.84:
            status = Worker.Status.ACTIVE
        elif roll < 0.93:
            status = Worker.Status.APPLICANT
        elif roll < 0.98:
            status = Worker.Status.SUSPENDED
        else:
            status = Worker.Status.BLOCKED
        # A hidden show-up propensity and quality give each worker a believable record.
        show_rate = min(0.99, max(0.2, rng.betavariate(7, 2.5)))
        shifts = 0 if status == Worker.Status.APPLICANT else int(rng.expovariate(1 / 25))
        came = tuple(rng.random() <= show_rate for _ in range(shifts))
        quality = min(5.0, max(1.0, rng.gauss(4.1, 0.5)))
        worker = Worker(
            name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            phone=phone,
            lat=round(lat, 6),
            lng=round(lng, 6),
            home_area=city.city,
            skills=sorted(skills),
            status=status,
            language=Worker.Language.RU if rng.random() < 0.92 else Worker.Language.EN,
            vetted_at=None if status == Worker.Status.APPLICANT
            else now - timedelta(days=rng.randint(30, 700)),
        )
        return worker, DemoRecord(came=came, quality=quality)

    def _clients(self, rng: random.Random, franchises: dict[str, Franchise]) -> int:
        created = 0
        serial = 0
        for city in DEMO_CITIES:
            lng_scale = max(math.cos(math.radians(city.lat)), 0.1)
            for index in range(city.clients):
                serial += 1
                name = f"{CLIENT_NAMES[(serial - 1) % len(CLIENT_NAMES)]} {city.city} #{index + 1}"
                client, was_created = Client.objects.get_or_create(
                    name=name,
                    defaults={
                        "franchise": franchises[city.key],
                        "phone": f"+7902{serial:07d}",
                        "email": f"logistics{serial}@example.com",
                    },
                )
                created += was_created
                lat = city.lat + rng.uniform(-0.6, 0.6) * city.half
                lng = city.lng + rng.uniform(-0.6, 0.6) * city.half / lng_scale
                if was_created:
                    for site_index in range(rng.choice((1, 1, 2))):
                        Site.objects.create(
                            client=client,
                            address=f"{city.city}, warehouse {serial}-{site_index + 1}",
                            lat=round(lat + site_index * 0.01, 6),
                            lng=round(lng, 6),
                            conditions=rng.choice(Conditions.values),
                        )
        return created


def _past_events(
    rng: random.Random, record: DemoRecord, vetted_at: datetime | None, past_ends: datetime
) -> list[scoring.Event]:
    """The rating events of a worker's past shifts, in time order: at most one shift a day,
    from the day after vetting to `past_ends`. A worker vetted too recently to have worked
    before then has no past (the history may still give them shifts)."""
    if vetted_at is None or not record.came:
        return []
    first_day = (vetted_at + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    days = (past_ends - first_day).days
    if days <= 0:
        return []
    came = record.came[:days]
    events: list[scoring.Event] = []
    for day, showed in zip(sorted(rng.sample(range(days), k=len(came))), came, strict=True):
        start = first_day + timedelta(days=day, hours=rng.choice(PAST_SHIFT_STARTS))
        recorded = start + timedelta(minutes=40)
        if not showed:
            events.append(scoring.Event(scoring.EventKind.NO_SHOW, recorded))
            continue
        late = rng.random() < PAST_LATE_SHARE
        kind = scoring.EventKind.LATE if late else scoring.EventKind.SHOW
        events.append(scoring.Event(kind, recorded))
        if rng.random() < PAST_SCORED_SHARE:
            score = round(rng.gauss(record.quality, PAST_SCORE_SPREAD))
            scored = start + timedelta(hours=rng.choice(PAST_SHIFT_HOURS), minutes=30)
            events.append(scoring.Event(scoring.EventKind.SCORE, scored, min(5, max(1, score)),
                                      scoring.ScoreSource.FOREMAN))
    return events


