"""A morning replayed on loopback: workers' SMS replies pour in while operators place orders,
start their call-outs and read the board, against the whole production process layout.

    python -m bench.bench_morning [--replies 20000] [--orders 500] [--rate 200]
                                  [--workers 3000] [--operators 5] [--web 4] [--celery 2]
                                  [--drain 120] [--budget SECONDS] [--json] [--write]
                                  [--keep]

What runs, all on this machine:

1. a fresh PostgreSQL database (``bench_morning``, through ``BENCH_ADMIN_DATABASE_URL``),
   migrated, with one franchise, a client and its site, ``--workers`` active workers around
   it and ``--operators`` operator logins;
2. a private redis-server on a spare port (the broker), the fake Twilio server in its own
   process (``bench.fake_twilio_process``), and the Procfile's three processes: gunicorn
   (``--web`` sync workers; ``DEBUG=false``, signature checks on), a Celery worker
   (``--celery`` processes) and beat;
3. the replies: ``--replies`` signed inbound SMS posted to ``/webhooks/twilio/sms/`` on a fixed
   schedule of ``--rate`` a second (a morning's replies in compressed time; the open loop
   counts each latency from the request's scheduled moment, so falling behind shows in p99):
   yes and no to the orders placed so far, HELP, chatter, and unknown numbers;
4. meanwhile the operators place ``--orders`` orders through the API, start each call-out
   (wave 1 of offers goes out through the worker to the fake Twilio) and read the board page
   and its 5-second rows after each;
5. once the replies are sent, the outbox is given ``--drain`` seconds to empty.

Recorded: errors (any answer but the expected status, and failed connections) and latency
percentiles per kind of request; inbound rows stored against replies sent and answered 200
(nothing may be lost); orders placed; texts sent to the fake Twilio.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import (
    REPO,
    admin_database_url,
    command_line,
    create_database,
    database_url,
    drop_database,
    machine_facts,
    now_utc,
    stop_group,
    write_section,
)
from tests.fakes.redis_server import PrivateRedis, free_port

HEADING = "## Morning replay"
DB_NAME = "bench_morning"
ACCOUNT_SID = "AC" + "b" * 32
AUTH_TOKEN = "bench-morning-token"
OUR_NUMBER = "+15005550006"
WEBHOOK = "/webhooks/twilio/sms/"
SITE = (59.87, 30.42)
STOP_STEPS = ((signal.SIGTERM, 20.0), (signal.SIGKILL, 5.0))
CHATTER = ["Привет", "когда оплата?", "ok", "спасибо", "Where is the site?", "??", "позвоню"]


# --- measurements ----------------------------------------------------------------------------


@dataclass
class Kind:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.kinds: dict[str, Kind] = {}

    def record(self, kind: str, seconds: float, status: int | None, expected: int,
               error: str | None = None) -> None:
        with self.lock:
            entry = self.kinds.setdefault(kind, Kind())
            entry.latencies.append(seconds)
            if status is not None:
                entry.statuses[status] += 1
                if status != expected:
                    entry.errors[f"HTTP {status}"] += 1
            if error:
                entry.errors[error] += 1

    def summary(self) -> dict[str, dict[str, Any]]:
        out = {}
        for name, entry in sorted(self.kinds.items()):
            ordered = sorted(entry.latencies)

            def pct(share: float, ordered: list[float] = ordered) -> float:
                if not ordered:
                    return 0.0
                return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000

            out[name] = {
                "requests": len(ordered), "errors": sum(entry.errors.values()),
                "error_kinds": dict(entry.errors), "p50_ms": round(pct(0.50), 1),
                "p99_ms": round(pct(0.99), 1), "max_ms": round(pct(1.0), 1),
            }
        return out


def request(port: int, method: str, path: str, *, body: bytes = b"",
            headers: dict[str, str] | None = None, timeout: float = 30.0) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# --- the network and the processes -----------------------------------------------------------


@dataclass
class Seeded:
    client_id: int
    site_id: int
    phones: list[str]
    tokens: list[str]
    sessions: list[str]


def django_setup(db_url: str) -> None:
    os.environ.update(DJANGO_SETTINGS_MODULE="config.settings", DATABASE_URL=db_url)
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()


def seed(workers: int, operators: int) -> Seeded:
    from django.test import Client as Browser
    from rest_framework.authtoken.models import Token

    from clients.services import client_create, site_create
    from franchises.models import Franchise
    from franchises.services import user_create
    from workers.models import Worker

    lat, lng = SITE
    franchise = Franchise.objects.create(
        name="Saint Petersburg office", kind=Franchise.Kind.OFFICIAL_OFFICE,
        city="Saint Petersburg",
        territory={"type": "Polygon", "coordinates": [[
            [lng - 0.5, lat - 0.3], [lng + 0.5, lat - 0.3], [lng + 0.5, lat + 0.3],
            [lng - 0.5, lat + 0.3], [lng - 0.5, lat - 0.3]]]},
    )
    client = client_create(name="Lenta warehouse", franchise=franchise, phone="+78125550101")
    site = site_create(client=client, address="Sofiyskaya 6, Saint Petersburg", lat=lat, lng=lng)
    rng = random.Random(7)
    now = datetime.now(UTC)
    phones = [f"+7921{number:07d}" for number in range(1, workers + 1)]
    Worker.objects.bulk_create([
        Worker(name=f"Worker {i}", phone=phone, status=Worker.Status.ACTIVE,
               vetted_at=now - timedelta(days=30), skills=["loading"], language="ru",
               lat=lat + rng.uniform(-0.08, 0.08), lng=lng + rng.uniform(-0.15, 0.15))
        for i, phone in enumerate(phones)
    ], batch_size=1000)
    tokens, sessions = [], []
    for number in range(operators):
        user = user_create(username=f"operator{number}", password=uuid.uuid4().hex,
                           role="franchise", franchise=franchise)
        tokens.append(Token.objects.create(user=user).key)
        browser = Browser()
        browser.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        sessions.append(browser.cookies["sessionid"].value)
    return Seeded(client.pk, site.pk, phones, tokens, sessions)


def server_env(db_url: str, redis_url: str, twilio_base: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings", DATABASE_URL=db_url, REDIS_URL=redis_url,
        CELERY_TASK_ALWAYS_EAGER="0", SMS_BACKEND="twilio", TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_FROM_NUMBER=OUR_NUMBER, TWILIO_API_BASE=twilio_base,
        SMS_SENDER_RATE_PER_SECOND="1000", PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        OFFER_LINK_BASE=f"http://127.0.0.1:{port}", DEBUG="false", ALLOWED_HOSTS="127.0.0.1",
        LOG_LEVEL="WARNING", PERIODIC_INTERVAL_SECONDS="2",
        # Acceptances are assigned in batches every 30 s instead of 2 min: compressed time.
        DISPATCH_BATCH_WINDOW_MINUTES="0.5",
    )
    return env


class Processes:
    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, args: list[str], env: dict[str, str],
              **extra: Any) -> subprocess.Popen[Any]:
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen([sys.executable, "-m", *args], cwd=REPO, env=env,
                                   stdout=extra.pop("stdout", log), stderr=subprocess.STDOUT,
                                   start_new_session=True, **extra)
        self.running.append(process)
        return process

    def stop_all(self) -> None:
        for process in reversed(self.running):
            stop_group(process, STOP_STEPS)
        self.running.clear()


def wait_for_http(port: int, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            request(port, "GET", "/o/none", timeout=5)
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer")


# --- the load --------------------------------------------------------------------------------


class Morning:
    def __init__(self, args: argparse.Namespace, port: int, seeded: Seeded) -> None:
        self.args = args
        self.port = port
        self.seeded = seeded
        self.stats = Stats()
        self.codes: list[str] = []
        self.codes_lock = threading.Lock()
        self.placed = 0
        self.replies_ok = 0
        self.replies_sent = 0
        self.counter = itertools.count()
        self.counter_lock = threading.Lock()
        from twilio.request_validator import RequestValidator

        self.validator = RequestValidator(AUTH_TOKEN)
        self.url = f"http://127.0.0.1:{port}{WEBHOOK}"

    def timed(self, kind: str, began: float, method: str, path: str, *, expected: int,
              body: bytes = b"", headers: dict[str, str] | None = None) -> bytes | None:
        """Send one request, record its latency from `began` and its outcome; the body if
        it answered as expected."""
        try:
            status, data = request(self.port, method, path, body=body, headers=headers)
        except (OSError, http.client.HTTPException) as exc:
            self.stats.record(kind, time.monotonic() - began, None, expected,
                              type(exc).__name__)
            return None
        self.stats.record(kind, time.monotonic() - began, status, expected)
        return data if status == expected else None

    def out_of_time(self, start: float) -> bool:
        budget = self.args.budget
        return budget is not None and time.monotonic() - start > budget

    @property
    def window(self) -> float:
        return self.args.replies / self.args.rate

    def reply_body(self, rng: random.Random) -> tuple[str, str]:
        with self.codes_lock:
            code = rng.choice(self.codes) if self.codes else None
        roll = rng.random()
        if roll < 0.1:
            return f"+7999{rng.randrange(10**7):07d}", rng.choice(CHATTER)
        phone = rng.choice(self.seeded.phones)
        if code is None or roll < 0.2:
            return phone, rng.choice(["HELP", *CHATTER])
        if roll < 0.8:
            return phone, rng.choice(["ДА", "YES", "да"]) + f" {code}"
        return phone, rng.choice(["НЕТ", "NO"]) + f" {code}"

    def replier(self, start: float, seed: int) -> None:
        rng = random.Random(seed)
        while True:
            with self.counter_lock:
                index = next(self.counter)
            if index >= self.args.replies or self.out_of_time(start):
                return
            scheduled = start + index / self.args.rate
            delay = scheduled - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            phone, body = self.reply_body(rng)
            params = {"MessageSid": "SM" + uuid.uuid4().hex, "AccountSid": ACCOUNT_SID,
                      "From": phone, "To": OUR_NUMBER, "Body": body, "NumMedia": "0",
                      "NumSegments": "1", "ApiVersion": "2010-04-01"}
            headers = {"Content-Type": "application/x-www-form-urlencoded",
                       "X-Twilio-Signature": self.validator.compute_signature(self.url, params)}
            answer = self.timed("inbound reply (webhook)", scheduled, "POST", WEBHOOK,
                                expected=200, body=urlencode(params).encode(), headers=headers)
            with self.counter_lock:
                self.replies_sent += 1
                self.replies_ok += answer is not None

    def operator(self, number: int, start: float, orders: list[int]) -> None:
        rng = random.Random(1000 + number)
        token = {"Authorization": f"Token {self.seeded.tokens[number]}",
                 "Content-Type": "application/json"}
        cookie = {"Cookie": f"sessionid={self.seeded.sessions[number]}"}
        tomorrow = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        tomorrow += timedelta(days=1)
        day = (tomorrow + timedelta(hours=3)).date().isoformat()
        spacing = self.window / max(1, self.args.orders)
        for index in orders:
            if self.out_of_time(start):
                return
            scheduled = start + index * spacing
            delay = scheduled - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            body = json.dumps({
                "client": self.seeded.client_id, "site": self.seeded.site_id,
                "work_type": "loading", "headcount": rng.randint(2, 8),
                "start": (tomorrow + timedelta(hours=rng.randint(0, 10))).isoformat(),
                "hours": "6",
            }).encode()
            began = time.monotonic()
            created = self.timed("place order (API)", began, "POST", "/api/v1/orders/",
                                 expected=201, body=body, headers=token)
            if created is not None:
                order = json.loads(created)
                with self.codes_lock:
                    self.codes.append(order["code"])
                    self.placed += 1
                self.timed("start call-out (API)", time.monotonic(), "POST",
                           f"/api/v1/orders/{order['id']}/callout/", expected=200,
                           headers=token)
            self.timed("board page", time.monotonic(), "GET", f"/board/?day={day}",
                       expected=200, headers=cookie)
            self.timed("board rows (5 s poll)", time.monotonic(), "GET",
                       f"/board/rows/?day={day}", expected=200, headers=cookie)

    def run(self) -> float:
        start = time.monotonic() + 1.0
        threads = [threading.Thread(target=self.replier, args=(start, i), daemon=True)
                   for i in range(self.args.connections)]
        operators = self.args.operators
        for number in range(operators):
            share = list(range(number, self.args.orders, operators))
            threads.append(threading.Thread(target=self.operator, args=(number, start, share),
                                            daemon=True))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.monotonic() - start


def outbox_left() -> int:
    from messaging.models import Direction, Message, Status

    return Message.objects.filter(direction=Direction.OUT,
                                  status__in=[Status.QUEUED, Status.SENDING]).count()


def counts() -> dict[str, int]:
    from dispatch.models import Offer, Order
    from messaging.models import Direction, Message

    return {
        "inbound_rows": Message.objects.filter(direction=Direction.IN).count(),
        "orders": Order.objects.count(),
        "offers": Offer.objects.count(),
        "accepted": Offer.objects.filter(response="accepted").count(),
        "confirmed": Offer.objects.filter(state="confirmed").count(),
    }


def texts_sent(twilio: subprocess.Popen[Any]) -> int:
    assert twilio.stdin is not None
    assert twilio.stdout is not None
    twilio.stdin.write("count\n")
    twilio.stdin.flush()
    return int(twilio.stdout.readline().split()[0])


def run(args: argparse.Namespace) -> dict[str, Any]:
    admin = admin_database_url()
    name = args.database
    version = create_database(admin, name)
    db_url = database_url(admin, name)
    logs = Path(tempfile.mkdtemp(prefix="bench-morning-"))
    processes = Processes(logs)
    redis = PrivateRedis()
    try:
        migrate_env = {**os.environ, "DATABASE_URL": db_url,
                       "DJANGO_SETTINGS_MODULE": "config.settings"}
        migrate_env.pop("REDIS_URL", None)
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
                       cwd=REPO, env=migrate_env, check=True)
        django_setup(db_url)
        seeded = seed(args.workers, args.operators)
        redis.start()
        twilio = processes.start("twilio", ["bench.fake_twilio_process", ACCOUNT_SID,
                                            AUTH_TOKEN], os.environ.copy(),
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert twilio.stdout is not None
        twilio_base = twilio.stdout.readline().strip()
        port = free_port()
        env = server_env(db_url, redis.url, twilio_base, port)
        processes.start("web", ["gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}",
                                "--workers", str(args.web), "--worker-class", "sync",
                                "--backlog", "2048", "--timeout", "60",
                                "--log-level", "warning"], env)
        processes.start("worker", ["celery", "-A", "config", "worker", "--loglevel=WARNING",
                                   f"--concurrency={args.celery}", "--without-gossip",
                                   "--without-mingle", "--hostname=bench@%h"], env)
        processes.start("beat", ["celery", "-A", "config", "beat", "--loglevel=WARNING",
                                 f"--schedule={logs / 'beat-schedule'}"], env)
        wait_for_http(port)
        morning = Morning(args, port, seeded)
        took = morning.run()
        drain_began = time.monotonic()
        while outbox_left() and time.monotonic() - drain_began < args.drain:
            time.sleep(1.0)
        found = counts()
        return {
            "replies_planned": args.replies, "replies_sent": morning.replies_sent,
            "replies_answered_200": morning.replies_ok, "orders_planned": args.orders,
            "orders_placed": morning.placed, "rate_per_s": args.rate,
            "seconds": round(took, 1), "achieved_replies_per_s": round(
                morning.replies_sent / took, 1) if took else 0.0,
            "outbox_left_after_drain": outbox_left(),
            "drain_seconds": round(time.monotonic() - drain_began, 1),
            "texts_sent": texts_sent(twilio), **found,
            "requests": morning.stats.summary(),
            "machine": machine_facts(version), "when": now_utc(),
            "settings": {"workers": args.workers, "operators": args.operators,
                         "web": args.web, "celery": args.celery,
                         "connections": args.connections},
            "logs": str(logs),
        }
    finally:
        processes.stop_all()
        redis.stop()
        if not args.keep:
            from django.db import connections

            connections.close_all()
            drop_database(admin, name)


def render(result: dict[str, Any], argv: list[str] | None) -> str:
    lines = [
        HEADING, "",
        f"A morning on loopback, {result['when']}: {result['machine']}.",
        f"Command: `{command_line('bench.bench_morning', argv)}`.", "",
        f"gunicorn ({result['settings']['web']} sync workers), a Celery worker "
        f"({result['settings']['celery']} processes) and beat on a private redis-server, "
        f"PostgreSQL, the fake Twilio in its own process. {result['replies_sent']:,} signed "
        f"inbound replies at {result['rate_per_s']}/s (open loop, "
        f"{result['settings']['connections']} connections) from {result['settings']['workers']:,} "
        f"workers, while {result['settings']['operators']} operators placed "
        f"{result['orders_placed']} orders, started each call-out and read the board; "
        f"{result['seconds']} s in all.", "",
        "| request | count | errors | p50 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, row in result["requests"].items():
        errors = str(row["errors"])
        if row["error_kinds"]:
            errors += " (" + ", ".join(f"{k} x{v}" for k, v in row["error_kinds"].items()) + ")"
        lines.append(f"| {name} | {row['requests']:,} | {errors} | {row['p50_ms']} "
                     f"| {row['p99_ms']} | {row['max_ms']} |")
    lost = result["replies_sent"] - result["inbound_rows"]
    lines += [
        "",
        f"- Inbound rows stored: {result['inbound_rows']:,} for {result['replies_sent']:,} "
        f"replies sent ({result['replies_answered_200']:,} answered 200): "
        f"{'none lost' if lost == 0 else f'{lost} LOST'}.",
        f"- Orders placed {result['orders_placed']} of {result['orders_planned']}; offers "
        f"{result['offers']:,}, accepted {result['accepted']:,}, confirmed by the batch "
        f"assignments {result['confirmed']:,}; texts sent to the fake Twilio "
        f"{result['texts_sent']:,}, outbox rows left after a {result['drain_seconds']} s "
        f"drain: {result['outbox_left_after_drain']}.",
        f"- Replies achieved {result['achieved_replies_per_s']}/s against "
        f"{result['rate_per_s']}/s offered.",
    ]
    return "\n".join(lines) + "\n"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replies", type=int, default=20000)
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--rate", type=float, default=200.0, help="replies per second")
    parser.add_argument("--workers", type=int, default=3000)
    parser.add_argument("--operators", type=int, default=5)
    parser.add_argument("--web", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--celery", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--connections", type=int, default=32,
                        help="load generator threads posting replies")
    parser.add_argument("--drain", type=float, default=120.0,
                        help="seconds the outbox may take to empty after the replies")
    parser.add_argument("--budget", type=float, default=None,
                        help="stop sending after this many seconds (what was sent is reported)")
    parser.add_argument("--database", default=DB_NAME)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    result = run(args)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(render(result, argv))
    if args.write:
        write_section(HEADING, render(result, argv))
    requests = result["requests"].values()
    ok = (result["inbound_rows"] == result["replies_sent"] == args.replies
          and not any(row["errors"] for row in requests)
          and result["orders_placed"] == args.orders)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
