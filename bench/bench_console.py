"""The operator console at network scale: the board of a 1,000-order day and the client lookup
over 10,000 clients, on PostgreSQL.

    python -m bench.bench_console [--orders 1000] [--clients 10000] [--requests 30]
                                  [--seed 42] [--write]

What is measured, and why. The call centre works from two pages all day: the board (`/board/`,
HQ's start page, its rows polled every 5 seconds by every open browser) and order intake
(`/orders/new/`), whose client lookup runs as the operator types the caller's phone. Both must
answer with the same number of queries however many orders the day has and however many
clients the network has, and quickly enough to be polled and typed against.

A fresh database (``bench_console``) is created, migrated and seeded in two stages: first
100 orders for one day (with their offers in every state) and 1,000 clients, then 1,000 orders
and 10,000 clients. At each stage every request below is sent through Django's test client,
in process (no HTTP server: the figures are the view's own, with the session, the user, the
queries and the template), logged in as HQ or as a franchise: one captured run gives the
queries and their SQL time, then ``--requests`` timed runs give the median and p90. A request
whose query count changes between the stages fails the run (exit status 1). The database is
dropped at the end, whatever happens. ``--write`` replaces the "## Operator console" section
of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import math
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import (
    admin_database_url,
    command_line,
    create_database,
    database_url,
    drop_database,
    machine_facts,
    now_utc,
    write_section,
)

DB_NAME = "bench_console"
HEADING = "## Operator console"

# The network: (name, time zone, centre). Two zones, so HQ's board reads each city's own day.
CITIES = (
    ("Saint Petersburg office", "Europe/Moscow", 59.94, 30.31),
    ("Kazan office", "Europe/Moscow", 55.79, 49.12),
    ("Novosibirsk office", "Asia/Novosibirsk", 55.03, 82.92),
)
BRANDS = ("Lenta", "Magnit", "Okey", "Hoff", "Leroy Merlin", "Petrovich", "Metro", "Auchan",
          "Stroy Market", "Karusel", "Perekrestok", "Obi")
WORKERS = 3000
# The number the lookup types in full (client #5), and what it types of a number so far.
WHOLE_PHONE = "+79020000005"
TYPED = "8+902+000+0"
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def django_setup(url: str) -> None:
    """Point Django at the benchmark database, production-like (DEBUG off, quiet logs), and
    migrate it."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["DATABASE_URL"] = url
    os.environ["DEBUG"] = "false"
    os.environ["SMS_BACKEND"] = "simulator"
    os.environ["LOG_LEVEL"] = "WARNING"
    for name in ("REDIS_URL", "PUBLIC_BASE_URL"):
        os.environ.pop(name, None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    logging.getLogger("kombu.connection").setLevel(logging.ERROR)


def vacuum_analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


# --- The network -------------------------------------------------------------------------------


@dataclass
class Network:
    franchises: list[Any]
    hq_user: Any
    franchise_user: Any
    workers: list[int]
    day: date
    clients: int = 0
    orders: int = 0
    picked_client: int = 0  # a client whose phone the lookup types in full


def seed_network(rng: random.Random) -> Network:
    from franchises.models import Franchise
    from franchises.services import user_create
    from workers.models import Worker

    Franchise.objects.create(name="HQ", kind=Franchise.Kind.HQ, city="Moscow")
    franchises = [
        Franchise.objects.create(name=name, kind=Franchise.Kind.OFFICIAL_OFFICE,
                                 city=name.split(" office")[0], timezone=zone)
        for name, zone, _lat, _lng in CITIES
    ]
    hq_user = user_create(username="operator", password="bench-12345", role="hq")
    franchise_user = user_create(username="spb", password="bench-12345", role="franchise",
                                 franchise=franchises[0])
    now = datetime.now(ZoneInfo("UTC"))
    workers = []
    for index in range(WORKERS):
        _name, _zone, lat, lng = CITIES[index % len(CITIES)]
        workers.append(Worker(
            name=f"Worker {index}", phone=f"+7911{index:07d}", status=Worker.Status.ACTIVE,
            vetted_at=now - timedelta(days=30), lat=lat + rng.gauss(0, 0.1),
            lng=lng + rng.gauss(0, 0.15), skills=["loading"],
        ))
    Worker.objects.bulk_create(workers, batch_size=1000)
    return Network(
        franchises=franchises, hq_user=hq_user, franchise_user=franchise_user,
        workers=list(Worker.objects.values_list("id", flat=True)),
        day=(now + timedelta(days=1)).date(),
    )


def add_clients(network: Network, up_to: int, rng: random.Random) -> None:
    """Clients (each with a site) until the network has `up_to`; phones +7 902 ..."""
    from clients.models import Client, Site

    new = [
        Client(name=f"{rng.choice(BRANDS)} {CITIES[i % len(CITIES)][0].split(' office')[0]} "
                    f"#{i}",
               phone=f"+7902{i:07d}", franchise=network.franchises[i % len(CITIES)])
        for i in range(network.clients, up_to)
    ]
    Client.objects.bulk_create(new, batch_size=2000)
    sites = []
    for client in Client.objects.filter(
        pk__in=[c.pk for c in new], franchise__isnull=False
    ).select_related("franchise"):
        city = client.franchise.name if client.franchise else ""
        _name, _zone, lat, lng = next(c for c in CITIES if c[0] == city)
        sites.append(Site(client=client, address=f"{client.name}, warehouse",
                          lat=lat + rng.gauss(0, 0.05), lng=lng + rng.gauss(0, 0.08)))
    Site.objects.bulk_create(sites, batch_size=2000)
    network.clients = up_to
    if not network.picked_client:
        network.picked_client = Client.objects.get(phone=WHOLE_PHONE).pk


_codes = (
    "".join(letters) for letters in itertools.product(CODE_ALPHABET, repeat=4)
)


def add_orders(network: Network, up_to: int, rng: random.Random) -> None:
    """Orders of the benchmark day until it has `up_to`, starting 06:00-20:00 local, each
    with offers as a working day leaves them: confirmed, standby, released, still open."""
    from clients.models import Site
    from dispatch.models import Offer, Order

    sites = list(Site.objects.select_related("client__franchise")
                 .order_by("?")[: up_to - network.orders])
    status = Order.Status
    statuses = [status.DRAFT] * 1 + [status.CALLING] * 4 + [status.FILLED] * 4 + [
        status.CANCELLED] * 1
    now = datetime.now(ZoneInfo("UTC"))
    orders = []
    for site in sites:
        franchise = site.client.franchise
        if franchise is None:  # every client above has one
            continue
        zone = ZoneInfo(franchise.timezone)
        start = datetime.combine(network.day, datetime.min.time(), tzinfo=zone) + timedelta(
            minutes=rng.randrange(6 * 60, 20 * 60, 15))
        headcount = rng.randint(1, 15)
        hours = Decimal(rng.choice((4, 6, 8, 10)))
        orders.append(Order(
            code=next(_codes), client=site.client, site=site, franchise=franchise,
            work_type="loading", headcount=headcount, start=start, hours=hours,
            ends_at=start + timedelta(hours=float(hours)), bill_rate=Decimal(220),
            pay_rate=Decimal(100), status=rng.choice(statuses),
            booking_target=math.ceil(1.5 * headcount),
        ))
    Order.objects.bulk_create(orders, batch_size=1000)
    offers = []
    tokens = itertools.count(network.orders * 100)
    for order in orders:
        if order.status == status.DRAFT:
            continue
        invited = rng.sample(network.workers, order.booking_target * 2)
        accepted = rng.randint(0, len(invited))
        confirmed = min(accepted, order.booking_target) if order.status != status.CANCELLED else 0
        standby = min(accepted - confirmed, max(1, math.ceil(order.headcount * 0.2)))
        for index, worker_id in enumerate(invited):
            if index < confirmed:
                state = Offer.State.CONFIRMED
            elif index < confirmed + standby:
                state = Offer.State.STANDBY
            elif index < accepted:
                state = Offer.State.RELEASED
            else:
                state = Offer.State.OFFERED
            offers.append(Offer(
                order=order, worker_id=worker_id, sent_at=now, token=f"b{next(tokens)}",
                state=state if order.status != status.CANCELLED else Offer.State.CANCELLED,
                response=Offer.Response.ACCEPTED if index < accepted else None,
            ))
    Offer.objects.bulk_create(offers, batch_size=5000)
    network.orders = up_to


# --- Measuring ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    label: str
    who: str  # "hq" or "franchise"
    path: Callable[[Network], str]


REQUESTS = (
    Request("board, first page (HQ)", "hq", lambda n: f"/board/?day={n.day}"),
    Request("board rows, the 5-second poll (HQ)", "hq", lambda n: f"/board/rows/?day={n.day}"),
    Request("board, last page (HQ)", "hq", lambda n: f"/board/?day={n.day}&page=999"),
    Request("board, open orders only (HQ)", "hq",
            lambda n: f"/board/?day={n.day}&status=open"),
    Request("board, first page (franchise)", "franchise", lambda n: f"/board/?day={n.day}"),
    Request("lookup, phone typed so far (HQ)", "hq",
            lambda n: f"/orders/new/client/?phone={TYPED}"),
    Request("lookup, whole phone (HQ)", "hq",
            lambda n: f"/orders/new/client/?phone={WHOLE_PHONE.replace('+', '%2B')}"),
    Request("lookup, by name (HQ)", "hq", lambda n: "/orders/new/client/?client_name=lenta"),
    Request("lookup, client picked: its sites (HQ)", "hq",
            lambda n: f"/orders/new/client/?phone={TYPED}&client={n.picked_client}"),
    Request("lookup, phone typed so far (franchise)", "franchise",
            lambda n: f"/orders/new/client/?phone={TYPED}"),
)


@dataclass(frozen=True)
class Figures:
    queries: int
    sql_ms: float
    median_ms: float
    p90_ms: float
    rows: int  # board rows or lookup matches on the page


def measure(network: Network, requests: int) -> dict[str, Figures]:
    from django.db import connection
    from django.test import Client as Browser
    from django.test.utils import CaptureQueriesContext

    browsers = {}
    for who, user in (("hq", network.hq_user), ("franchise", network.franchise_user)):
        browsers[who] = Browser()
        browsers[who].force_login(user)
    results = {}
    for request in REQUESTS:
        browser, path = browsers[request.who], request.path(network)
        for _ in range(3):  # warm: the session, the plans, the template cache
            response = browser.get(path)
            assert response.status_code == 200, (path, response.status_code)
        with CaptureQueriesContext(connection) as captured:
            page = browser.get(path).content.decode()
        # Read now: the next request's start empties the connection's log they are read from.
        queries = list(captured.captured_queries)
        timings = []
        for _ in range(requests):
            started = time.perf_counter()
            browser.get(path)
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        results[request.label] = Figures(
            queries=len(queries),
            sql_ms=sum(float(query["time"]) for query in queries) * 1000,
            median_ms=statistics.median(timings),
            p90_ms=timings[min(len(timings) - 1, math.ceil(0.9 * len(timings)) - 1)],
            rows=page.count("<tr id=") + page.count('name="client" value="') - (
                1 if 'id="client-new"' in page else 0),
        )
    return results


# --- Report ------------------------------------------------------------------------------------


def render(stages: list[tuple[str, dict[str, Figures]]], *, command: str, facts: str,
           when: str, requests: int, flat: bool) -> str:
    small_label, small = stages[0]
    large_label, large = stages[-1]
    lines = [
        HEADING,
        "",
        f"`{command}` ({when}). {facts}.",
        "",
        "The board of one day and the client lookup of order intake, through Django's test "
        "client in process (session, user, queries, template; no HTTP server), logged in as "
        "HQ or as the Saint Petersburg franchise. Seeded in two stages: "
        f"{small_label}, then {large_label}; each order has its offers in every state "
        "(about twice its booking target). Queries and their SQL time from one captured "
        f"request; median and p90 of {requests} timed requests after three warm-up ones.",
        "",
        f"| request | queries, {small_label} | queries, {large_label} | rows | "
        f"median ms, {small_label} | median ms, {large_label} | p90 ms | SQL ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for request in REQUESTS:
        a, b = small[request.label], large[request.label]
        lines.append(
            f"| {request.label} | {a.queries} | {b.queries} | {b.rows} | {a.median_ms:.1f} | "
            f"{b.median_ms:.1f} | {b.p90_ms:.1f} | {b.sql_ms:.1f} |"
        )
    busy = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    cores = os.cpu_count() or 1
    lines += [
        "",
        ("Every request read the same number of queries at both sizes." if flat else
         "**Some request's query count grew with the data (see the table): a regression.**"),
        "The board counts the day's orders once and reads one page of 50 rows with their "
        "offer funnel in one query (`dispatch.selectors.orders_with_counts_by_id`); the "
        "lookup is one query for the matches (E.164 prefixes on the indexed phone column, "
        "or the name) and one for a picked client's sites. The rest are the session, the "
        "user, HQ's time zone, the time zones of the network (HQ's board only) and the "
        "franchise filter's list (HQ only).",
        "",
    ]
    if busy > cores:
        lines[-1:-1] = [
            "",
            f"The machine was shared while this ran (load average {busy:.1f} on {cores} "
            "cores at the end): the times are what a loaded machine gave, upper bounds; "
            "the query counts are what the run checks.",
        ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000, help="orders of the day, at the end")
    parser.add_argument("--clients", type=int, default=10000, help="clients, at the end")
    parser.add_argument("--requests", type=int, default=30, help="timed requests of each kind")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--write", action="store_true",
                        help=f"replace the {HEADING!r} section of docs/benchmarks.md")
    parser.add_argument("--admin-url", default=admin_database_url(),
                        help="a PostgreSQL URL that may create and drop databases")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = command_line("bench.bench_console", argv)
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
    rng = random.Random(args.seed)
    network = seed_network(rng)
    sizes = [(max(1, args.orders // 10), max(1, args.clients // 10)),
             (args.orders, args.clients)]
    stages = []
    for orders, clients in sizes:
        started = time.perf_counter()
        add_clients(network, clients, rng)
        add_orders(network, orders, rng)
        vacuum_analyze()
        label = f"{orders:,} orders / {clients:,} clients"
        say(f"seeded {label} in {time.perf_counter() - started:.0f} s; measuring")
        stages.append((label, measure(network, args.requests)))
    flat = all(stages[0][1][r.label].queries == stages[-1][1][r.label].queries
               for r in REQUESTS)
    section = render(stages, command=command, facts=facts, when=when,
                     requests=args.requests, flat=flat)
    print(section)
    if args.write:
        write_section(HEADING, section)
        say(f"updated docs/benchmarks.md ({HEADING})")
    return 0 if flat else 1


if __name__ == "__main__":
    sys.exit(main())
