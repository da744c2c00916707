"""Dispatch at network scale on PostgreSQL: the call-out's candidate search and the region batch.

    python -m bench.bench_dispatch [--workers 100000] [--orders 1000] [--acceptances 15000]
                                   [--repeat 5] [--calls 50] [--cap-checks 20]
                                   [--send-repeat 1] [--sends-at middle] [--seed 42] [--write]

What is measured, and why. The network shares one pool of 100,000+ workers and a region may
have a thousand open orders on a busy morning (ARCHITECTURE.md, "Scale"). Two database-bound
steps of dispatch must stay fast at that size:

1. **Candidate search** (``dispatch.selectors.candidates_for_order``), run for every call-out
   wave of every order: the pool is filtered in SQL by a latitude/longitude box, status, skill,
   opt-outs, bookings and blocks, then ranked with numpy. Measured over ``--calls`` orders at
   different sites for the searches a call-out runs (a wave at the first and third radius of
   ``WAVE_RADII_KM`` asking for the most a wave may, ``MAX_OFFERS_PER_ORDER``; an adaptive
   order's start, reading the best candidates within the widest radius for its booking
   target) and
   with the function's default ``limit`` (5,000): median and p90 wall time (goal: median
   under 50 ms), SQL time,
   queries per call, candidates returned, and whether the SQL's ranking and row cap changed the
   answer compared with an uncapped search.
2. **Region batch** (``dispatch.services.assignment.assignment_run``), which books accepted
   workers onto every open order of a franchise at once: 1,000 open orders (booking targets
   adding up to about 10,000) and 15,000 acceptances by workers living near the sites. Wall time
   split into reads, the optimiser, writes and the SMS outbox insert (goal: under 5 s), and the
   number of SQL queries, which must not grow with the batch: the same batch is run at 100 x
   1,500 and 300 x 4,500 and the statements are compared kind by kind. Each repetition runs in
   a transaction that is rolled back, so each does the same work; the outbox's sends (Celery
   runs eagerly without ``REDIS_URL``, the simulator "sends" after the commit) are timed
   separately by committing, then restoring the rows, at the middle size by default (at the
   largest they take minutes; the report projects them from the cost per SMS). When a goal is
   missed, cProfile shows where the time goes.

A fresh database (``bench_dispatch``) is created, migrated and seeded with a realistic pool
(three cities, gaussian spread of 10 km with a suburban tail, most workers active and vetted,
a mix of skills and histories, some opt-outs), the open and past orders and offers of a working
network, and three region franchises for the batch. It is dropped at the end, whatever happens.
``--write`` replaces the "## Dispatch at network scale" section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import itertools
import logging
import math
import os
import pstats
import re
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest import mock

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import (
    REPO,
    admin_database_url,
    command_line,
    create_database,
    database_url,
    drop_database,
    load_average,
    machine_facts,
    now_utc,
    write_section,
)

if TYPE_CHECKING:
    from dispatch.models import Order
    from dispatch.services.assignment import BatchResult

DB_NAME = "bench_dispatch"
HEADING = "## Dispatch at network scale"
KM_PER_DEG_LAT = 111.195
CANDIDATE_GOAL_MS = 50.0
BATCH_GOAL_S = 5.0
SEARCH_LIMIT = 5000
BULK_BATCH = 2000
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
APPS = ("dispatch", "messaging", "workers", "clients", "franchises", "config")


def search_cases() -> list[tuple[float, int, str]]:
    """(radius km, limit, who searches so): the searches a call-out runs, then the function's
    default limit at the first and third waves' radii."""
    from django.conf import settings

    from dispatch.services.callout import adaptive_pool

    config = settings.DISPATCH
    radii = config["WAVE_RADII_KM"]
    wave = int(config["MAX_OFFERS_PER_ORDER"])
    return [
        (radii[0], wave, "wave 1, at most"),
        (radii[2], wave, "wave 3, at most"),
        (radii[-1], adaptive_pool(10), "adaptive target's pool (`callout_start`, 10 places)"),
        (radii[0], SEARCH_LIMIT, "default `limit`"),
        (radii[2], SEARCH_LIMIT, "default `limit`"),
    ]


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def code_version() -> str:
    """The commit measured, and whether the code under test had uncommitted changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
            check=True,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", *APPS], cwd=REPO, capture_output=True,
            text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"commit {commit}" + (" with uncommitted changes" if changed else "")


# --- The database ----------------------------------------------------------------------------


def django_setup(url: str) -> None:
    """Point Django at the benchmark database, production-like: DEBUG off, the SMS simulator,
    Celery eager (no broker), quiet logs; then migrate."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["DATABASE_URL"] = url
    os.environ["DEBUG"] = "false"
    os.environ["SMS_BACKEND"] = "simulator"
    os.environ["LOG_LEVEL"] = "WARNING"
    for name in ("REDIS_URL", "CELERY_TASK_ALWAYS_EAGER", "PUBLIC_BASE_URL"):
        os.environ.pop(name, None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    # Eager tasks still build a broker connection object, which warns about its default host.
    logging.getLogger("kombu.connection").setLevel(logging.ERROR)


def vacuum_analyze(*tables: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in tables or ("",):
            cursor.execute(f'VACUUM ANALYZE "{table}"' if table else "VACUUM ANALYZE")


# --- The worker pool -------------------------------------------------------------------------


@dataclass(frozen=True)
class City:
    name: str
    lat: float
    lng: float
    share: float


CITIES = (
    City("Moscow", 55.7558, 37.6173, 0.5),
    City("Saint Petersburg", 59.9343, 30.3351, 0.3),
    City("Kazan", 55.7963, 49.1088, 0.2),
)
# Share of workers holding each skill; a worker holds one or more.
SKILL_SHARES = {
    "loading": 0.55,
    "general": 0.45,
    "moving": 0.30,
    "snow_clearing": 0.15,
    "cleaning": 0.15,
    "roofing": 0.05,
    "driver": 0.08,
    "foreman": 0.07,
}
WORK_TYPE_SHARES = {
    "loading": 0.45,
    "moving": 0.15,
    "general": 0.15,
    "cleaning": 0.10,
    "snow_clearing": 0.10,
    "roofing": 0.05,
}


@dataclass
class Pool:
    """The seeded workers as numpy columns, to pick realistic acceptors without queries."""

    ids: np.ndarray
    lat: np.ndarray  # nan when the worker has no home point
    lng: np.ndarray
    city: np.ndarray
    active: np.ndarray  # active, vetted and located: may be offered work
    skills: dict[str, np.ndarray]
    rating: np.ndarray
    reliability: np.ndarray

    def qualified(self, work_type: str) -> np.ndarray:
        from workers.models import skills_for_work_type

        mask = np.zeros(len(self.ids), dtype=bool)
        for skill in skills_for_work_type(work_type):
            mask |= self.skills[str(skill)]
        return mask


def offset_points(
    rng: np.random.Generator, lat0: np.ndarray, lng0: np.ndarray, sigma_km: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    north = rng.normal(0.0, 1.0, len(lat0)) * sigma_km
    east = rng.normal(0.0, 1.0, len(lat0)) * sigma_km
    lat = lat0 + north / KM_PER_DEG_LAT
    lng = lng0 + east / (KM_PER_DEG_LAT * np.cos(np.radians(lat0)))
    return lat, lng


@dataclass
class Histories:
    """Skills and track records of a seeded pool, one array entry per worker."""

    skills: dict[str, np.ndarray]
    shifts: np.ndarray
    received: np.ndarray
    answered: np.ndarray
    accepted: np.ndarray
    rating: np.ndarray
    reliability: np.ndarray
    no_shows: np.ndarray
    english: np.ndarray


def worker_histories(rng: np.random.Generator, n: int, *, reply: float, accept: float
                     ) -> Histories:
    """Skills (every worker at least `general`), shifts worked (a seventh newcomers), offers
    received, answered (share `reply`) and accepted (share `accept`), rating, reliability,
    no-shows in line with it, and a few English speakers."""
    skills = {skill: rng.random(n) < share for skill, share in SKILL_SHARES.items()}
    skills["general"] |= ~np.any(np.stack(list(skills.values())), axis=0)
    newcomer = rng.random(n) < 0.15
    veteran_shifts = np.minimum(400, 2 + rng.geometric(1 / 40, n))
    shifts = np.where(newcomer, rng.integers(0, 3, n), veteran_shifts)
    received = shifts * 3 + rng.poisson(4, n)
    answered = rng.binomial(received, reply)
    accepted = rng.binomial(answered, accept)
    rating = np.round(np.clip(rng.normal(4.1, 0.5, n), 0.0, 5.0), 2)
    reliability = np.round(rng.beta(8.0, 2.0, n), 3)
    no_shows = rng.poisson(shifts * (1.0 - reliability) * 0.2)
    english = rng.random(n) < 0.08
    return Histories(skills, shifts, received, answered, accepted, rating, reliability,
                     no_shows, english)


def seed_pool(n: int, rng: np.random.Generator, now: datetime) -> Pool:
    """``n`` workers around the three cities, inserted with bulk_create in batches."""
    from messaging.models import OptOut
    from workers.models import Worker

    city = rng.choice(len(CITIES), size=n, p=[c.share for c in CITIES])
    centre_lat = np.array([c.lat for c in CITIES])[city]
    centre_lng = np.array([c.lng for c in CITIES])[city]
    # Most live in the city (10 km spread); a sixth in the suburbs and the region around it.
    sigma = np.where(rng.random(n) < 0.15, 30.0, 10.0)
    lat, lng = offset_points(rng, centre_lat, centre_lng, sigma)
    located = rng.random(n) >= 0.01
    lat[~located] = np.nan
    lng[~located] = np.nan
    status = rng.choice(
        ["active", "applicant", "suspended", "blocked"], size=n, p=[0.86, 0.08, 0.04, 0.02]
    )
    h = worker_histories(rng, n, reply=0.6, accept=0.5)
    skills, shifts, received, answered, accepted = (
        h.skills, h.shifts, h.received, h.answered, h.accepted
    )
    rating, reliability, no_shows, english = h.rating, h.reliability, h.no_shows, h.english
    vetted_days = rng.integers(1, 900, n)

    ids: list[int] = []
    for start in range(0, n, BULK_BATCH):
        batch = []
        for i in range(start, min(n, start + BULK_BATCH)):
            vetted = status[i] != "applicant"
            batch.append(
                Worker(
                    name=f"Worker {i:06d}",
                    phone=f"+7916{i:07d}",
                    lat=None if not located[i] else float(lat[i]),
                    lng=None if not located[i] else float(lng[i]),
                    home_area=CITIES[city[i]].name,
                    skills=[skill for skill, has in skills.items() if has[i]],
                    status=str(status[i]),
                    language="en" if english[i] else "ru",
                    rating=float(rating[i]),
                    reliability=float(reliability[i]),
                    shifts_completed=int(shifts[i]),
                    no_shows=int(no_shows[i]),
                    offers_received=int(received[i]),
                    offers_answered=int(answered[i]),
                    offers_accepted=int(accepted[i]),
                    vetted_at=now - timedelta(days=int(vetted_days[i])) if vetted else None,
                )
            )
        ids.extend(worker.pk for worker in Worker.objects.bulk_create(batch))
    active = (status == "active") & located
    # Half a percent of the pool texted STOP at some point.
    opted = np.flatnonzero(rng.random(n) < 0.005)
    OptOut.objects.bulk_create(
        [OptOut(phone=f"+7916{i:07d}", opted_out_at=now, keyword="STOP") for i in opted],
        batch_size=BULK_BATCH,
    )
    return Pool(
        ids=np.array(ids, dtype=np.int64),
        lat=lat,
        lng=lng,
        city=city,
        active=active,
        skills=skills,
        rating=rating,
        reliability=reliability,
    )


def haversine_km(lat1: float, lng1: float, lat2: np.ndarray, lng2: np.ndarray) -> np.ndarray:
    p1, p2 = math.radians(lat1), np.radians(lat2)
    h = (
        np.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * np.cos(p2) * np.sin(np.radians(lng2 - lng1) / 2) ** 2
    )
    return 2 * 6371.009 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def pick_nearby(
    rng: np.random.Generator,
    pool: Pool,
    mask: np.ndarray,
    lat: float,
    lng: float,
    *,
    k: int,
    scale_km: float = 5.0,
    nearest: int = 1500,
) -> tuple[np.ndarray, np.ndarray]:
    """``k`` distinct pool indices among the ``nearest`` eligible to a point, nearer ones more
    likely (people accept jobs close to home). Returns (indices, distances in km)."""
    candidates = np.flatnonzero(mask)
    distance = haversine_km(lat, lng, pool.lat[candidates], pool.lng[candidates])
    if len(candidates) > nearest:
        keep = np.argpartition(distance, nearest)[:nearest]
        candidates, distance = candidates[keep], distance[keep]
    k = min(k, len(candidates))
    weight = np.exp(-distance / scale_km) + 1e-12
    chosen = rng.choice(len(candidates), size=k, replace=False, p=weight / weight.sum())
    return candidates[chosen], distance[chosen]


# --- Orders and offers -----------------------------------------------------------------------

_codes = itertools.count(31**4)
_tokens = itertools.count(1)


def next_code() -> str:
    value, code = next(_codes), ""
    for _ in range(5):
        value, digit = divmod(value, len(CODE_ALPHABET))
        code = CODE_ALPHABET[digit] + code
    return code


def booking_target(headcount: int) -> int:
    return math.ceil(1.5 * headcount)


def tomorrow_utc(now: datetime, local_hour: int) -> datetime:
    """``local_hour`` o'clock tomorrow in Moscow time (UTC+3, no DST), as an aware UTC time."""
    day = (now + timedelta(hours=3)).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=now.tzinfo) + timedelta(
        hours=local_hour - 3
    )


def new_order(
    *, client_id: int, site_id: int, franchise_id: int, work_type: str, headcount: int,
    start: datetime, hours: int, status: str,
) -> Any:
    from dispatch.models import Order

    return Order(
        code=next_code(),
        client_id=client_id,
        site_id=site_id,
        franchise_id=franchise_id,
        work_type=work_type,
        headcount=headcount,
        start=start,
        hours=Decimal(hours),
        ends_at=start + timedelta(hours=hours),
        bill_rate=Decimal("220.00"),
        pay_rate=Decimal("100.00"),
        status=status,
        booking_target=booking_target(headcount),
        calling_since=start - timedelta(hours=20),
    )


def new_offer(
    *, order_id: int, worker_id: int, state: str, response: str | None, sent_at: datetime,
    distance_km: float = 0.0, cost: float = 0.0, wave: int = 1, attendance: str | None = None,
) -> Any:
    from dispatch.models import Offer

    return Offer(
        order_id=order_id,
        worker_id=worker_id,
        wave=wave,
        sent_at=sent_at,
        response=response,
        responded_at=sent_at + timedelta(minutes=7) if response else None,
        state=state,
        attendance=attendance,
        distance_km=round(distance_km, 3),
        cost=round(cost, 4),
        token=f"bench{next(_tokens):020x}",
        confirmed_at=sent_at + timedelta(hours=1) if state == "confirmed" else None,
    )


def offer_cost(pool: Pool, index: int, distance_km: float) -> float:
    return distance_km + (5.0 - pool.rating[index]) * 2.0 + (1.0 - pool.reliability[index]) * 10.0


def bulk_insert(model: Any, rows: list[Any]) -> list[Any]:
    return model.objects.bulk_create(rows, batch_size=BULK_BATCH)


def work_types(rng: np.random.Generator, n: int) -> list[str]:
    names = list(WORK_TYPE_SHARES)
    return [str(w) for w in rng.choice(names, size=n, p=list(WORK_TYPE_SHARES.values()))]


@dataclass
class Network:
    search_order_ids: list[int] = field(default_factory=list)
    offers: int = 0
    orders: int = 0


def seed_network(
    pool: Pool, rng: np.random.Generator, now: datetime, *, search_sites: int, history: int
) -> Network:
    """The franchises, clients, sites, open and past orders and offers of a working network.

    ``search_sites`` orders (one per site, calling, tomorrow) are those the candidate search
    runs for; each already has a first wave of offers. Around them: 300 open orders with
    confirmed and standby crews (which make their workers busy) and ``history`` completed
    orders, spread over the cities by their share of the pool.
    """
    from dispatch.models import Offer

    network = Network()
    offers: list[Any] = []
    for c, city in enumerate(CITIES):
        if c == 0:
            searched = search_sites - sum(round(search_sites * o.share) for o in CITIES[1:])
        else:
            searched = round(search_sites * city.share)
        offers += seed_city(
            network, pool, rng, now, city=c, searched=searched, open_orders=round(300 * city.share),
            past_orders=round(history * city.share),
        )
    bulk_insert(Offer, offers)
    network.offers = len(offers)
    return network


def seed_city(
    network: Network, pool: Pool, rng: np.random.Generator, now: datetime, *, city: int,
    searched: int, open_orders: int, past_orders: int,
) -> list[Any]:
    """One city's office, clients (with favourites and blocks), sites and orders; returns the
    offers to insert."""
    from clients.models import Client, Site
    from dispatch.models import ClientPreference, Order
    from franchises.models import Franchise

    place = CITIES[city]
    franchise = Franchise.objects.create(
        name=f"{place.name} office", kind="official_office", city=place.name,
        timezone="Europe/Moscow",
    )
    clients = bulk_insert(
        Client, [Client(name=f"{place.name} client {i}", franchise=franchise) for i in range(20)]
    )
    n_sites = searched + open_orders + past_orders
    site_lat, site_lng = offset_points(
        rng, np.full(n_sites, place.lat), np.full(n_sites, place.lng), np.full(n_sites, 8.0)
    )
    site_client = rng.integers(0, len(clients), n_sites)
    sites = bulk_insert(
        Site,
        [
            Site(
                client=clients[site_client[i]], address=f"{place.name}, site {i}",
                lat=float(site_lat[i]), lng=float(site_lng[i]),
            )
            for i in range(n_sites)
        ],
    )
    kinds = work_types(rng, n_sites)
    headcounts = rng.integers(3, 21, n_sites)
    rows = []
    for i, site in enumerate(sites):
        if i < searched + open_orders:
            start = tomorrow_utc(now, int(rng.integers(7, 15)))
            status = "calling" if i < searched else "filled"
        else:
            start = now - timedelta(days=int(rng.integers(1, 60)), hours=int(rng.integers(0, 12)))
            status = "completed"
        rows.append(
            new_order(
                client_id=site.client_id, site_id=site.pk, franchise_id=franchise.pk,
                work_type=kinds[i], headcount=int(headcounts[i]), start=start,
                hours=int(rng.choice([4, 6, 8, 10, 12])), status=status,
            )
        )
    orders = bulk_insert(Order, rows)
    network.orders += len(orders) - searched
    living_here = pool.active & (pool.city == city)
    offers = []
    for i, order in enumerate(orders):
        mask = living_here & pool.qualified(order.work_type)
        if i < searched:
            network.search_order_ids.append(order.pk)
            offers += first_wave(
                pool, rng, now=now, order=order, mask=mask, lat=site_lat[i], lng=site_lng[i]
            )
        else:
            offers += crew(pool, rng, order=order, mask=mask, lat=site_lat[i], lng=site_lng[i])
    # Each client keeps a few favourites and blocks a couple of people.
    preferences = []
    for client in clients:
        chosen = rng.choice(np.flatnonzero(living_here), size=10, replace=False)
        preferences += [
            ClientPreference(
                client=client, worker_id=int(pool.ids[index]),
                kind="blocked" if j < 2 else "favourite",
            )
            for j, index in enumerate(chosen)
        ]
    bulk_insert(ClientPreference, preferences)
    return offers


def first_wave(
    pool: Pool, rng: np.random.Generator, *, now: datetime, order: Any, mask: np.ndarray,
    lat: float, lng: float,
) -> list[Any]:
    """The 30 offers of a first wave that went out 20 minutes ago; a third answered."""
    picked, distance = pick_nearby(rng, pool, mask, lat, lng, k=30)
    offers = []
    for j, (index, km) in enumerate(zip(picked, distance, strict=True)):
        response = ("accepted" if j % 2 else "declined") if j % 3 == 0 else None
        offers.append(
            new_offer(
                order_id=order.pk, worker_id=int(pool.ids[index]), state="offered",
                response=response, sent_at=now - timedelta(minutes=20),
                distance_km=float(km), cost=offer_cost(pool, index, float(km)),
            )
        )
    return offers


def crew(
    pool: Pool, rng: np.random.Generator, *, order: Any, mask: np.ndarray, lat: float,
    lng: float,
) -> list[Any]:
    """An open order's booked crew (confirmed up to the target, standby, ten released), or a
    past order's crew, present: a year of history in miniature."""
    standby = max(1, math.ceil(order.headcount * 0.2))
    target = order.booking_target
    picked, distance = pick_nearby(rng, pool, mask, lat, lng, k=target + standby + 10)
    offers = []
    for j, (index, km) in enumerate(zip(picked, distance, strict=True)):
        attendance = None
        if j < target:
            state = "confirmed"
            attendance = "present" if order.status == "completed" else None
        elif j < target + standby:
            state = "standby"
        else:
            state = "released"
        offers.append(
            new_offer(
                order_id=order.pk, worker_id=int(pool.ids[index]), state=state,
                response="accepted", sent_at=order.start - timedelta(hours=18),
                distance_km=float(km), cost=offer_cost(pool, index, float(km)),
                attendance=attendance,
            )
        )
    return offers


@dataclass
class Region:
    """One franchise's open orders and the acceptances a batch will assign."""

    label: str
    franchise_id: int
    orders: int
    acceptances: int
    places: int
    headcount: int
    acceptors: int


def headcounts_for(rng: np.random.Generator, n: int, places: int) -> list[int]:
    """Crew sizes from 1 to 40 (most 2-8), nudged until the booking targets add up to
    ``places`` (or one more: a target grows by one or two per worker)."""
    sizes = [int(v) for v in rng.choice(
        [1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30, 40],
        size=n,
        p=[0.05, 0.12, 0.14, 0.14, 0.12, 0.1, 0.1, 0.08, 0.05, 0.04, 0.03, 0.02, 0.01],
    )]
    total = sum(booking_target(v) for v in sizes)
    while total > places:
        i = int(rng.integers(0, n))
        if sizes[i] > 1:
            total += booking_target(sizes[i] - 1) - booking_target(sizes[i])
            sizes[i] -= 1
    while total < places:
        i = int(rng.integers(0, n))
        if sizes[i] < 40:
            total += booking_target(sizes[i] + 1) - booking_target(sizes[i])
            sizes[i] += 1
    return sizes


def seed_region(
    label: str, *, n_orders: int, n_acceptances: int, pool: Pool, rng: np.random.Generator,
    now: datetime,
) -> Region:
    """A Moscow franchise with ``n_orders`` open orders (booking targets adding up to about
    ten per order) for tomorrow and ``n_acceptances`` accepted offers in state ``offered``
    from qualified workers living near each site, in proportion to the order's target."""
    from clients.models import Client, Site
    from dispatch.models import Offer, Order
    from franchises.models import Franchise

    city = CITIES[0]
    franchise = Franchise.objects.create(
        name=f"Region {label}", kind="brand_franchise", city=city.name, timezone="Europe/Moscow"
    )
    clients = bulk_insert(
        Client,
        [
            Client(name=f"{label} client {i}", franchise=franchise)
            for i in range(max(1, n_orders // 5))
        ],
    )
    site_lat, site_lng = offset_points(
        rng, np.full(n_orders, city.lat), np.full(n_orders, city.lng), np.full(n_orders, 10.0)
    )
    sites = bulk_insert(
        Site,
        [
            Site(
                client=clients[i % len(clients)], address=f"Moscow, {label} site {i}",
                lat=float(site_lat[i]), lng=float(site_lng[i]),
            )
            for i in range(n_orders)
        ],
    )
    sizes = headcounts_for(rng, n_orders, 10 * n_orders)
    kinds = work_types(rng, n_orders)
    orders = bulk_insert(
        Order,
        [
            new_order(
                client_id=site.client_id, site_id=site.pk, franchise_id=franchise.pk,
                work_type=kinds[i], headcount=sizes[i],
                start=tomorrow_utc(now, int(rng.integers(6, 19))),
                hours=int(rng.choice([4, 6, 8, 10, 12])), status="calling",
            )
            for i, site in enumerate(sites)
        ],
    )
    targets = np.array([order.booking_target for order in orders], dtype=float)
    share = n_acceptances * targets / targets.sum()
    per_order = np.floor(share).astype(int)
    for i in np.argsort(per_order - share)[: n_acceptances - per_order.sum()]:
        per_order[i] += 1
    moscow = pool.active & (pool.city == 0)
    offers = []
    for i, order in enumerate(orders):
        picked, distance = pick_nearby(
            rng, pool, moscow & pool.qualified(order.work_type), site_lat[i], site_lng[i],
            k=int(per_order[i]),
        )
        for index, km in zip(picked, distance, strict=True):
            offers.append(
                new_offer(
                    order_id=order.pk, worker_id=int(pool.ids[index]), state="offered",
                    response="accepted", sent_at=now - timedelta(minutes=30),
                    distance_km=float(km), cost=offer_cost(pool, index, float(km)),
                    wave=int(rng.integers(1, 3)),
                )
            )
    bulk_insert(Offer, offers)
    return Region(
        label=label, franchise_id=franchise.pk, orders=n_orders, acceptances=len(offers),
        places=int(targets.sum()), headcount=sum(sizes),
        acceptors=len({offer.worker_id for offer in offers}),
    )


# --- Candidate search ------------------------------------------------------------------------


@dataclass
class SearchStats:
    radius_km: float
    limit: int
    purpose: str
    times_ms: list[float]
    sql_ms: list[float]
    queries: Counter[int]
    returned: list[int]
    eligible: list[int]
    capped_differs: int
    explain_ms: float | None = None
    sql_rows: int | None = None
    plan: str = ""
    profile: Profile | None = None

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def p90_ms(self) -> float:
        return float(np.percentile(self.times_ms, 90))


def load_orders(order_ids: list[int]) -> list[Order]:
    from dispatch.models import Order

    orders = Order.objects.select_related("site", "client", "franchise").in_bulk(order_ids)
    return [orders[pk] for pk in order_ids]


def uncapped_answers(orders: list[Order], radius_km: float) -> list[list[int]]:
    """Every eligible worker, cheapest first, for each order: what any limit must agree with."""
    from dispatch.selectors import candidates_for_order

    return [
        [c.worker_id for c in candidates_for_order(order, radius_km=radius_km, limit=10**7)]
        for order in orders
    ]


def measure_search(
    orders: list[Order], radius_km: float, limit: int, purpose: str, uncapped: list[list[int]]
) -> SearchStats:
    """Each order searched once timed and once with its queries captured; the answers of the
    first ``len(uncapped)`` are compared with the uncapped search's best ``limit``."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dispatch.selectors import candidates_for_order

    for order in orders[:5]:
        candidates_for_order(order, radius_km=radius_km, limit=limit)
    times, returned = [], []
    answers = []
    for order in orders:
        started = time.perf_counter()
        found = candidates_for_order(order, radius_km=radius_km, limit=limit)
        times.append((time.perf_counter() - started) * 1000)
        returned.append(len(found))
        answers.append([c.worker_id for c in found])
    queries: Counter[int] = Counter()
    sql_ms = []
    for order in orders:
        with CaptureQueriesContext(connection) as captured:
            candidates_for_order(order, radius_km=radius_km, limit=limit)
        queries[len(captured)] += 1
        sql_ms.append(sum(float(q["time"]) for q in captured.captured_queries) * 1000)
    differs = sum(
        answer != everyone[:limit] for answer, everyone in zip(answers, uncapped, strict=False)
    )
    return SearchStats(
        radius_km, limit, purpose, times, sql_ms, queries, returned,
        [len(everyone) for everyone in uncapped], differs,
    )


def explain_search(order: Order, radius_km: float, limit: int) -> tuple[float | None, int | None,
                                                                         str]:
    """EXPLAIN ANALYZE of the search's main query for one order: execution ms, rows returned
    to Python, and the plan."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dispatch.selectors import candidates_for_order

    with CaptureQueriesContext(connection) as captured:
        candidates_for_order(order, radius_km=radius_km, limit=limit)
    if not captured.captured_queries:
        return None, None, ""
    sql = captured.captured_queries[0]["sql"]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    found = re.search(r"Execution Time: ([\d.]+) ms", plan)
    rows = re.search(r"actual time=\S+ rows=(\d+)", plan)
    return (
        float(found.group(1)) if found else None, int(rows.group(1)) if rows else None, plan
    )


@dataclass
class Profile:
    """Where a call's time goes, from cProfile (whose overhead inflates the absolute times,
    so shares are reported)."""

    listing: str
    by_package: list[tuple[str, float]]  # own time by package or project file, share
    own: list[tuple[str, float]]  # functions by own time, share
    project: list[tuple[str, float]]  # project functions by cumulative time, share


def package_of(filename: str) -> str:
    if filename == "~" or filename.startswith("<"):
        return "built-ins"
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    path = Path(filename)
    if path.is_relative_to(REPO):
        return str(path.relative_to(REPO))
    return "Python standard library"


def profile_call(call: Callable[[], Any], top: int = 6) -> Profile:
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        call()
    finally:
        profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("tottime").print_stats(20)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values()) or 1.0
    packages: dict[str, float] = defaultdict(float)
    for (filename, _, _), entry in raw.items():
        packages[package_of(filename)] += entry[2] / total

    def label(key: tuple[str, int, str]) -> str:
        filename, line, name = key
        return name if filename == "~" else f"{Path(filename).name}:{line} {name}"

    own = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)[:top]
    project = sorted(
        (
            (key, entry) for key, entry in raw.items()
            if Path(key[0]).is_relative_to(REPO) and not Path(key[0]).is_relative_to(REPO / "bench")
        ),
        key=lambda item: item[1][3], reverse=True,
    )[:top]
    return Profile(
        listing=text.getvalue(),
        by_package=sorted(packages.items(), key=lambda item: item[1], reverse=True)[:top],
        own=[(label(key), entry[2] / total) for key, entry in own],
        project=[(label(key), min(1.0, entry[3] / total)) for key, entry in project],
    )


def profile_search(orders: list[Order], radius_km: float, limit: int) -> Profile:
    from dispatch.selectors import candidates_for_order

    return profile_call(
        lambda: [
            candidates_for_order(order, radius_km=radius_km, limit=limit) for order in orders
        ]
    )


def shares(items: list[tuple[str, float]]) -> str:
    return ", ".join(f"`{name}` {share:.0%}" for name, share in items)


# --- Region batch ----------------------------------------------------------------------------

PHASES = ("reads", "prepare", "optimiser", "writes", "texts", "outbox")


@dataclass
class BatchRun:
    total: float
    phases: dict[str, float]
    result: BatchResult
    after_commit: float = 0.0
    queries: int = 0
    statements: list[str] = field(default_factory=list)
    messages: int = 0
    sql_seconds: float = 0.0
    sql_by_kind: dict[str, float] = field(default_factory=dict)
    solve_calls: int = 0


# The batch's steps, by the functions of dispatch.services.assignment that run them.
TIMED_FUNCTIONS = {"_solve": "solve", "_record": "record", "sms_items": "texts",
                   "sms_queue_many": "outbox"}


@contextlib.contextmanager
def phase_timers() -> Iterator[dict[str, float]]:
    """Time the batch's own steps by wrapping the module's functions (the code is unchanged);
    ``<step>_calls`` counts the calls. A function the module no longer has is not timed."""
    from dispatch.services import assignment

    spent: dict[str, float] = defaultdict(float)

    def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - started
                spent[f"{name}_calls"] += 1

        return wrapper

    with contextlib.ExitStack() as stack:
        for attribute, name in TIMED_FUNCTIONS.items():
            if callable(getattr(assignment, attribute, None)):
                original = getattr(assignment, attribute)
                stack.enter_context(mock.patch.object(assignment, attribute, timed(name, original)))
        yield spent


@contextlib.contextmanager
def count_queries() -> Iterator[list[int]]:
    """Count every statement sent on the default connection (no 9,000-query cap)."""
    from django.db import connection

    counter = [0]

    def counting(execute: Callable[..., Any], sql: str, params: Any, many: bool,
                 context: Any) -> Any:
        if not sql.lstrip().upper().startswith(("SAVEPOINT", "RELEASE SAVEPOINT",
                                                "ROLLBACK TO SAVEPOINT")):
            counter[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counting):
        yield counter


def split_phases(total: float, spent: dict[str, float], result: BatchResult) -> dict[str, float]:
    solve, record = spent.get("solve", 0.0), spent.get("record", 0.0)
    texts, outbox = spent.get("texts", 0.0), spent.get("outbox", 0.0)
    return {
        "reads": total - solve - record,
        "prepare": solve - result.solve_seconds,
        "optimiser": result.solve_seconds,
        "writes": record - texts - outbox,
        "texts": texts,
        "outbox": outbox,
    }


def outbox_size(franchise_id: int) -> int:
    from messaging.models import Message

    return Message.objects.filter(order__franchise_id=franchise_id, direction="out").count()


def run_batch(franchise_id: int, *, capture: bool = False) -> BatchRun:
    """One batch inside a transaction that is rolled back: the on-commit sends never run."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from dispatch.services.assignment import assignment_run

    vacuum_analyze("dispatch_offer", "dispatch_order", "messaging_message")
    statements: list[str] = []
    sql_seconds = 0.0
    sql_by_kind: dict[str, float] = {}
    with phase_timers() as spent, transaction.atomic():
        if capture:
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                result = assignment_run(franchise_id=franchise_id)
                total = time.perf_counter() - started
            kept = [
                q for q in captured.captured_queries
                if not q["sql"].upper().startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
            ]
            statements = [q["sql"] for q in kept]
            sql_seconds = sum(float(q["time"]) for q in kept)
            for q in kept:
                kind = statement_kind(q["sql"])
                sql_by_kind[kind] = sql_by_kind.get(kind, 0.0) + float(q["time"])
        else:
            started = time.perf_counter()
            result = assignment_run(franchise_id=franchise_id)
            total = time.perf_counter() - started
        messages = outbox_size(franchise_id)
        transaction.set_rollback(True)
    return BatchRun(
        total=total, phases=split_phases(total, spent, result), result=result,
        queries=len(statements), statements=statements, messages=messages,
        sql_seconds=sql_seconds, sql_by_kind=sql_by_kind, solve_calls=int(spent["solve_calls"]),
    )


def run_batch_with_sends(franchise_id: int) -> BatchRun:
    """One batch committed, so the outbox's on-commit sends run (eager Celery, simulator);
    then the offers, orders and messages are put back as they were."""
    from django.db import transaction

    from dispatch.services.assignment import assignment_run

    vacuum_analyze("dispatch_offer", "dispatch_order", "messaging_message")
    with phase_timers() as spent, count_queries() as counter:
        # The outer block is the transaction the batch would open itself; timing its body and
        # its exit separately splits the batch from the commit and the sends it triggers.
        with transaction.atomic():
            started = time.perf_counter()
            result = assignment_run(franchise_id=franchise_id)
            returned = time.perf_counter()
        committed = time.perf_counter()
    messages = outbox_size(franchise_id)
    run = BatchRun(
        total=returned - started, phases=split_phases(returned - started, spent, result),
        result=result, after_commit=committed - returned, queries=counter[0], messages=messages,
    )
    restore_region(franchise_id)
    return run


def profile_batch(franchise_id: int) -> Profile:
    """cProfile of one batch, rolled back like the timed ones."""
    from django.db import transaction

    from dispatch.services.assignment import assignment_run

    vacuum_analyze("dispatch_offer", "dispatch_order", "messaging_message")

    def batch() -> None:
        with transaction.atomic():
            assignment_run(franchise_id=franchise_id)
            transaction.set_rollback(True)

    return profile_call(batch)


def restore_region(franchise_id: int) -> None:
    from django.db import connection

    from dispatch.models import Offer, Order
    from messaging.models import Message

    with connection.cursor() as cursor:
        cursor.execute(
            f'DELETE FROM "{Message._meta.db_table}" WHERE order_id IN '
            f'(SELECT id FROM "{Order._meta.db_table}" WHERE franchise_id = %s)',
            [franchise_id],
        )
    Offer.objects.filter(order__franchise_id=franchise_id).update(
        state="offered", confirmed_at=None, released_at=None
    )
    Order.objects.filter(franchise_id=franchise_id).update(status="calling", filled_at=None)


_NORMALISE = (
    (re.compile(r"\bIN \((?:[^()']|'[^']*')*\)"), "IN (…)"),
    (re.compile(r"\bVALUES .*", re.S), "VALUES …"),
    (re.compile(r"'(?:[^']|'')*'"), "'…'"),
    (re.compile(r"\b\d+(\.\d+)?\b"), "N"),
)


def statement_kind(sql: str) -> str:
    """A short, stable name for a statement: verb, table, the columns it filters on."""
    text = sql
    for pattern, replacement in _NORMALISE:
        text = pattern.sub(replacement, text)
    verb = text.split(None, 1)[0].upper()
    table = re.search(r'(?:FROM|UPDATE|INTO)\s+"(\w+)"', text)
    where = text.split(" WHERE ", 1)[1] if " WHERE " in text else ""
    columns = []
    for column in re.findall(r'"\w+"\."(\w+)"', where):
        if column not in columns:
            columns.append(column)
    name = f"{verb} {table.group(1) if table else '?'}"
    if columns:
        name += f" WHERE {', '.join(columns[:4])}"
    if "FOR UPDATE" in text:
        name += " FOR UPDATE"
    return name


# --- Report ----------------------------------------------------------------------------------


@dataclass
class Measurements:
    """Everything one run of the benchmark found, for the report."""

    pool_size: int
    active: int
    network: Network
    build_seconds: float
    search: list[SearchStats]
    regions: list[Region]
    timed: dict[str, list[BatchRun]]
    captured: dict[str, BatchRun]
    sends: list[BatchRun]
    batch_profile: Profile | None = None
    code_version: str = ""
    sends_label: str = ""


def plan_access(plan: str) -> str:
    """How the plan reads the worker table (the line naming it), without costs."""
    for line in plan.splitlines():
        if "Scan" in line and "workers_worker" in line:
            return re.sub(r"\s+\(cost=.*", "", line).replace("->", "").strip()
    return ""


def render(args: argparse.Namespace, m: Measurements, *, command: str, facts: str,
           when: str) -> str:
    head = [
        HEADING,
        "",
        f"Command: `{command}`, run {when}.  ",
        f"Machine: {facts}.  ",
        f"Code: {m.code_version}. Load average at the end: {load_average()}.  ",
        f"Data: {m.pool_size:,} workers in three cities (Moscow 50 %, Saint Petersburg 30 %, "
        f"Kazan 20 %; 10 km gaussian spread, 15 % suburban tail at 30 km, 1 % without a home "
        f"point), {m.active:,} of them active, vetted and located; 0.5 % opted out; "
        f"{m.network.orders:,} other orders (open crews tomorrow and {args.history:,} completed) "
        f"with {m.network.offers:,} offers; seeded in {m.build_seconds:.0f} s. Tasks eager (no "
        f"`REDIS_URL`), SMS simulator, `DEBUG=false`. Medians; the machine is shared, so "
        f"ratios matter more than absolute figures.",
        "",
    ]
    return "\n".join(
        [*head, *render_search(m.search), *render_batch(m), *render_scaling(m)]
    )


def render_search(search: list[SearchStats]) -> list[str]:
    out = [
        "### Candidate search (`candidates_for_order`)",
        "",
        f"{len(search[0].times_ms)} orders at different sites of the three cities (calling, "
        f"tomorrow, a first wave of 30 offers each; the first half in Moscow), one timed call "
        f"each per case after 5 warm-up calls. The cases are the searches a call-out runs: a "
        f"wave at the first and third `WAVE_RADII_KM` asking for the most a wave may "
        f"(`MAX_OFFERS_PER_ORDER`), and an adaptive order's start reading the best "
        f"candidates within the widest radius for its booking target (`adaptive_pool`); then "
        f"the function's default "
        f"`limit` ({SEARCH_LIMIT:,}), which no call-out asks for. "
        f"Goal: median under {CANDIDATE_GOAL_MS:.0f} ms. SQL ms is the "
        f"time spent executing the statements (`CaptureQueriesContext`, second pass); the rest "
        f"is turning rows into Python objects and ranking them. The first "
        f"{len(search[0].eligible)} orders are also searched with no limit, to check that the "
        f"SQL's ranking and row cap keep the best: \"changed\" counts the calls whose answer "
        f"differs from the uncapped search's best `limit`.",
        "",
        "| search | radius | limit | median ms | p90 ms | min-max ms | SQL ms (median) | "
        "queries per call | returned (median) | eligible, uncapped (median of the checked) | "
        "changed by the cap | goal |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in search:
        queries = ", ".join(
            f"{q} ({n} calls)" if len(s.queries) > 1 else str(q)
            for q, n in sorted(s.queries.items())
        )
        met = "met" if s.median_ms < CANDIDATE_GOAL_MS else "**missed**"
        out.append(
            f"| {s.purpose} | {s.radius_km:g} km | {s.limit:,} | {s.median_ms:.1f} | "
            f"{s.p90_ms:.1f} | "
            f"{min(s.times_ms):.1f}-{max(s.times_ms):.1f} | {statistics.median(s.sql_ms):.1f} | "
            f"{queries} | {statistics.median(s.returned):,.0f} | "
            f"{statistics.median(s.eligible):,.0f} | {s.capped_differs} of {len(s.eligible)} | "
            f"{met} |"
        )
    out.append("")
    for s in search:
        if s.explain_ms is not None:
            rows = f", {s.sql_rows:,} rows to Python" if s.sql_rows is not None else ""
            out.append(
                f"- {s.radius_km:g} km, limit {s.limit:,}, one Moscow order: `EXPLAIN ANALYZE` "
                f"of the main query {s.explain_ms:.1f} ms in the server{rows}; workers read by "
                f"`{plan_access(s.plan)}`"
                + ("; the sort spills to disk." if "Disk:" in s.plan else ".")
            )
    for s in search:
        if s.profile:
            out.append(
                f"- {s.radius_km:g} km, limit {s.limit:,}, where the time goes (cProfile over 10 "
                f"calls, shares of the profiled time). Own time by package: "
                f"{shares(s.profile.by_package)}. Functions by own time: "
                f"{shares(s.profile.own)}. Project functions by cumulative time: "
                f"{shares(s.profile.project)}."
            )
    out.append("")
    return out


BATCH_LABELS = {
    "reads": "reads: lock orders, orders with counts, acceptances, bookings, workers",
    "prepare": "prepare: favourites, optimiser input",
    "optimiser": "optimiser (`BatchResult.solve_seconds`, fairness + main solve)",
    "writes": "writes: load offers, sort them out, bulk updates of offers and orders",
    "texts": "render texts (`sms_items`)",
    "outbox": "outbox (`sms_queue_many`: opt-out check, bulk insert)",
}


def render_batch(m: Measurements) -> list[str]:
    full = m.regions[-1]
    runs = m.timed[full.label]
    result = runs[0].result
    out = [
        "### Region batch (`assignment_run`)",
        "",
        f"One franchise, {full.orders:,} open orders for tomorrow (crews of 1-40, "
        f"{full.headcount:,} workers wanted, booking targets {full.places:,}), "
        f"{full.acceptances:,} acceptances (offers `accepted`, state `offered`) from "
        f"{full.acceptors:,} distinct qualified workers living near the sites, in proportion to "
        f"each order's target. {len(runs)} repetitions after a warm-up, each in a transaction "
        f"rolled back (so the on-commit sends do not run), a vacuum before each. Goal: under "
        f"{BATCH_GOAL_S:.0f} s.",
        "",
        f"Outcome: {result.confirmed:,} confirmed, {result.standby:,} standby, "
        f"{result.released:,} released, {len(result.filled_orders):,} of {result.orders:,} "
        f"orders filled; {runs[0].messages:,} SMS written to the outbox.",
        "",
        "| step | median s | min s | share of the median |",
        "|---|---:|---:|---:|",
    ]
    total = statistics.median(r.total for r in runs)
    for phase in PHASES:
        values = [r.phases[phase] for r in runs]
        out.append(
            f"| {BATCH_LABELS[phase]} | {statistics.median(values):.3f} | {min(values):.3f} | "
            f"{statistics.median(values) / total:.0%} |"
        )
    met = "met" if total < BATCH_GOAL_S else "**missed**"
    out.append(
        f"| **total `assignment_run`** (goal {BATCH_GOAL_S:.0f} s: {met}) | **{total:.3f}** | "
        f"{min(r.total for r in runs):.3f} | |"
    )
    out.append("")
    captured = m.captured[full.label]
    out += [
        f"Queries: {captured.queries} for the batch; they took {captured.sql_seconds:.3f} s "
        f"to execute of the captured run's {captured.total:.3f} s, the rest is Python.",
        "",
    ]
    if m.sends:
        out += render_sends(m)
    if m.batch_profile:
        profile = m.batch_profile
        out += [
            f"Where the time goes (cProfile of one run, shares of the profiled time). Project "
            f"functions by cumulative time: {shares(profile.project)}. Own time by package: "
            f"{shares(profile.by_package)}. Functions by own time: {shares(profile.own)}.",
            "",
        ]
    return out


def render_sends(m: Measurements) -> list[str]:
    """The batch committed, with the on-commit sends that eager Celery runs in the caller."""
    region = next(r for r in m.regions if r.label == m.sends_label)
    full = m.regions[-1]
    body = statistics.median(r.total for r in m.sends)
    after = statistics.median(r.after_commit for r in m.sends)
    messages = m.sends[0].messages
    per_sms = after / max(1, messages)
    queries = (m.sends[0].queries - m.captured[region.label].queries) / max(1, messages)
    full_messages = m.captured[full.label].messages
    full_batch = statistics.median(r.total for r in m.timed[full.label])
    out = [
        f"With the commit and its on-commit sends, at {region.orders:,} orders x "
        f"{region.acceptances:,} acceptances ({len(m.sends)} run(s), committed, then the rows "
        f"put back). Without `REDIS_URL` Celery runs the send tasks inside the commit, so the "
        f"caller waits for every SMS; with a broker the batch returns after its own time and "
        f"workers send in the background.",
        "",
        "| batch s | commit + sends s | SMS sent | ms per SMS | queries per SMS | "
        "total s |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {body:.3f} | {after:.3f} | {messages:,} | {per_sms * 1000:.1f} | {queries:.1f} | "
        f"**{body + after:.3f}** |",
        "",
    ]
    if region is not full:
        out += [
            f"At the largest size ({full_messages:,} SMS) that is about "
            f"{full_batch:.1f} + {full_messages * per_sms:.0f} = "
            f"{full_batch + full_messages * per_sms:.0f} s in eager mode (projected from the "
            f"cost per SMS; `--sends-at largest` measures it).",
            "",
        ]
    return out


def render_scaling(m: Measurements) -> list[str]:
    kinds: dict[str, dict[str, int]] = defaultdict(dict)
    for region in m.regions:
        for statement in m.captured[region.label].statements:
            kind = statement_kind(statement)
            kinds[kind][region.label] = kinds[kind].get(region.label, 0) + 1
    header = " | ".join(f"{r.orders:,} x {r.acceptances:,}" for r in m.regions)
    full = m.captured[m.regions[-1].label]
    out = [
        "### The batch's queries do not grow with its size",
        "",
        "One captured run per size (orders x acceptances; `CaptureQueriesContext`, the "
        "benchmark's own savepoints left out), statements by kind in the order they ran, and "
        "the median wall time of the timed runs:",
        "",
        f"| statement | {header} | SQL s at the largest size |",
        "|---|" + "---:|" * (len(m.regions) + 1),
    ]
    for kind, counts in kinds.items():
        out.append(
            f"| `{kind}` | " + " | ".join(str(counts.get(r.label, 0)) for r in m.regions)
            + f" | {full.sql_by_kind.get(kind, 0.0):.3f} |"
        )
    out.append(
        "| **all statements** | "
        + " | ".join(f"**{m.captured[r.label].queries}**" for r in m.regions)
        + f" | **{full.sql_seconds:.3f}** |"
    )
    out.append(
        "| optimiser rounds (`_solve` calls) | "
        + " | ".join(str(m.captured[r.label].solve_calls) for r in m.regions) + " | |"
    )
    out.append(
        "| SMS written | "
        + " | ".join(f"{m.captured[r.label].messages:,}" for r in m.regions) + " | |"
    )
    out.append(
        "| median wall s | "
        + " | ".join(f"{statistics.median(x.total for x in m.timed[r.label]):.3f}"
                     for r in m.regions)
        + " | |"
    )
    out.append("")
    growing = {
        kind: counts for kind, counts in kinds.items()
        if len({counts.get(r.label, 0) for r in m.regions}) > 1
    }
    if not growing:
        out += ["Every kind of statement runs the same number of times at every size.", ""]
        return out
    out += ["Statements whose number changes with the size of the batch:", ""]
    for kind, counts in growing.items():
        numbers = [counts.get(r.label, 0) for r in m.regions]
        out.append(
            f"- `{kind}`: {' / '.join(map(str, numbers))}. "
            + explain_growth(
                kind, numbers, [m.captured[r.label].messages for r in m.regions],
                [m.captured[r.label].solve_calls for r in m.regions],
            )
        )
    out.append("")
    return out


def explain_growth(
    kind: str, numbers: list[int], messages: list[int], rounds: list[int]
) -> str:
    """Why a statement's count changed with the batch's size, when the pattern says so."""
    if kind.startswith("INSERT messaging_message"):
        from messaging.services import INSERT_MANY_CHUNK as chunk

        if numbers == [math.ceil(n / chunk) for n in messages]:
            return (
                f"Exactly ceil(SMS / {chunk:,}): `messaging.services.sms_queue_many` writes "
                f"its rows {chunk:,} to an `INSERT ... SELECT FROM unnest(...)`, not a "
                "query per order."
            )
        return "One insert per chunk of outbox rows."
    if all(rounds) and len({n / r for n, r in zip(numbers, rounds, strict=True)}) == 1:
        return (
            "Follows the optimiser rounds (`_solve` calls: "
            + " / ".join(map(str, rounds))
            + "): the statement runs inside `_solve`, which `assignment_run` calls in a loop "
            "until no acceptor can be placed; it does not repeat per order."
        )
    return "Repeats with the batch's size: see the captured SQL printed on standard error."


# --- Main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--workers", type=int, default=100_000, help="size of the pool")
    parser.add_argument("--orders", type=int, default=1_000, help="open orders in the batch")
    parser.add_argument("--acceptances", type=int, default=15_000, help="accepted offers")
    parser.add_argument("--repeat", type=int, default=5, help="timed batch repetitions")
    parser.add_argument("--calls", type=int, default=50, help="orders searched for, per case")
    parser.add_argument(
        "--cap-checks", type=int, default=20, help="searches compared with an uncapped one"
    )
    parser.add_argument("--history", type=int, default=2_000, help="completed orders seeded")
    parser.add_argument(
        "--send-repeat", type=int, default=1, help="batches committed with their sends (0: none)"
    )
    parser.add_argument(
        "--sends-at", choices=("smallest", "middle", "largest"), default="middle",
        help="batch size at which the sends are timed (the largest takes minutes in eager mode)",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--admin-url", default=admin_database_url(),
        help="PostgreSQL URL allowed to create databases (env BENCH_ADMIN_DATABASE_URL)",
    )
    parser.add_argument("--write", action="store_true", help=f"replace {HEADING!r} in the docs")
    return parser.parse_args(argv)


def scaling_sizes(args: argparse.Namespace) -> list[tuple[str, int, int]]:
    ratio = args.acceptances / max(1, args.orders)
    sizes = {}
    for orders in (100, 300, args.orders):
        sizes[orders] = round(orders * ratio)
    return [(f"{o}x{a}", o, a) for o, a in sorted(sizes.items())]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = command_line("bench.bench_dispatch", argv)
    postgres = create_database(args.admin_url, DB_NAME)
    say(f"created database {DB_NAME} (PostgreSQL {postgres})")
    facts = machine_facts(postgres)
    try:
        return bench(args, command, facts)
    finally:
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        drop_database(args.admin_url, DB_NAME)
        say(f"dropped database {DB_NAME}")


def bench(args: argparse.Namespace, command: str, facts: str) -> int:
    when = now_utc()
    django_setup(database_url(args.admin_url, DB_NAME))
    from django.utils import timezone

    rng = np.random.default_rng(args.seed)
    now = timezone.now()
    started = time.perf_counter()
    say(f"seeding {args.workers:,} workers")
    pool = seed_pool(args.workers, rng, now)
    say(f"  {time.perf_counter() - started:.0f} s; seeding the network's orders and offers")
    network = seed_network(pool, rng, now, search_sites=args.calls, history=args.history)
    regions = []
    for label, orders, acceptances in scaling_sizes(args):
        say(f"  {time.perf_counter() - started:.0f} s; seeding region {label}")
        regions.append(
            seed_region(
                label, n_orders=orders, n_acceptances=acceptances, pool=pool, rng=rng, now=now
            )
        )
    vacuum_analyze()
    build_seconds = time.perf_counter() - started
    say(f"seeded in {build_seconds:.0f} s")

    search = bench_search(load_orders(network.search_order_ids), cap_checks=args.cap_checks)
    timed, captured, batch_profile = bench_batches(regions, repeat=args.repeat)
    sends_region = regions[
        {"smallest": 0, "middle": len(regions) // 2, "largest": -1}[args.sends_at]
    ]
    sends = bench_sends(sends_region, repeat=args.send_repeat)
    measurements = Measurements(
        pool_size=args.workers, active=int(pool.active.sum()), network=network,
        build_seconds=build_seconds, search=search, regions=regions, timed=timed,
        captured=captured, sends=sends, batch_profile=batch_profile,
        code_version=code_version(), sends_label=sends_region.label,
    )
    section = render(args, measurements, command=command, facts=facts, when=when)
    print(section)
    if args.write:
        write_section(HEADING, section)
        say(f"updated docs/benchmarks.md ({HEADING})")
    return 0


def bench_search(orders: list[Order], *, cap_checks: int) -> list[SearchStats]:
    search = []
    uncapped: dict[float, list[list[int]]] = {}
    for radius, limit, purpose in search_cases():
        if radius not in uncapped:
            uncapped[radius] = uncapped_answers(orders[:cap_checks], radius)
        stats = measure_search(orders, radius, limit, purpose, uncapped[radius])
        stats.explain_ms, stats.sql_rows, stats.plan = explain_search(orders[0], radius, limit)
        if stats.median_ms >= CANDIDATE_GOAL_MS:
            stats.profile = profile_search(orders[:10], radius, limit)
        search.append(stats)
        say(
            f"search {radius:g} km, limit {limit:,}: median {stats.median_ms:.1f} ms, p90 "
            f"{stats.p90_ms:.1f} ms, SQL {statistics.median(stats.sql_ms):.1f} ms, queries "
            f"{dict(stats.queries)}, returned {statistics.median(stats.returned):,.0f}, "
            f"eligible {statistics.median(stats.eligible):,.0f}, changed by the cap "
            f"{stats.capped_differs}"
        )
        say(f"EXPLAIN ANALYZE ({radius:g} km, limit {limit:,}):\n{stats.plan}")
        if stats.profile:
            say(f"profile of 10 calls:\n{stats.profile.listing}")
    return search


def bench_batches(
    regions: list[Region], *, repeat: int
) -> tuple[dict[str, list[BatchRun]], dict[str, BatchRun], Profile | None]:
    """Each size: a warm-up, ``repeat`` timed runs, one captured run; a profile of the
    largest when it misses the goal."""
    timed: dict[str, list[BatchRun]] = {}
    captured: dict[str, BatchRun] = {}
    for region in regions:
        run_batch(region.franchise_id)
        timed[region.label] = [run_batch(region.franchise_id) for _ in range(repeat)]
        captured[region.label] = run_batch(region.franchise_id, capture=True)
        median = statistics.median(r.total for r in timed[region.label])
        say(
            f"batch {region.label}: median {median:.3f} s, queries "
            f"{captured[region.label].queries}, SMS {captured[region.label].messages:,}; "
            + ", ".join(
                f"{p} {statistics.median(r.phases[p] for r in timed[region.label]):.3f}"
                for p in PHASES
            )
        )
    for statement in captured[regions[-1].label].statements:
        say(f"  {statement_kind(statement)}: {statement[:160]}")
    batch_profile = None
    if statistics.median(r.total for r in timed[regions[-1].label]) >= BATCH_GOAL_S:
        batch_profile = profile_batch(regions[-1].franchise_id)
        say(f"profile of one batch:\n{batch_profile.listing}")
    return timed, captured, batch_profile


def bench_sends(region: Region, *, repeat: int) -> list[BatchRun]:
    sends = []
    for _ in range(repeat):
        run = run_batch_with_sends(region.franchise_id)
        sends.append(run)
        say(
            f"batch {region.label} with sends: {run.total:.3f} s + commit and sends "
            f"{run.after_commit:.3f} s, {run.queries:,} queries, {run.messages:,} SMS"
        )
    return sends


if __name__ == "__main__":
    sys.exit(main())
