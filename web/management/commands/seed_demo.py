"""`python manage.py seed_demo`: the demo network, safe to run again and again.

HQ, three official offices with territories, five brand franchises, 3,000 workers around
those cities with varied histories, 30 clients with sites, and one login per role.
"""

import math
import random
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from clients.models import Client, Conditions, Site
from config import clock
from franchises.demo_network import DEMO_CITIES, territory_box
from franchises.models import Franchise, User
from franchises.services import franchise_save
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


class Command(BaseCommand):
    help = "Load the demo network (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--quiet", action="store_true", help="print only the logins")
        parser.add_argument(
            "--no-history", action="store_true",
            help="skip the eight weeks of completed orders (faster, for tests)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        rng = random.Random(options["seed"])
        with transaction.atomic():
            franchises = self._franchises()
            self._logins(franchises)
            created_workers = self._workers(rng)
            created_clients = self._clients(rng, franchises)
        history = 0
        if not options["no_history"]:
            from web.demo_history import load_history

            history = load_history(seed=options["seed"])
        if not options["quiet"]:
            self.stdout.write(
                f"Demo network: {Franchise.objects.count()} franchises, "
                f"{Worker.objects.count()} workers ({created_workers} new), "
                f"{Client.objects.count()} clients ({created_clients} new), "
                f"{history} past orders made."
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
        for username, role, key, superuser in DEMO_LOGINS:
            if User.objects.filter(username=username).exists():
                continue
            user = User(
                username=username,
                role=role,
                franchise=franchises[key] if key else None,
                is_superuser=superuser,
                is_staff=superuser or role == User.Role.HQ,
            )
            user.set_password(DEMO_PASSWORD)
            user.save()

    def _workers(self, rng: random.Random) -> int:
        now = clock.now()
        existing = set(Worker.objects.values_list("phone", flat=True))
        existing = {str(phone) for phone in existing}
        new_workers: list[Worker] = []
        serial = 0
        for city in DEMO_CITIES:
            lng_scale = max(math.cos(math.radians(city.lat)), 0.1)
            for _ in range(city.workers):
                serial += 1
                phone = f"+7901{serial:07d}"
                # Draw every value even for existing workers, so reruns stay deterministic.
                worker = self._demo_worker(rng, city, lng_scale, phone, now)
                if phone not in existing:
                    new_workers.append(worker)
        Worker.objects.bulk_create(new_workers, batch_size=1000)
        vetted = Worker.objects.filter(
            phone__in=[w.phone for w in new_workers], vetted_at__isnull=False
        )
        Interview.objects.bulk_create(
            [
                Interview(worker=w, outcome=Interview.Outcome.PASSED, at=w.vetted_at,
                          notes="Demo: interviewed at the mobile office.")
                for w in vetted
            ],
            batch_size=1000,
        )
        return len(new_workers)

    @staticmethod
    def _demo_worker(
        rng: random.Random, city: Any, lng_scale: float, phone: str, now: Any
    ) -> Worker:
        from datetime import timedelta

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
        # A hidden show-up propensity gives each worker a believable record.
        show_rate = min(0.99, max(0.2, rng.betavariate(7, 2.5)))
        shifts = 0 if status == Worker.Status.APPLICANT else int(rng.expovariate(1 / 25))
        no_shows = sum(rng.random() > show_rate for _ in range(shifts))
        completed = shifts - no_shows
        reliability = (4 + completed) / (5 + shifts)
        quality = min(5.0, max(1.0, rng.gauss(4.1, 0.5)))
        rating = max(0.0, min(5.0, quality - 0.6 * no_shows / max(1, shifts) * 5))
        return Worker(
            name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            phone=phone,
            lat=round(lat, 6),
            lng=round(lng, 6),
            home_area=city.city,
            skills=sorted(skills),
            status=status,
            language=Worker.Language.RU if rng.random() < 0.92 else Worker.Language.EN,
            rating=round(rating, 2),
            reliability=round(reliability, 4),
            shifts_completed=completed,
            no_shows=no_shows,
            vetted_at=None if status == Worker.Status.APPLICANT
            else now - timedelta(days=rng.randint(30, 700)),
        )

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
