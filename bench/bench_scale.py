"""Network scale run: a day's orders of the whole network, end to end, on PostgreSQL and Celery.

    python -m bench.bench_scale [--workers 100000] [--franchises 450] [--orders 5000]
                                [--reply-share 0.7] [--accept-share 0.55] [--drivers 2]
                                [--concurrency 4] [--seed 7] [--write]

What is measured, and why. The network is sized for 100,000 workers, 450 franchises, 5,000
orders a day and 20,000 SMS an hour at the morning peak (ARCHITECTURE.md, "Scale"). The other
benchmarks time one piece each (a candidate search, one region's batch, the webhook); this one
runs a whole day's call-out through the production pieces together and reports how long each
stage takes, how many SMS an hour the outbox really pushes through the real ``twilio`` client,
and how much memory the processes need:

1. **Seed.** A fresh PostgreSQL database (``bench_scale``, through ``BENCH_ADMIN_DATABASE_URL``)
   is migrated and given ``--franchises`` franchises in 50 cities (one official office per city
   with a territory around it, the brand franchises spread by city size), each with clients and
   sites around its city, and ``--workers`` active, vetted workers living around the cities in
   proportion to their size, with skills and offer histories. Workers go in with ``COPY``.
2. **Place orders.** ``--orders`` orders spread evenly over the franchises, all for the day
   after tomorrow (local time, shifts starting 06:00-18:00), are placed with the services the
   API uses, ``order_place`` then ``callout_start``, from ``--drivers`` processes: the first
   wave's offers and their SMS rows are written, and the Celery send tasks queued after each
   commit. The Celery worker already sends while orders are still being placed.
3. **Send offers.** The script waits until the outbox is empty: every offer SMS accepted by the
   fake Twilio server. SMS an hour is counted over stages 2 and 3 together, from the first
   order placed to the last SMS accepted.
4. **Replies.** ``--reply-share`` of the offers get an answer, ``--accept-share`` of them a
   yes (``YES K7Q``, ``ДА K7Q``, ``NO K7Q``...), through ``messaging.services.inbound_receive``,
   the webhook's own service, from ``--drivers`` processes in random order.
5. **Assignment.** The batch assignments the yeses scheduled (one ``ASSIGN`` step per
   franchise) are run by ``dispatch.tasks.run_due_steps`` on the Celery worker, and the script
   waits until every confirmation, standby and release SMS has been accepted.

Set-up, production-like: PostgreSQL; Redis (``redis://127.0.0.1:6379/5``, flushed at the start
and the end, so nothing using db 0 is disturbed) as Celery's broker; one real Celery worker
(``celery -A config worker``, prefork, ``--concurrency`` processes, 4 by default: a send
spends most of its time waiting, for PostgreSQL to flush its WAL after each of its autocommit
UPDATEs and for the HTTP round trip, so on this 2-core machine 4 processes pushed the offers
out 1.7 times as fast as 2 did, at 20,000 workers and 1,000 orders); ``SMS_BACKEND=twilio``
through a Messaging Service SID, ``TWILIO_API_BASE`` pointing at the local fake of Twilio's
Messages API (``tests/fakes/twilio_server.py``, in a process of its own); ``DEBUG=false``.

Settings that differ from the defaults, and why:

- ``SMS_SENDER_RATE_PER_SECOND=1000``: a Messaging Service sends from a pool of numbers (or a
  short code), whose throughput Twilio sizes per account; at the default 10 segments a second
  the pacing, not the software, would be measured. The report gives the busiest second's
  segments, to show the pacing never held a message back.
- ``DISPATCH_BATCH_WINDOW_MINUTES=0.25``: the batch assignment falls due 15 s after a
  franchise's first yes instead of 2 minutes, so the run does not wait for the window.
- ``DISPATCH_WAVE_INTERVAL_MINUTES=240``: the next wave falls due after the run ends, so the
  run measures one wave per order and each stage alone.
- The periodic jobs of ``CELERY_BEAT_SCHEDULE`` that matter here run from a timer thread of
  the script instead of ``celery beat``: ``outbox_sweep`` every 5 s throughout (the rows it
  hands over again are counted: their first task was still waiting in the queue), and
  ``run_due_steps`` queued for the Celery worker every 5 s from the assignment stage on (and
  ``--concurrency`` of them at its start); during the replies nothing runs the steps, so the
  assignment stage measures the batches alone (in production they interleave with the
  replies).

Reported per stage: wall time, SMS accepted by the fake Twilio in the stage and SMS an hour,
CPU seconds used by the driver, the Celery worker, the fake Twilio server and PostgreSQL, and
the mean number of busy cores; counts (orders, offers, SMS, replies, confirmed, standby,
released); the latency of placing an order and of one inbound reply; peak memory (VmHWM) of
every process. ``--write`` replaces the "## Network scale run" section of
``docs/benchmarks.md``. The Celery worker and the fake server are stopped, the database dropped
and the Redis db flushed at the end, whatever happens (an interrupt or SIGTERM included).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_dispatch import (
    KM_PER_DEG_LAT,
    WORK_TYPE_SHARES,
    code_version,
    offset_points,
    worker_histories,
)
from bench.report import (
    REPO,
    admin_database_url,
    command_line,
    create_database,
    database_url,
    drop_database,
    machine_facts,
    now_utc,
    proc_stats,
    write_section,
)
from bench.report import stop_group as report_stop_group

DB_NAME = "bench_scale"
HEADING = "## Network scale run"
REDIS_URL = "redis://127.0.0.1:6379/5"
ACCOUNT_SID = "AC" + "5c" * 16
AUTH_TOKEN = "bench0scale0token0not0a0secret0"
SERVICE_SID = "MG" + "5c" * 16
OUR_NUMBER = "+79000000001"
SENDER_RATE_PER_SECOND = 1000
BATCH_WINDOW_MINUTES = 0.25
WAVE_INTERVAL_MINUTES = 240
PERIODIC_SECONDS = 5.0
POLL_SECONDS = 1.0
# A stage that has not finished after this long has stalled: the run stops and says so.
STAGE_TIMEOUT_SECONDS = 1500
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- The network's geography -----------------------------------------------------------------


@dataclass(frozen=True)
class City:
    name: str
    lat: float
    lng: float
    timezone: str
    weight: float  # population, millions: workers, franchises and orders follow it


CITIES = (
    City("Moscow", 55.756, 37.617, "Europe/Moscow", 12.6),
    City("Saint Petersburg", 59.934, 30.335, "Europe/Moscow", 5.4),
    City("Novosibirsk", 55.030, 82.920, "Asia/Novosibirsk", 1.6),
    City("Yekaterinburg", 56.838, 60.605, "Asia/Yekaterinburg", 1.5),
    City("Kazan", 55.796, 49.108, "Europe/Moscow", 1.3),
    City("Nizhny Novgorod", 56.327, 44.006, "Europe/Moscow", 1.2),
    City("Chelyabinsk", 55.160, 61.402, "Asia/Yekaterinburg", 1.2),
    City("Samara", 53.195, 50.100, "Europe/Samara", 1.1),
    City("Omsk", 54.989, 73.368, "Asia/Omsk", 1.1),
    City("Rostov-on-Don", 47.235, 39.701, "Europe/Moscow", 1.1),
    City("Ufa", 54.735, 55.959, "Asia/Yekaterinburg", 1.1),
    City("Krasnoyarsk", 56.010, 92.852, "Asia/Krasnoyarsk", 1.1),
    City("Voronezh", 51.661, 39.200, "Europe/Moscow", 1.05),
    City("Perm", 58.010, 56.229, "Asia/Yekaterinburg", 1.05),
    City("Volgograd", 48.708, 44.513, "Europe/Volgograd", 1.0),
    City("Krasnodar", 45.035, 38.975, "Europe/Moscow", 1.0),
    City("Saratov", 51.533, 46.034, "Europe/Saratov", 0.83),
    City("Tyumen", 57.153, 65.534, "Asia/Yekaterinburg", 0.8),
    City("Tolyatti", 53.507, 49.420, "Europe/Samara", 0.7),
    City("Izhevsk", 56.853, 53.211, "Europe/Samara", 0.65),
    City("Barnaul", 53.348, 83.779, "Asia/Barnaul", 0.63),
    City("Ulyanovsk", 54.317, 48.403, "Europe/Ulyanovsk", 0.62),
    City("Irkutsk", 52.287, 104.305, "Asia/Irkutsk", 0.62),
    City("Khabarovsk", 48.480, 135.072, "Asia/Vladivostok", 0.62),
    City("Yaroslavl", 57.626, 39.894, "Europe/Moscow", 0.6),
    City("Vladivostok", 43.115, 131.885, "Asia/Vladivostok", 0.6),
    City("Makhachkala", 42.983, 47.504, "Europe/Moscow", 0.6),
    City("Tomsk", 56.484, 84.948, "Asia/Tomsk", 0.57),
    City("Orenburg", 51.768, 55.097, "Asia/Yekaterinburg", 0.56),
    City("Kemerovo", 55.355, 86.087, "Asia/Novokuznetsk", 0.55),
    City("Novokuznetsk", 53.757, 87.136, "Asia/Novokuznetsk", 0.54),
    City("Ryazan", 54.629, 39.742, "Europe/Moscow", 0.53),
    City("Naberezhnye Chelny", 55.743, 52.396, "Europe/Moscow", 0.53),
    City("Astrakhan", 46.348, 48.033, "Europe/Astrakhan", 0.52),
    City("Penza", 53.195, 45.018, "Europe/Moscow", 0.52),
    City("Kirov", 58.604, 49.668, "Europe/Kirov", 0.52),
    City("Lipetsk", 52.603, 39.571, "Europe/Moscow", 0.5),
    City("Cheboksary", 56.146, 47.251, "Europe/Moscow", 0.5),
    City("Kaliningrad", 54.710, 20.511, "Europe/Kaliningrad", 0.49),
    City("Tula", 54.193, 37.617, "Europe/Moscow", 0.47),
    City("Kursk", 51.730, 36.193, "Europe/Moscow", 0.45),
    City("Stavropol", 45.044, 41.969, "Europe/Moscow", 0.45),
    City("Sochi", 43.585, 39.723, "Europe/Moscow", 0.44),
    City("Ulan-Ude", 51.834, 107.584, "Asia/Irkutsk", 0.43),
    City("Tver", 56.858, 35.900, "Europe/Moscow", 0.42),
    City("Magnitogorsk", 53.407, 58.980, "Asia/Yekaterinburg", 0.41),
    City("Ivanovo", 57.000, 40.974, "Europe/Moscow", 0.40),
    City("Bryansk", 53.243, 34.364, "Europe/Moscow", 0.40),
    City("Belgorod", 50.595, 36.587, "Europe/Moscow", 0.39),
    City("Surgut", 61.254, 73.396, "Asia/Yekaterinburg", 0.39),
)
# An official office's territory: a box this far (km) each way from the city centre; the
# centres are at least 60 km apart, so the offices' territories never overlap.
OFFICE_HALF_SIDE_KM = 25.0
BRAND_HALF_SIDE_KM = 15.0
CLIENTS_PER_FRANCHISE = 8
# Crew sizes of a day's orders: mostly two to five loaders, now and then fifteen.
HEADCOUNTS = (1, 2, 3, 4, 5, 6, 8, 10, 15)
HEADCOUNT_SHARES = (0.10, 0.25, 0.20, 0.15, 0.10, 0.07, 0.06, 0.04, 0.03)
SHIFT_HOURS = (4, 6, 8, 10, 12)


def say(text: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {text}", file=sys.stderr, flush=True)


# --- The database ----------------------------------------------------------------------------


def flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL, socket_timeout=5).flushdb()


def app_env(db_url: str, twilio_base: str) -> dict[str, str]:
    """The environment of every process of the run: driver, its children, the Celery worker."""
    env = {
        k: v for k, v in os.environ.items()
        if k not in ("PUBLIC_BASE_URL", "CELERY_TASK_ALWAYS_EAGER", "TWILIO_FROM_NUMBER")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=db_url,
        REDIS_URL=REDIS_URL,
        DEBUG="false",
        LOG_LEVEL="WARNING",
        SMS_BACKEND="twilio",
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_MESSAGING_SERVICE_SID=SERVICE_SID,
        TWILIO_API_BASE=twilio_base,
        SMS_SENDER_RATE_PER_SECOND=str(SENDER_RATE_PER_SECOND),
        DISPATCH_BATCH_WINDOW_MINUTES=str(BATCH_WINDOW_MINUTES),
        DISPATCH_WAVE_INTERVAL_MINUTES=str(WAVE_INTERVAL_MINUTES),
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    )
    return env


def django_setup(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


def vacuum_analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def copy_rows(model: Any, columns: list[str], rows: Iterator[tuple[Any, ...]]) -> None:
    """``COPY`` rows into ``model``'s table: ``columns`` are field names, every other column
    must be nullable (Django puts no defaults in the database)."""
    from django.db import connection

    meta = model._meta
    fields = [meta.get_field(name) for name in columns]
    missing = [
        f.name for f in meta.concrete_fields
        if not f.primary_key and not f.null and f.name not in columns
    ]
    if missing:
        raise ValueError(f"COPY into {meta.db_table} needs values for {missing}")
    quote = connection.ops.quote_name
    sql = (
        f"COPY {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) FROM STDIN"
    )
    connection.ensure_connection()
    # Django keeps the connection in autocommit: the COPY commits when it ends.
    with connection.connection.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


# --- Seeding ---------------------------------------------------------------------------------


@dataclass
class Network:
    franchise_ids: list[int]
    franchise_city: list[int]
    offices: int
    sites_by_franchise: dict[int, list[tuple[int, int]]]  # franchise -> [(client, site)]
    workers: int
    opted_out: int


def city_shares() -> np.ndarray:
    weights = np.array([c.weight for c in CITIES])
    return weights / weights.sum()


def box(lat: float, lng: float, half_km: float) -> dict[str, Any]:
    dlat = half_km / KM_PER_DEG_LAT
    dlng = half_km / (KM_PER_DEG_LAT * np.cos(np.radians(lat)))
    ring = [
        [lng - dlng, lat - dlat], [lng + dlng, lat - dlat], [lng + dlng, lat + dlat],
        [lng - dlng, lat + dlat], [lng - dlng, lat - dlat],
    ]
    return {"type": "Polygon", "coordinates": [[[round(x, 5), round(y, 5)] for x, y in ring]]}


def franchise_cities(n: int, rng: np.random.Generator) -> list[int]:
    """One official office per city (as many cities as there are franchises, up to 50), then
    brand franchises in the cities in proportion to their size."""
    offices = min(n, len(CITIES))
    brands = rng.choice(len(CITIES), size=n - offices, p=city_shares())
    return list(range(offices)) + sorted(int(c) for c in brands)


def seed_franchises(n: int, rng: np.random.Generator) -> tuple[list[int], list[int], int]:
    from franchises.models import Franchise

    cities = franchise_cities(n, rng)
    offices = min(n, len(CITIES))
    rows = []
    for i, c in enumerate(cities):
        city = CITIES[c]
        if i < offices:
            rows.append(Franchise(
                name=f"{city.name} office", kind=Franchise.Kind.OFFICIAL_OFFICE, city=city.name,
                timezone=city.timezone, territory=box(city.lat, city.lng, OFFICE_HALF_SIDE_KM),
            ))
        else:
            lat, lng = offset_points(rng, np.array([city.lat]), np.array([city.lng]),
                                     np.array([8.0]))
            rows.append(Franchise(
                name=f"{city.name} brand {i}", kind=Franchise.Kind.BRAND_FRANCHISE,
                city=city.name, timezone=city.timezone,
                territory=box(float(lat[0]), float(lng[0]), BRAND_HALF_SIDE_KM),
            ))
    created = Franchise.objects.bulk_create(rows, batch_size=500)
    return [f.pk for f in created], cities, offices


def seed_clients_and_sites(
    franchise_ids: list[int], cities: list[int], sites_per_franchise: int,
    rng: np.random.Generator,
) -> dict[int, list[tuple[int, int]]]:
    """Clients of each franchise, and their sites around the franchise's city (8 km spread)."""
    from clients.models import Client, Site

    clients = Client.objects.bulk_create(
        [
            Client(name=f"Client {f}-{j}", franchise_id=f)
            for f in franchise_ids for j in range(CLIENTS_PER_FRANCHISE)
        ],
        batch_size=2000,
    )
    site_rows: list[Any] = []
    for i, franchise_id in enumerate(franchise_ids):
        city = CITIES[cities[i]]
        own = clients[i * CLIENTS_PER_FRANCHISE:(i + 1) * CLIENTS_PER_FRANCHISE]
        n = sites_per_franchise
        lat, lng = offset_points(rng, np.full(n, city.lat), np.full(n, city.lng), np.full(n, 8.0))
        conditions = rng.choice(["warm_indoor", "cold_indoor", "outdoor", "heavy"], size=n,
                                p=[0.5, 0.2, 0.2, 0.1])
        for j in range(n):
            site_rows.append(Site(
                client=own[j % len(own)], address=f"{city.name}, site {franchise_id}-{j}",
                lat=float(lat[j]), lng=float(lng[j]), conditions=str(conditions[j]),
            ))
    sites = Site.objects.bulk_create(site_rows, batch_size=2000)
    by_franchise: dict[int, list[tuple[int, int]]] = {f: [] for f in franchise_ids}
    client_franchise = {c.pk: c.franchise_id for c in clients if c.franchise_id is not None}
    for site in sites:
        by_franchise[client_franchise[site.client_id]].append((site.client_id, site.pk))
    return by_franchise


def seed_workers(n: int, rng: np.random.Generator, now: datetime) -> int:
    """``n`` active, vetted workers around the cities (by size; 10 km spread, a sixth in the
    suburbs at 30 km), with skills and offer histories, by ``COPY``. Returns the opted-out."""
    from messaging.models import OptOut
    from workers.models import Worker

    city = rng.choice(len(CITIES), size=n, p=city_shares())
    sigma = np.where(rng.random(n) < 0.15, 30.0, 10.0)
    lat, lng = offset_points(
        rng, np.array([c.lat for c in CITIES])[city], np.array([c.lng for c in CITIES])[city],
        sigma,
    )
    h = worker_histories(rng, n, reply=0.7, accept=0.55)
    skills, shifts, received, answered, accepted = (
        h.skills, h.shifts, h.received, h.answered, h.accepted
    )
    rating, reliability, no_shows, english = h.rating, h.reliability, h.no_shows, h.english
    vetted = [now - timedelta(days=int(d)) for d in rng.integers(1, 900, n)]
    names = list(skills)

    def rows() -> Iterator[tuple[Any, ...]]:
        for i in range(n):
            tags = [s for s in names if skills[s][i]]
            yield (
                f"Worker {i:06d}", f"+7916{i:07d}", float(lat[i]), float(lng[i]),
                CITIES[city[i]].name, "," + ",".join(sorted(tags)) + ",", "active",
                "en" if english[i] else "ru", "", "", float(rating[i]), float(reliability[i]),
                int(shifts[i]), int(no_shows[i]), int(received[i]), int(answered[i]),
                int(accepted[i]), vetted[i], now,
            )

    copy_rows(
        Worker,
        ["name", "phone", "lat", "lng", "home_area", "skills", "status", "language", "photo",
         "notes", "rating", "reliability", "shifts_completed", "no_shows", "offers_received",
         "offers_answered", "offers_accepted", "vetted_at", "created_at"],
        rows(),
    )
    # Half a percent of the pool texted STOP at some point: their offers are never written.
    opted = np.flatnonzero(rng.random(n) < 0.005)
    OptOut.objects.bulk_create(
        [OptOut(phone=f"+7916{i:07d}", opted_out_at=now, keyword="STOP") for i in opted],
        batch_size=2000,
    )
    return len(opted)


def seed(args: argparse.Namespace, rng: np.random.Generator) -> Network:
    from django.utils import timezone

    now = timezone.now()
    franchise_ids, cities, offices = seed_franchises(args.franchises, rng)
    per_franchise = max(4, -(-args.orders // len(franchise_ids)))
    sites = seed_clients_and_sites(franchise_ids, cities, per_franchise, rng)
    opted = seed_workers(args.workers, rng, now)
    vacuum_analyze()
    return Network(franchise_ids, cities, offices, sites, args.workers, opted)


# --- Orders ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderPlan:
    franchise_id: int
    client_id: int
    site_id: int
    work_type: str
    headcount: int
    start: datetime
    hours: int


def order_day_start(timezone_name: str, now: datetime) -> datetime:
    """Midnight of the day after tomorrow in the franchise's time zone."""
    zone = ZoneInfo(timezone_name)
    day = now.astimezone(zone).date() + timedelta(days=2)
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def plan_orders(network: Network, n: int, rng: np.random.Generator, now: datetime
                ) -> list[OrderPlan]:
    """``n`` orders spread evenly over the franchises, at their sites, for one day."""
    kinds = list(WORK_TYPE_SHARES)
    work = rng.choice(kinds, size=n, p=list(WORK_TYPE_SHARES.values()))
    heads = rng.choice(HEADCOUNTS, size=n, p=HEADCOUNT_SHARES)
    hour = rng.integers(6, 19, n)
    hours = rng.choice(SHIFT_HOURS, size=n)
    plans = []
    for i in range(n):
        f = i % len(network.franchise_ids)
        franchise_id = network.franchise_ids[f]
        client_id, site_id = network.sites_by_franchise[franchise_id][
            (i // len(network.franchise_ids)) % len(network.sites_by_franchise[franchise_id])
        ]
        day = order_day_start(CITIES[network.franchise_city[f]].timezone, now)
        plans.append(OrderPlan(
            franchise_id=franchise_id, client_id=client_id, site_id=site_id,
            work_type=str(work[i]), headcount=int(heads[i]),
            start=(day + timedelta(hours=int(hour[i]))).astimezone(UTC), hours=int(hours[i]),
        ))
    return plans


# --- Driver processes ------------------------------------------------------------------------


@dataclass
class ChildReport:
    """What one driver process did: per-item latencies (s), its peak memory (KiB)."""

    latencies: list[float] = field(default_factory=list)
    extra: Counter[str] = field(default_factory=Counter)
    max_rss_kib: int = 0


def child_init(env: dict[str, str]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the pool
    sys.path.insert(0, str(REPO))
    django_setup(env)


def child_done(report: ChildReport) -> ChildReport:
    from django.db import connections

    connections.close_all()
    report.max_rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return report


def place_orders(plans: list[OrderPlan]) -> ChildReport:
    """Place each order and start its call-out, as the API's two calls do."""
    from clients.models import Site
    from dispatch.services import callout_start, order_place

    report = ChildReport()
    sites = Site.objects.select_related("client__franchise").in_bulk([p.site_id for p in plans])
    for plan in plans:
        site = sites[plan.site_id]
        started = time.perf_counter()
        order = order_place(
            client=site.client, site=site, franchise=site.client.franchise,
            work_type=plan.work_type, headcount=plan.headcount, start=plan.start,
            hours=Decimal(plan.hours),
        )
        callout_start(order=order)
        report.latencies.append(time.perf_counter() - started)
    return child_done(report)


def send_replies(replies: list[tuple[str, str]]) -> ChildReport:
    """Each (phone, body) through the inbound webhook's service, a fresh MessageSid each."""
    from messaging.services import inbound_receive

    report = ChildReport()
    for phone, body in replies:
        started = time.perf_counter()
        result = inbound_receive(
            provider_sid="SM" + uuid.uuid4().hex, sender=phone, body=body, recipient=OUR_NUMBER
        )
        report.latencies.append(time.perf_counter() - started)
        report.extra["answered"] += result.reply is not None
    return child_done(report)


def run_in_processes(
    env: dict[str, str], function: Callable[[list[Any]], ChildReport], items: list[Any],
    processes: int,
) -> list[ChildReport]:
    """``function`` over ``items`` split round-robin between ``processes`` fresh processes
    (spawned: nothing of the driver's connections or threads is inherited)."""
    from django.db import connections

    connections.close_all()
    chunks = [items[i::processes] for i in range(processes)]
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes, initializer=child_init, initargs=(env,)) as pool:
        return pool.map(function, chunks, chunksize=1)


# --- Services: fake Twilio and the Celery worker ---------------------------------------------


class FakeTwilioProcess:
    def __init__(self, log: Any) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.fake_twilio_process", ACCOUNT_SID, AUTH_TOKEN],
            cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        self.base_url = self.process.stdout.readline().strip()
        if not self.base_url.startswith("http://"):
            raise RuntimeError(f"the fake Twilio server did not start: {self.base_url!r}")

    def counts(self) -> tuple[int, int]:
        """(messages accepted, requests received)."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write("count\n")
        self.process.stdin.flush()
        accepted, attempts = self.process.stdout.readline().split()
        return int(accepted), int(attempts)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        try:
            assert self.process.stdin is not None
            self.process.stdin.write("stop\n")
            self.process.stdin.flush()
            self.process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            stop_group(self.process)


def stop_group(process: subprocess.Popen[Any], grace: float = 30.0) -> None:
    """SIGTERM (a Celery worker's warm shutdown finishes its running task), then SIGKILL."""
    report_stop_group(process, ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)))


def celery_command(concurrency: int) -> list[str]:
    return [
        str(Path(sys.executable).with_name("celery")), "-A", "config", "worker",
        "--pool", "prefork", "--concurrency", str(concurrency), "--loglevel", "WARNING",
        "--without-gossip", "--without-mingle", "-n", "bench_scale@%h",
    ]


def start_celery(env: dict[str, str], concurrency: int, log: Any) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        celery_command(concurrency), cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    from config.celery import app

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Celery worker exited with {process.returncode}")
        if app.control.ping(timeout=1.0):
            return process
    stop_group(process)
    raise RuntimeError("the Celery worker did not answer a ping within 90 s")


def children_of(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


def process_tree(pid: int) -> list[int]:
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children_of(current))
    return tree


# --- Measuring CPU and memory ----------------------------------------------------------------


def stat_cpu(pid: int, *, reaped: bool = False) -> float:
    """CPU seconds of a process (and of its waited-for children when ``reaped``)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = raw[raw.rindex(")") + 2:].split()
    ticks = int(fields[11]) + int(fields[12])
    if reaped:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLOCK_TICKS


def postgres_cpu() -> float:
    """Every PostgreSQL process, plus what ended backends used (in the postmaster's reaped
    time)."""
    return sum(
        stat_cpu(pid, reaped=True) for pid, name, _ in proc_stats() if name == "postgres"
    )


def machine_busy() -> float:
    values = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / CLOCK_TICKS


def vm_hwm_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class CpuSample:
    at: float
    when: datetime
    driver: float
    celery: float
    twilio: float
    postgres: float
    machine: float


@dataclass
class Meters:
    """CPU of the run's processes; peak memory of the long-lived ones, kept as they go."""

    celery_pid: int = 0
    twilio_pid: int = 0
    peak_kib: dict[str, int] = field(default_factory=dict)

    def sample(self) -> CpuSample:
        times = os.times()
        self.remember_memory()
        return CpuSample(
            at=time.monotonic(), when=datetime.now(UTC),
            # The driver's reaped children are its spawned driver processes.
            driver=times.user + times.system + times.children_user + times.children_system,
            celery=sum(
                stat_cpu(pid, reaped=pid == self.celery_pid)
                for pid in process_tree(self.celery_pid)
            ) if self.celery_pid else 0.0,
            twilio=stat_cpu(self.twilio_pid) if self.twilio_pid else 0.0,
            postgres=postgres_cpu(),
            machine=machine_busy(),
        )

    def remember_memory(self) -> None:
        def keep(name: str, kib: int) -> None:
            self.peak_kib[name] = max(self.peak_kib.get(name, 0), kib)

        if self.celery_pid:
            keep("Celery worker, main process", vm_hwm_kib(self.celery_pid))
            for pid in children_of(self.celery_pid):
                keep("Celery worker, largest pool process", vm_hwm_kib(pid))
        if self.twilio_pid:
            keep("fake Twilio server", vm_hwm_kib(self.twilio_pid))
        keep("driver (the script itself)", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


# --- The periodic jobs -----------------------------------------------------------------------


class Periodic:
    """What ``celery beat`` would do for this run, from a thread: the outbox sweep every
    ``PERIODIC_SECONDS`` (called here, counting the rows it hands over again), and, once
    ``steps`` is set, ``run_due_steps`` queued for the Celery worker."""

    def __init__(self, meters: Meters) -> None:
        self.meters = meters
        self.swept = 0
        self.steps = False
        self.stopping = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self.loop, name="periodic", daemon=True)

    def start(self) -> Periodic:
        self.thread.start()
        return self

    def loop(self) -> None:
        from django.db import connection

        from dispatch.tasks import run_due_steps
        from messaging.services import outbox_sweep

        try:
            while not self.stopping.wait(PERIODIC_SECONDS):
                self.swept += outbox_sweep()
                if self.steps:
                    run_due_steps.apply_async()
                self.meters.remember_memory()
        except BaseException as error:  # reported by the driver, which stops the run
            self.error = error
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=30)

    def check(self) -> None:
        if self.error is not None:
            raise RuntimeError(f"the periodic jobs failed: {self.error!r}") from self.error


# --- Waiting for the outbox ------------------------------------------------------------------


def outbox_left() -> tuple[int, int]:
    """Outbound rows still to send (queued or sending), and rows failed."""
    from django.db.models import Count, Q

    from messaging.models import Direction, Message, Status

    counts = Message.objects.filter(direction=Direction.OUT).aggregate(
        left=Count("id", filter=Q(status__in=[Status.QUEUED, Status.SENDING])),
        failed=Count("id", filter=Q(status=Status.FAILED)),
    )
    return counts["left"], counts["failed"]


def wait_until(check: Callable[[], bool], what: str, periodic: Periodic,
               progress: Callable[[], str]) -> None:
    deadline = time.monotonic() + STAGE_TIMEOUT_SECONDS
    last_said = time.monotonic()
    while not check():
        periodic.check()
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not done after {STAGE_TIMEOUT_SECONDS} s ({progress()})")
        if time.monotonic() - last_said >= 15:
            say(f"  waiting for {what}: {progress()}")
            last_said = time.monotonic()
        time.sleep(POLL_SECONDS)


def outbox_drained(periodic: Periodic, what: str) -> None:
    def progress() -> str:
        left, failed = outbox_left()
        return f"{left:,} to send, {failed:,} failed"

    wait_until(lambda: outbox_left()[0] == 0, what, periodic, progress)


# --- The stages ------------------------------------------------------------------------------


@dataclass
class Stage:
    name: str
    what: str
    begin: CpuSample
    end: CpuSample
    sms: int = 0

    @property
    def seconds(self) -> float:
        return self.end.at - self.begin.at

    def cpu(self, part: str) -> float:
        return getattr(self.end, part) - getattr(self.begin, part)

    @property
    def sms_per_hour(self) -> float:
        return self.sms / self.seconds * 3600 if self.seconds > 0 else 0.0


@dataclass
class Run:
    stages: list[Stage] = field(default_factory=list)
    place: list[ChildReport] = field(default_factory=list)
    replies: list[ChildReport] = field(default_factory=list)
    counts: dict[str, Any] = field(default_factory=dict)
    fake_accepted: int = 0
    fake_attempts: int = 0
    swept: int = 0
    seed_seconds: float = 0.0
    network: Network | None = None
    memory: dict[str, int] = field(default_factory=dict)  # peak KiB by process
    window_wait: float = 0.0  # seconds the assignment stage waited for the last batch window


def sms_sent_between(begin: datetime, end: datetime) -> int:
    from messaging.models import Direction, Message

    return Message.objects.filter(
        direction=Direction.OUT, provider_sid__startswith="SM", sent_at__gte=begin,
        sent_at__lt=end,
    ).exclude(purpose="reply").count()


def plan_replies(share: float, accept: float, rng: random.Random) -> list[tuple[str, str]]:
    """(phone, body) for a ``share`` of the offers whose SMS went out, a yes for ``accept``
    of them, worded as workers word them, in random order."""
    from django.db.models import CharField, F
    from django.db.models.functions import Cast

    from dispatch.models import Offer

    offers = list(
        Offer.objects.filter(state=Offer.State.OFFERED, response__isnull=True)
        .annotate(phone_text=Cast("worker__phone", CharField()))
        .values_list("phone_text", F("order__code"), F("worker__language"))
        .order_by("id")
    )
    replies = []
    for phone, code, language in offers:
        if rng.random() >= share:
            continue
        yes = rng.random() < accept
        if language == "ru":
            word = rng.choice(["ДА", "Да", "да", "DA", "YES"] if yes else ["НЕТ", "Нет", "нет"])
        else:
            word = rng.choice(["YES", "Yes", "y", "OK"] if yes else ["NO", "No", "n"])
        typed = code.lower() if rng.random() < 0.2 else code
        replies.append((phone, f"{word} {typed}"))
    rng.shuffle(replies)
    return replies


def final_counts(run: Run) -> None:
    from django.db.models import Count, Max, Min, Q, Sum

    from dispatch.models import Offer, Order, Step
    from messaging.models import Direction, Message, Status

    offers = Offer.objects.aggregate(
        offers=Count("id"),
        accepted=Count("id", filter=Q(response=Offer.Response.ACCEPTED)),
        declined=Count("id", filter=Q(response=Offer.Response.DECLINED)),
        confirmed=Count("id", filter=Q(state=Offer.State.CONFIRMED)),
        standby=Count("id", filter=Q(state=Offer.State.STANDBY)),
        released=Count("id", filter=Q(state=Offer.State.RELEASED)),
        still_offered=Count("id", filter=Q(state=Offer.State.OFFERED)),
    )
    orders = Order.objects.aggregate(
        orders=Count("id"),
        filled=Count("id", filter=Q(status=Order.Status.FILLED)),
        calling=Count("id", filter=Q(status=Order.Status.CALLING)),
        headcount=Sum("headcount"),
        places=Sum("booking_target"),
    )
    by_purpose = {
        row["purpose"]: row
        for row in Message.objects.filter(direction=Direction.OUT).exclude(purpose="reply")
        .values("purpose").annotate(
            rows=Count("id"),
            sent=Count("id", filter=Q(status=Status.SENT)),
            failed=Count("id", filter=Q(status=Status.FAILED)),
            segments=Sum("segments", filter=Q(status=Status.SENT)),
            first=Min("created_at"), last=Max("sent_at"),
        )
    }
    inbound = Message.objects.filter(direction=Direction.IN).count()
    twiml = Message.objects.filter(direction=Direction.OUT, purpose="reply").count()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT date_trunc('second', sent_at) s, sum(segments), count(*) FROM "
            f"{Message._meta.db_table} WHERE direction = %s AND purpose <> 'reply' AND "
            "sent_at IS NOT NULL GROUP BY s ORDER BY 2 DESC LIMIT 1",
            [Direction.OUT],
        )
        busiest = cursor.fetchone() or (None, 0, 0)
    steps = Step.objects.filter(kind=Step.Kind.ASSIGN).aggregate(
        total=Count("id"), done=Count("id", filter=Q(done_at__isnull=False))
    )
    # Each batch's own time on the Celery worker. A `run_due_steps` call stamps every step it
    # claims with its own start, so the steps of one call share `claimed_at`, and each batch
    # took from the previous one's end (or the call's start) to its own end.
    calls: dict[datetime, list[datetime]] = {}
    for claimed, done in Step.objects.filter(
        kind=Step.Kind.ASSIGN, done_at__isnull=False, claimed_at__isnull=False
    ).values_list("claimed_at", "done_at"):
        if claimed is not None and done is not None:  # both, by the filter
            calls.setdefault(claimed, []).append(done)
    batch_seconds = []
    for claimed, ends in calls.items():
        previous = claimed
        for done in sorted(ends):
            batch_seconds.append((done - previous).total_seconds())
            previous = done
    run.counts.update({
        **offers, **orders, "by_purpose": by_purpose, "inbound": inbound, "twiml": twiml,
        "busiest_segments": int(busiest[1] or 0), "busiest_sms": int(busiest[2] or 0),
        "assign_steps": steps["total"], "assign_done": steps["done"],
        "batch_seconds": batch_seconds,
    })


@contextmanager
def stage(run: Run, meters: Meters, name: str, what: str) -> Iterator[None]:
    say(f"stage {name}: {what}")
    begin = meters.sample()
    yield
    end = meters.sample()
    current = Stage(name, what, begin, end, sms_sent_between(begin.when, end.when))
    run.stages.append(current)
    say(
        f"stage {name}: {current.seconds:.1f} s, {current.sms:,} SMS sent "
        f"({current.sms_per_hour:,.0f}/h); CPU s driver {current.cpu('driver'):.0f}, celery "
        f"{current.cpu('celery'):.0f}, fake Twilio {current.cpu('twilio'):.0f}, postgres "
        f"{current.cpu('postgres'):.0f}, machine {current.cpu('machine'):.0f}"
    )


def execute(args: argparse.Namespace, env: dict[str, str], *, meters: Meters,
            periodic: Periodic, run: Run) -> None:
    network = run.network
    assert network is not None
    from django.utils import timezone

    from dispatch.models import Offer, Step

    rng = np.random.default_rng(args.seed + 1)
    plans = plan_orders(network, args.orders, rng, timezone.now())
    with stage(run, meters, "place orders",
               f"`order_place` + `callout_start` for {len(plans):,} orders, "
               f"{args.drivers} driver processes"):
        run.place = run_in_processes(env, place_orders, plans, args.drivers)
    with stage(run, meters, "send offers", "until the outbox is empty"):
        outbox_drained(periodic, "the offers' SMS")
    replies = plan_replies(args.reply_share, args.accept_share, random.Random(args.seed))
    with stage(run, meters, "replies",
               f"{len(replies):,} `inbound_receive` calls, {args.drivers} driver processes"):
        run.replies = run_in_processes(env, send_replies, replies, args.drivers)
    with stage(run, meters, "assignment",
               "`run_due_steps` on the Celery worker until every `ASSIGN` step is done"):
        pending = Step.objects.filter(kind=Step.Kind.ASSIGN, done_at__isnull=True)
        latest = max(pending.values_list("due_at", flat=True), default=timezone.now())
        run.window_wait = max(0.0, (latest - timezone.now()).total_seconds())
        time.sleep(run.window_wait)
        from dispatch.tasks import run_due_steps

        for _ in range(args.concurrency):
            run_due_steps.apply_async(kwargs={"limit": 1000})
        periodic.steps = True
        wait_until(
            lambda: not pending.exists(), "the batch assignments", periodic,
            lambda: f"{pending.count():,} franchises' batches to run",
        )
    with stage(run, meters, "send outcomes",
               "until every confirmation, standby and release SMS is sent"):
        outbox_drained(periodic, "the outcome SMS")
    run.counts["offered_after_replies"] = Offer.objects.filter(
        state=Offer.State.OFFERED
    ).count()


# --- The report ------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def mib(kib: int) -> str:
    return f"{kib / 1024:,.0f}"


PARTS = (("driver", "driver"), ("celery", "Celery"), ("twilio", "fake Twilio"),
         ("postgres", "PostgreSQL"))


def render(args: argparse.Namespace, run: Run, *, command: str, facts: str, when: str) -> str:
    network = run.network
    assert network is not None
    c = run.counts
    purposes = c["by_purpose"]
    offer_sms = purposes.get("offer", {})
    total_seconds = sum(s.seconds for s in run.stages)
    total_sms = sum(s.sms for s in run.stages)
    first = run.stages[0].begin
    last = run.stages[-1].end
    out = [
        HEADING,
        "",
        f"`{command}` ({when}; {code_version()}). Written by `bench/bench_scale.py`; what it "
        f"measures and why is in its docstring.",
        "",
        f"Machine: {facts}.",
        "",
        f"The network: {network.workers:,} active, vetted workers ({network.opted_out:,} opted "
        f"out) around {len(CITIES)} cities; {len(network.franchise_ids):,} franchises "
        f"({network.offices} official offices, one per city, the others brand franchises by "
        f"city size) with {CLIENTS_PER_FRANCHISE} clients each; seeded in "
        f"{run.seed_seconds:.0f} s (workers by `COPY`, the rest by `bulk_create`, migrations "
        f"and `VACUUM ANALYZE` included). {c['orders']:,} orders for the day after tomorrow "
        f"(headcount {c['headcount']:,}, booking targets {c['places']:,}).",
        "",
        f"Processes: one Celery worker, `celery -A config worker --pool prefork --concurrency "
        f"{args.concurrency}`; the fake Twilio server in a process of its own; {args.drivers} "
        f"driver processes placing orders and sending replies; the outbox sweep every "
        f"{PERIODIC_SECONDS:.0f} s from the driver. `SMS_BACKEND=twilio` with a Messaging "
        f"Service, `SMS_SENDER_RATE_PER_SECOND={SENDER_RATE_PER_SECOND}` (the busiest second "
        f"sent {c['busiest_segments']:,} segments in {c['busiest_sms']:,} SMS), "
        f"`DISPATCH_BATCH_WINDOW_MINUTES={BATCH_WINDOW_MINUTES}`, "
        f"`DISPATCH_WAVE_INTERVAL_MINUTES={WAVE_INTERVAL_MINUTES}` (one wave per order).",
        "",
        "CPU seconds are per process group; \"other\" is the rest of the machine's busy time "
        "(Redis, the kernel, anything else running), which shows when the run was disturbed.",
        "",
        "| stage | what | wall s | SMS sent | SMS / hour | CPU s: "
        + " / ".join(label for _, label in PARTS) + " / other | busy cores |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for s in run.stages:
        other = s.cpu("machine") - sum(s.cpu(part) for part, _ in PARTS)
        cpu = " / ".join(f"{s.cpu(part):,.0f}" for part, _ in PARTS) + f" / {other:,.0f}"
        out.append(
            f"| {s.name} | {s.what} | {s.seconds:,.1f} | {s.sms:,} | {s.sms_per_hour:,.0f} | "
            f"{cpu} | {s.cpu('machine') / s.seconds:.2f} |"
        )
    used = {part: getattr(last, part) - getattr(first, part) for part, _ in PARTS}
    other_all = last.machine - first.machine - sum(used.values())
    cpu_all = " / ".join(f"{used[part]:,.0f}" for part, _ in PARTS) + f" / {other_all:,.0f}"
    out.append(
        f"| **all stages** | | **{total_seconds:,.1f}** | **{total_sms:,}** | "
        f"**{total_sms / total_seconds * 3600:,.0f}** | {cpu_all} | "
        f"{(last.machine - first.machine) / total_seconds:.2f} |"
    )
    sending = [s for s in run.stages if s.name.startswith("send ")]
    sent_alone = sum(s.sms for s in sending)
    per_sms = ", ".join(
        f"{label} {sum(s.cpu(part) for s in sending) / max(1, sent_alone) * 1000:.1f}"
        for part, label in PARTS[1:]
    )
    out += [
        "",
        f"CPU per SMS while only sending (the two \"send\" stages, {sent_alone:,} SMS), ms: "
        f"{per_sms}. The fake Twilio server answers HTTP/1.0, so each request opens a new "
        f"connection; Twilio itself keeps connections alive.",
    ]
    place, send = run.stages[0], run.stages[1]
    offers_window = place.seconds + send.seconds
    out += [
        "",
        f"The offers: {offer_sms.get('sent', 0):,} SMS sent ({offer_sms.get('failed', 0):,} "
        f"failed) in {offers_window:,.1f} s from the first order placed to the last SMS "
        f"accepted: **{offer_sms.get('sent', 0) / offers_window * 3600:,.0f} SMS an hour** "
        f"(the design's peak is 20,000). The outbox sweep handed {run.swept:,} rows over again "
        f"(their send task was still queued when the row's lease ran out: 2 minutes, then as "
        f"long again as it had waited). The fake Twilio "
        f"server accepted {run.fake_accepted:,} messages in {run.fake_attempts:,} requests; "
        f"the database holds {total_sent(purposes):,} outbound rows sent.",
        "",
        "| SMS | rows | sent | failed | segments sent |",
        "|---|---:|---:|---:|---:|",
    ]
    for purpose, row in sorted(purposes.items()):
        out.append(
            f"| {purpose} | {row['rows']:,} | {row['sent']:,} | {row['failed']:,} | "
            f"{row['segments'] or 0:,} |"
        )
    place_latency = [x for r in run.place for x in r.latencies]
    reply_latency = [x for r in run.replies for x in r.latencies]
    replies_stage = run.stages[2]
    out += [
        "",
        f"Orders: {c['orders']:,} placed, {c['offers']:,} offers (wave 1), "
        f"{c['filled']:,} filled, {c['calling']:,} still calling. Placing one order "
        f"(`order_place` + `callout_start`, with the Celery worker sending meanwhile): median "
        f"{percentile(place_latency, 50) * 1000:,.0f} ms, p90 "
        f"{percentile(place_latency, 90) * 1000:,.0f} ms.",
        "",
        f"Replies: {len(reply_latency):,} through `inbound_receive` "
        f"({len(reply_latency) / replies_stage.seconds:,.0f} a second), "
        f"{c['accepted']:,} yes, {c['declined']:,} no; one reply: median "
        f"{percentile(reply_latency, 50) * 1000:,.1f} ms, p90 "
        f"{percentile(reply_latency, 90) * 1000:,.1f} ms. Assignment: "
        f"{c['assign_done']:,} of {c['assign_steps']:,} franchise batches run (the stage "
        f"first waited {run.window_wait:.1f} s for the last batch window to close; one batch "
        f"on the Celery worker: median {percentile(c['batch_seconds'], 50):.2f} s, p90 "
        f"{percentile(c['batch_seconds'], 90):.2f} s, max {max(c['batch_seconds'] or [0]):.2f} "
        f"s, {sum(c['batch_seconds']):,.1f} s in all); "
        f"{c['confirmed']:,} confirmed, {c['standby']:,} standby, {c['released']:,} released; "
        f"{c['offered_after_replies']:,} offers left open (orders still calling).",
        "",
        "Peak memory (VmHWM, MiB): "
        + "; ".join(f"{name} {mib(kib)}" for name, kib in sorted(run_memory(run).items()))
        + ".",
        "",
    ]
    return "\n".join(out)


def total_sent(purposes: dict[str, dict[str, Any]]) -> int:
    return sum(row["sent"] for row in purposes.values())


def run_memory(run: Run) -> dict[str, int]:
    memory = dict(run.memory)
    for label, reports in (("driver processes placing orders", run.place),
                           ("driver processes sending replies", run.replies)):
        if reports:
            memory[f"{label} (largest)"] = max(r.max_rss_kib for r in reports)
    return memory


# --- Main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--workers", type=int, default=100_000, help="size of the pool")
    parser.add_argument("--franchises", type=int, default=450)
    parser.add_argument("--orders", type=int, default=5_000, help="orders placed for one day")
    parser.add_argument("--reply-share", type=float, default=0.7,
                        help="share of the offers answered")
    parser.add_argument("--accept-share", type=float, default=0.55,
                        help="share of the answers that are a yes")
    parser.add_argument("--drivers", type=int, default=2,
                        help="processes placing orders and sending replies")
    parser.add_argument("--concurrency", type=int, default=4,
                        help="processes of the Celery worker")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--admin-url", default=admin_database_url(),
        help="PostgreSQL URL allowed to create databases (env BENCH_ADMIN_DATABASE_URL)",
    )
    parser.add_argument("--write", action="store_true", help=f"replace {HEADING!r} in the docs")
    args = parser.parse_args(argv)
    if args.franchises < 1 or args.orders < 1 or args.workers < 1:
        parser.error("--workers, --franchises and --orders must be positive")
    return args


@dataclass
class Services:
    """The processes the run starts, to stop whatever happens."""

    log: Any
    fake: FakeTwilioProcess | None = None
    celery: subprocess.Popen[bytes] | None = None
    periodic: Periodic | None = None

    def stop(self) -> None:
        if self.periodic is not None:
            self.periodic.stop()
        if self.celery is not None:
            stop_group(self.celery)
            say("stopped the Celery worker")
        if self.fake is not None:
            self.fake.stop()
            say("stopped the fake Twilio server")

    def log_tail(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return str(self.log.read()[-4000:])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # A plain `kill` must still stop the worker and the server and drop the database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    command = command_line("bench.bench_scale", argv)
    postgres = create_database(args.admin_url, DB_NAME)
    say(f"created database {DB_NAME} (PostgreSQL {postgres})")
    facts = machine_facts(postgres)
    with tempfile.NamedTemporaryFile("w+", prefix="bench_scale_", suffix=".log") as log:
        services = Services(log)
        try:
            return bench(args, services, command=command, facts=facts)
        except Exception:
            tail = services.log_tail()
            if tail.strip():
                say(f"log of the Celery worker and the fake Twilio server (tail):\n{tail}")
            raise
        finally:
            services.stop()
            if "django" in sys.modules:
                from django.db import connections

                connections.close_all()
            drop_database(args.admin_url, DB_NAME)
            flush_redis()
            say(f"dropped database {DB_NAME}, flushed {REDIS_URL}")


def bench(args: argparse.Namespace, services: Services, *, command: str, facts: str) -> int:
    flush_redis()
    services.fake = fake = FakeTwilioProcess(services.log)
    env = app_env(database_url(args.admin_url, DB_NAME), fake.base_url)
    meters = Meters(twilio_pid=fake.process.pid)
    run = Run()
    started = time.perf_counter()
    django_setup(env)
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    run.network = seed(args, np.random.default_rng(args.seed))
    run.seed_seconds = time.perf_counter() - started
    say(f"seeded in {run.seed_seconds:.1f} s; starting the Celery worker")
    services.celery = start_celery(env, args.concurrency, services.log)
    meters.celery_pid = services.celery.pid
    services.periodic = periodic = Periodic(meters).start()
    execute(args, env, meters=meters, periodic=periodic, run=run)
    periodic.stop()
    run.swept = periodic.swept
    meters.remember_memory()
    run.memory = dict(meters.peak_kib)
    run.fake_accepted, run.fake_attempts = fake.counts()
    final_counts(run)
    section = render(args, run, command=command, facts=facts, when=now_utc())
    print(section)
    if args.write:
        write_section(HEADING, section)
        say(f"updated docs/benchmarks.md ({HEADING})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
