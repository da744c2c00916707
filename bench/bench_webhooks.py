"""Throughput and latency of the inbound SMS webhook, ``POST /webhooks/twilio/sms/``, end to end.

    python -m bench.bench_webhooks [--seconds 30] [--warmup 5] [--repeat 3]
                                   [--mode both|closed|open] [--concurrency 32]
                                   [--rate 300] [--open-connections 64]
                                   [--worker-class sync|gthread] [--workers 6] [--threads 2]
                                   [--worker-connections N] [--clients 2] [--write]

What is measured, and why. Twilio posts every SMS a worker sends to this one URL, waits at
most 15 s for the answer and retries on a timeout; a call-out to a few thousand workers brings
their replies in a burst. The webhook must keep up with such a burst and lose nothing. So this
script measures the real thing, not a view function in isolation:

1. a fresh PostgreSQL database (``bench_webhooks``) is migrated and given 2,000 active
   workers with phones;
2. gunicorn serves ``config.wsgi`` on loopback with the production code path switched on:
   signature checks (``TWILIO_AUTH_TOKEN``), ``DEBUG=false``, persistent database
   connections, the SMS simulator, tasks run eagerly (no ``REDIS_URL``);
3. a load generator (``--clients`` processes, each an asyncio loop writing raw HTTP/1.1,
   keeping a connection alive as long as the server does) posts Twilio-shaped form bodies,
   each with a unique ``MessageSid`` and a valid ``X-Twilio-Signature`` over the exact URL,
   from known workers (80 %) and unknown numbers (20 %), with bodies mixing replies to
   offers, NO, HELP, rare STOP and START, JOIN, Russian and random text;
4. requests completed in the ``--seconds`` window after a ``--warmup`` give requests/second
   and the latency percentiles; every response counts towards the check that nothing is lost:
   new inbound rows in the database == 200 responses (== requests sent when all succeeded).

Each run is done two ways (``--mode both``). The closed loop (``--concurrency`` connections,
each sending its next request as soon as the answer arrives) finds the server's capacity; its
latency is mostly queueing, about concurrency / throughput (Little's law). The open loop
offers ``--rate`` requests/second on a fixed schedule, as Twilio does (it does not wait for
one answer before posting the next message), and counts latency from each request's scheduled
send time, so a server that falls behind shows it in p99 instead of slowing the client down.
The goal, at least 300 requests/s with p99 under 100 ms and nothing lost, is judged on both.

Server defaults for this 2-core machine: 6 gunicorn processes of the ``sync`` class, each
answering one request at a time and closing the connection after it, as behind a buffering
proxy (nginx speaks HTTP/1.0 to its upstream by default). Six, so that while some wait on
PostgreSQL the others keep both cores busy. The alternative, ``gthread`` processes keeping
connections alive (``--worker-class gthread``, ``--workers 2 --threads 2``), measured worse
at the goal's load: a kept-alive connection stays with the process that accepted it, one
process was seen holding 48 of the 64 and falling behind while the other idled (capping each
process at its share, ``--worker-connections``, evens that out), and two threads sharing a
process's interpreter lock wait up to 5 ms for it after each database round trip.

The CPU split during the window (gunicorn, PostgreSQL, load generator, everything else, from
``/proc``) shows whether the server or the client is the bottleneck, and whether something
else on the machine was competing: before each run the script waits (``--quiet-timeout``) for
the machine to be idle. This virtual machine's speed also varies, from second to second, with
the host's load, which no counter inside it shows, so each run records how long a fixed Python
loop took just before it ("reference loop ms"), and a short loop timed four times a second
through the window gives the share of moments the machine ran at two thirds of its best speed
or slower ("slow speed samples"). An open loop near capacity cannot absorb such a spell: the
queue it leaves behind is the run's p99. An
in-process probe (Django's test client with ``CaptureQueriesContext``) gives the database
round trips per request and what the steps of a request cost without HTTP. ``--repeat K``
runs each load K times against the same server and reports the medians; ``--write`` puts the
result in ``docs/benchmarks.md`` under "## Inbound webhook throughput", leaving the other
sections as they are. The server is stopped and the database dropped at the end, whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing
import os
import platform
import random
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import create_database, database_url, drop_database, proc_stats

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "benchmarks.md"
HEADING = "## Inbound webhook throughput"
DB_NAME = "bench_webhooks"
WEBHOOK_PATH = "/webhooks/twilio/sms/"
AUTH_TOKEN = "bench0auth0token0not0a0secret000"
ACCOUNT_SID = "AC" + "b3" * 16
SERVICE_SID = "MG" + "5e" * 16
OUR_NUMBER = "+79000000000"
KNOWN_PREFIX = "+7916"  # known workers: +79160000000, +79160000001, ...
UNKNOWN_PREFIX = "+7925"
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
# Before each run the machine must be this idle, or the others' work is measured too.
QUIET_CORES = 0.25
GOAL_RPS = 300.0
GOAL_P99_MS = 100.0
CLIENT_TIMEOUT_S = 15.0  # Twilio's own wait for a webhook answer
CLOSED_LOOP_GUESS_RPS = 450.0  # requests signed ahead for a closed-loop run
PREPARE_SECONDS = 3.0  # time the client processes get to sign them before the run starts
SPEED_SAMPLE_LOOP = 20_000  # iterations of the speed probe during a window (about 1 ms)

FIRST_NAMES = ["Ivan", "Olga", "Sergei", "Anna", "Dmitry", "Marina", "Aziz", "Dilnoza", "Pavel"]
LAST_NAMES = ["Petrov", "Ivanova", "Sidorov", "Kuznetsova", "Karimov", "Smirnov", "Orlova"]
RUSSIAN = [
    "Буду завтра к восьми",
    "Я опоздаю минут на 15, пробки",
    "А где объект? Скиньте адрес пожалуйста",
    "Спасибо, понял",
    "Сколько платят за смену?",
    "Не могу завтра, заболел",
    "привет",
    "Можно взять с собой брата? Он тоже грузчик",
]
WORDS = [
    "ok", "thanks", "where", "address", "tomorrow", "late", "call", "me", "pls", "who",
    "is", "this", "money", "when", "pay", "bus", "gate", "foreman", "lol", "?", "!!", "8am",
]  # fmt: skip


# --- Load generation -------------------------------------------------------------------------


def random_code(rng: random.Random) -> str:
    return "".join(rng.choice(CODE_ALPHABET) for _ in range(rng.choice((3, 3, 3, 4, 5))))


def random_body(rng: random.Random) -> str:  # noqa: PLR0911 - one return per kind of text
    """A reply as workers type them, in roughly the proportions a call-out brings in."""
    r = rng.random()
    if r < 0.25:
        word = rng.choice(["YES", "Yes", "y", "1", "+", "OK", "da", "ДА", "Да"])
        return f"{word} {random_code(rng)}"
    if r < 0.38:
        suffix = rng.choice(["", " " + random_code(rng)])
        return rng.choice(["NO", "no", "Нет", "N", "нет."]) + suffix
    if r < 0.46:
        return rng.choice(["HELP", "help", "?", "ПОМОЩЬ"])
    if r < 0.47:
        return rng.choice(["STOP", "Stop", "СТОП"])
    if r < 0.48:
        return rng.choice(["START", "СТАРТ"])
    if r < 0.51:
        return f"JOIN {rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    if r < 0.56:
        return f"{rng.choice(['HERE', 'ТУТ'])} {random_code(rng)}"
    if r < 0.76:
        return rng.choice(RUSSIAN)
    if r < 0.78:  # a long multi-segment text
        return " ".join(rng.choice(WORDS + RUSSIAN) for _ in range(40))
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 12)))


def random_sender(rng: random.Random, known_workers: int) -> str:
    if rng.random() < 0.8:
        return f"{KNOWN_PREFIX}{rng.randrange(known_workers):07d}"
    if rng.random() < 0.05:
        return rng.choice(["900", "MegaFon", "+1555"])  # short codes and names do arrive
    return f"{UNKNOWN_PREFIX}{rng.randrange(10**7):07d}"


def twilio_params(sid: str, sender: str, body: str) -> dict[str, str]:
    """The form Twilio posts for one inbound SMS."""
    return {
        "ToCountry": "RU",
        "ToState": "",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": "RU",
        "To": OUR_NUMBER,
        "MessagingServiceSid": SERVICE_SID,
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }


@dataclass(frozen=True)
class Plan:
    """What one load run does; shared by the client processes."""

    host: str
    port: int
    token: str
    known_workers: int
    connections: int
    start_at: float  # time.monotonic() values, the same clock in every process on Linux
    measure_from: float
    stop_at: float
    rate: float | None
    run_tag: int
    seed: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{WEBHOOK_PATH}"


@dataclass
class ClientResult:
    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    not_twiml: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds, completed in the window
    window_cpu_seconds: float = 0.0

    def merge(self, other: ClientResult) -> None:
        self.sent += other.sent
        self.statuses.update(other.statuses)
        self.errors.update(other.errors)
        self.not_twiml += other.not_twiml
        self.latencies.extend(other.latencies)
        self.window_cpu_seconds += other.window_cpu_seconds


def request_maker(plan: Plan, process_index: int) -> Callable[[], bytes]:
    """Signed HTTP/1.1 requests, each with a MessageSid never used before."""
    rng = random.Random(plan.seed * 7919 + process_index)
    validator = RequestValidator(plan.token)
    url = plan.url
    host = f"{plan.host}:{plan.port}"
    counter = iter(range(1 << 62))

    def make() -> bytes:
        sid = f"SM{plan.run_tag:010x}{process_index:02x}{next(counter):020x}"
        params = twilio_params(sid, random_sender(rng, plan.known_workers), random_body(rng))
        signature = validator.compute_signature(url, params)
        payload = urlencode(params).encode()
        head = (
            f"POST {WEBHOOK_PATH} HTTP/1.1\r\n"
            f"Host: {host}\r\n"
            "User-Agent: TwilioProxy/1.1\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(payload)}\r\n"
            f"X-Twilio-Signature: {signature}\r\n"
            "Accept: */*\r\n"
            "\r\n"
        )
        return head.encode("ascii") + payload

    return make


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body and whether the server closes the connection."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    lines = head.split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, close, chunked = 0, False, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection":
            close = value.strip().lower() == "close"
        elif name == "transfer-encoding":
            chunked = "chunked" in value.lower()
    if not chunked:
        return status, await reader.readexactly(length), close
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return status, b"".join(parts), close
        parts.append(chunk[:-2])


async def one_connection(
    plan: Plan, index: int, make: Callable[[], bytes], result: ClientResult
) -> None:
    """Post requests on one connection (a new one whenever the server closes it) until the
    window closes."""
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    interval = plan.connections / plan.rate if plan.rate else 0.0
    scheduled = plan.start_at + interval * index / plan.connections
    while True:
        if plan.rate:
            delay = scheduled - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        if time.monotonic() >= plan.stop_at:
            break
        if writer is None or reader is None:
            try:
                reader, writer = await asyncio.open_connection(plan.host, plan.port)
            except OSError as exc:
                result.errors[f"connect {type(exc).__name__}"] += 1
                await asyncio.sleep(0.05)
                continue
        request = make()
        started = scheduled if plan.rate else time.monotonic()
        scheduled += interval
        result.sent += 1
        try:
            async with asyncio.timeout(CLIENT_TIMEOUT_S):
                writer.write(request)
                status, body, close = await read_response(reader)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            result.errors[type(exc).__name__] += 1
            writer.close()
            reader = writer = None
            continue
        ended = time.monotonic()
        result.statuses[status] += 1
        if status == 200 and b"<Response>" not in body:
            result.not_twiml += 1
        if plan.measure_from <= ended <= plan.stop_at:
            result.latencies.append(ended - started)
        if close:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


async def cpu_window(plan: Plan, result: ClientResult) -> None:
    await asyncio.sleep(max(0.0, plan.measure_from - time.monotonic()))
    begin = time.process_time()
    await asyncio.sleep(max(0.0, plan.stop_at - time.monotonic()))
    result.window_cpu_seconds = time.process_time() - begin


def prepared(plan: Plan, process_index: int, processes: int) -> Callable[[], bytes]:
    """The requests this process will likely send, signed before the run starts, so the load
    generator spends the measured window on sockets rather than on HMACs and URL encoding
    (a tenth of the machine otherwise); more are made on demand if the server is faster."""
    make = request_maker(plan, process_index)
    expected_rps = plan.rate or CLOSED_LOOP_GUESS_RPS
    count = int(expected_rps * (plan.stop_at - plan.start_at) * 1.1 / processes)
    ready = deque(make() for _ in range(count))

    def take() -> bytes:
        return ready.popleft() if ready else make()

    return take


async def client_main(
    plan: Plan, process_index: int, connections: list[int], processes: int
) -> ClientResult:
    result = ClientResult()
    make = prepared(plan, process_index, processes)
    await asyncio.sleep(max(0.0, plan.start_at - time.monotonic()))
    await asyncio.gather(
        cpu_window(plan, result), *(one_connection(plan, i, make, result) for i in connections)
    )
    return result


def client_process(
    plan: Plan, process_index: int, connections: list[int], processes: int
) -> ClientResult:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    return asyncio.run(client_main(plan, process_index, connections, processes))


# --- CPU accounting from /proc ----------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcessCpu:
    name: str
    ppid: int
    cpu: float  # seconds this process has used
    reaped: float  # seconds used by its children that have exited and been waited for


def process_table() -> dict[int, ProcessCpu]:
    table = {}
    for pid, name, stat in proc_stats():
        rest = [int(x) for x in stat.split()[1:15]]
        # After the state field: ppid, ..., utime, stime, cutime, cstime.
        table[pid] = ProcessCpu(
            name, rest[0], (rest[10] + rest[11]) / CLOCK_TICKS, (rest[12] + rest[13]) / CLOCK_TICKS
        )
    return table


def machine_busy_seconds() -> float:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


@dataclass
class CpuSample:
    at: float
    busy: float
    table: dict[int, ProcessCpu]

    @classmethod
    def take(cls) -> CpuSample:
        return cls(time.monotonic(), machine_busy_seconds(), process_table())


def cpu_split(begin: CpuSample, end: CpuSample, gunicorn_pid: int) -> dict[str, float]:
    """CPU seconds used between two samples, by gunicorn, PostgreSQL and the whole machine.

    PostgreSQL ends a backend when Django closes a connection (``CONN_MAX_AGE``); the postmaster
    reaps it, so the CPU of backends that exited in the window is in its children's time.
    """

    def used(select: Callable[[int, ProcessCpu], bool]) -> float:
        total = 0.0
        for pid, now in end.table.items():
            if select(pid, now):
                then = begin.table.get(pid)
                total += now.cpu + now.reaped - ((then.cpu + then.reaped) if then else 0.0)
        for pid, then in begin.table.items():
            if pid not in end.table and select(pid, then):
                total -= then.cpu  # counted again in its parent's reaped time
        return total

    return {
        "gunicorn": used(lambda pid, p: gunicorn_pid in (pid, p.ppid)),
        "postgres": used(lambda _pid, p: p.name == "postgres"),
        "machine": end.busy - begin.busy,
        "seconds": end.at - begin.at,
    }


# --- Database and server ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(db_url: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=db_url,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        SMS_BACKEND="simulator",
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1",
        LOG_LEVEL="WARNING",
    )
    return env


def gunicorn_args(
    port: int, workers: int, threads: int, connections: int, worker_class: str
) -> list[str]:
    if worker_class == "sync":  # one request at a time per process, no keep-alive
        return [
            "config.wsgi",
            "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers),
            "--worker-class", "sync",
            "--backlog", "2048",
            "--log-level", "warning",
        ]  # fmt: skip
    return [
        "config.wsgi",
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers),
        "--worker-class", "gthread",
        "--threads", str(threads),
        "--worker-connections", str(connections),
        "--keep-alive", "75",
        "--backlog", "2048",
        "--log-level", "warning",
    ]  # fmt: skip


def log_tail(log: IO[str]) -> str:
    log.flush()
    return Path(log.name).read_text()[-3000:]


def start_gunicorn(
    args: list[str], env: dict[str, str], log: IO[str]
) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", *args],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    port = int(args[args.index("--bind") + 1].rsplit(":", 1)[1])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{log_tail(log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(f"GET {WEBHOOK_PATH} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
                if sock.recv(12).startswith(b"HTTP/"):
                    return process
        except OSError:
            pass
        time.sleep(0.2)
    stop_gunicorn(process)
    raise RuntimeError(f"gunicorn did not answer within 60 s:\n{log_tail(log)}")


def stop_gunicorn(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def django_setup(env: dict[str, str]) -> None:
    """Point this process's Django at the bench database, with the server's settings."""
    os.environ.update(env)
    os.environ.pop("REDIS_URL", None)
    sys.path.insert(0, str(REPO))
    import django

    django.setup()


def seed_workers(count: int) -> None:
    from workers.models import Worker

    now = datetime.now(UTC)
    rng = random.Random(1)
    Worker.objects.bulk_create(
        [
            Worker(
                name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                phone=f"{KNOWN_PREFIX}{i:07d}",
                status=Worker.Status.ACTIVE,
                vetted_at=now,
                language=Worker.Language.EN if i % 5 == 0 else Worker.Language.RU,
                lat=59.93 + rng.uniform(-0.15, 0.15),
                lng=30.31 + rng.uniform(-0.3, 0.3),
            )
            for i in range(count)
        ],
        batch_size=1000,
    )


def inbound_rows() -> int:
    from django.db import connection

    from messaging.models import Direction, Message

    count = Message.objects.filter(direction=Direction.IN).count()
    connection.close()  # no connection survives into a forked client
    return count


# --- In-process probe: queries per request, and what the parts cost ------------------------------


@dataclass
class ProbeRow:
    case: str
    status: int
    queries: int
    wall_ms: float
    cpu_ms: float
    statements: str


# (what, sender, body, sent before it, sent after it): the extra messages restore the state.
PROBE_CASES: list[tuple[str, str, str, str | None, str | None]] = [
    ("known worker, `YES K7Q`", "known", "YES K7Q", None, None),
    ("known worker, `NO`", "known", "NO", None, None),
    ("known worker, `HELP`", "known", "HELP", None, None),
    ("known worker, Russian text", "known", "Буду завтра к восьми", None, None),
    ("unknown number, random text", "unknown", "who is this", None, None),
    ("new number, `JOIN Ivan Petrov`", "new", "JOIN Ivan Petrov", None, None),
    ("known worker, `STOP`", "known", "STOP", None, "START"),
    ("opted-out worker, `START`", "known", "START", "STOP", None),
]


def summarise_sql(queries: list[dict[str, Any]]) -> str:
    """`SELECT workers_worker, SAVEPOINT, INSERT messaging_message, ...` for one request."""
    words = []
    for query in queries:
        sql = query["sql"]
        verb = sql.split(None, 1)[0].upper()
        table = None
        for match in re.finditer(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', sql):
            before = sql[: match.start()]
            if before.count("(") == before.count(")"):  # not inside a subquery
                table = match.group(1)
                break
        words.append(f"{verb} {table}" if table else verb)
    return ", ".join(words)


def probe(
    port: int, rounds: int = 40
) -> tuple[list[ProbeRow], dict[str, tuple[float, float]]]:
    """Each probe case through Django's test client: round trips, wall and CPU time."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
    validator = RequestValidator(AUTH_TOKEN)
    client = Client(HTTP_HOST=f"127.0.0.1:{port}")
    sids = (f"SMfeed{n:028x}" for n in range(1 << 40))
    senders = {
        "known": f"{KNOWN_PREFIX}0000007",
        "unknown": f"{UNKNOWN_PREFIX}9999999",
        "new": "new",
    }

    fresh = (f"{UNKNOWN_PREFIX}{n:07d}" for n in range(10**6, 10**7))

    def post(sender: str, body: str) -> int:
        sender = next(fresh) if sender == "new" else sender
        params = twilio_params(next(sids), sender, body)
        response = client.post(
            WEBHOOK_PATH,
            urlencode(params),
            content_type="application/x-www-form-urlencoded",
            HTTP_X_TWILIO_SIGNATURE=validator.compute_signature(url, params),
        )
        return int(response.status_code)

    def timed(sender: str, body: str, before: str | None, after: str | None) -> tuple[float, float]:
        """Wall and CPU seconds of one request (the extra messages excluded)."""
        if before:
            post(sender, before)
        wall, cpu = time.perf_counter(), time.thread_time()
        post(sender, body)
        wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
        if after:
            post(sender, after)
        return wall, cpu

    rows = []
    for case, who, body, before, after in PROBE_CASES:
        sender = senders[who]
        timed(sender, body, before, after)  # the first request of a kind loads code and caches
        if before:
            post(sender, before)
        with CaptureQueriesContext(connection) as ctx:
            status = post(sender, body)
        captured = ctx.captured_queries  # read now: the next request empties the log
        if after:
            post(sender, after)
        times = [timed(sender, body, before, after) for _ in range(rounds)]
        wall_ms = statistics.median(wall for wall, _ in times) * 1000
        cpu_ms = statistics.median(cpu for _, cpu in times) * 1000
        rows.append(ProbeRow(case, status, len(captured), wall_ms, cpu_ms, summarise_sql(captured)))

    costs = part_costs(url, validator, senders["known"])
    connection.close()
    return rows, costs


def part_costs(url: str, validator: RequestValidator, phone: str) -> dict[str, tuple[float, float]]:
    """Wall and CPU microseconds of the steps an inbound request takes, one at a time.

    The database steps run inside a transaction that is rolled back, so they leave no rows.
    """
    from django.db import transaction
    from django.http import QueryDict

    from messaging.grammar import parse
    from messaging.models import Direction, Message, Status
    from messaging.segments import count_segments
    from messaging.services import is_opted_out, normalise_phone
    from messaging.services.inbound import _insert_message
    from workers.sms import sender_of

    params = twilio_params("SM" + "0" * 32, phone, "YES K7Q")
    signature = validator.compute_signature(url, params)
    form = QueryDict(urlencode(params))
    sids = (f"SMc057{n:028x}" for n in range(1 << 40))

    def insert() -> Message:
        return Message.objects.create(
            direction=Direction.IN, phone=phone, body="YES K7Q", encoding="GSM-7",
            segments=1, status=Status.RECEIVED, provider_sid=next(sids),
            created_at=datetime.now(UTC),
        )  # fmt: skip

    def insert_once() -> bool:
        return _insert_message(
            Message(
                direction=Direction.IN, phone=phone, body="YES K7Q", encoding="GSM-7",
                segments=1, status=Status.RECEIVED, provider_sid=next(sids),
                command="accept", created_at=datetime.now(UTC),
            )
        )  # fmt: skip

    def empty_savepoint() -> None:
        with transaction.atomic():
            pass

    def validate() -> bool:
        return validator.validate(url, form, signature)

    costs = {}
    with transaction.atomic():
        message = insert()
        parts: list[tuple[str, Callable[[], object], int]] = [
            ("RequestValidator(token).validate()", validate, 2000),
            ("normalise_phone()", lambda: normalise_phone(phone), 2000),
            ("grammar.parse()", lambda: parse("Буду завтра к восьми"), 2000),
            ("count_segments()", lambda: count_segments("Буду завтра к восьми"), 2000),
            ("sender_of(): SELECT worker, EXISTS optout", lambda: sender_of(phone), 300),
            ("is_opted_out(): SELECT EXISTS optout", lambda: is_opted_out(phone), 300),
            ("Message.objects.create(): INSERT", insert, 300),
            ("_insert_message(): INSERT ... ON CONFLICT DO NOTHING", insert_once, 300),
            (
                "message.save(update_fields=[...]): UPDATE",
                lambda: message.save(update_fields=["command"]),
                300,
            ),
            ("empty `transaction.atomic()`: SAVEPOINT + RELEASE", empty_savepoint, 300),
        ]
        for name, call, rounds in parts:
            call()
            wall, cpu = time.perf_counter(), time.thread_time()
            for _ in range(rounds):
                call()
            wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
            costs[name] = (wall * 1e6 / rounds, cpu * 1e6 / rounds)
        transaction.set_rollback(True)
    return costs


# --- One load run ----------------------------------------------------------------------------


@dataclass
class RunResult:
    mode: str  # "closed" or "open"
    connections: int
    offered: float | None  # req/s, open loop only
    clients: ClientResult
    stored: int
    window_seconds: float
    cpu: dict[str, float]
    reference_ms: float  # the machine's speed just before the run: see speed_reference_ms()
    speed_ms: list[float] = field(default_factory=list)  # the same during the window

    @property
    def slow_share(self) -> float:
        """Share of the window's speed samples at least 1.5 times slower than the fastest."""
        if not self.speed_ms:
            return float("nan")
        fastest = min(self.speed_ms)
        return sum(1 for ms in self.speed_ms if ms >= 1.5 * fastest) / len(self.speed_ms)

    @property
    def ok(self) -> int:
        return self.clients.statuses.get(200, 0)

    @property
    def rps(self) -> float:
        return len(self.clients.latencies) / self.window_seconds

    def percentile_ms(self, q: float) -> float:
        values = sorted(self.clients.latencies)
        if not values:
            return float("nan")
        return values[min(len(values) - 1, round(q * (len(values) - 1)))] * 1000

    @property
    def other_cores(self) -> float:
        """Cores used during the window by everything but the server, PostgreSQL and client."""
        used = self.cpu["machine"] - self.cpu["gunicorn"] - self.cpu["postgres"]
        return max(0.0, used - self.clients.window_cpu_seconds) / self.cpu["seconds"]

    @property
    def lossless(self) -> bool:
        return self.stored == self.ok == self.clients.sent and not self.clients.not_twiml


def split_connections(connections: int, processes: int) -> list[list[int]]:
    return [list(range(i, connections, processes)) for i in range(processes)]


def wait_for_quiet(limit_cores: float, timeout: float) -> float:
    """Wait until the machine is nearly idle before a run; returns the last load seen (cores)."""
    started = time.monotonic()
    said = -60.0
    while True:
        begin = CpuSample(time.monotonic(), machine_busy_seconds(), {})
        time.sleep(2.0)
        load = (machine_busy_seconds() - begin.busy) / (time.monotonic() - begin.at)
        waited = time.monotonic() - started
        if load <= limit_cores or waited >= timeout:
            if load > limit_cores:
                say(f"machine still busy ({load:.2f} cores) after {waited:.0f} s; running anyway")
            return load
        if waited - said >= 60:
            say(f"machine busy ({load:.2f} cores in use); waiting for it to settle")
            said = waited


def speed_reference_ms() -> float:
    """Milliseconds a fixed pure-Python loop takes now (best of 5): the machine's speed.

    On a virtual machine the host's other tenants can slow every core without anything showing
    in this machine's /proc; runs with a similar reference time are comparable.
    """
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        total = 0
        for i in range(200_000):
            total += i * i
        best = min(best, time.perf_counter() - started)
    return best * 1000


def speed_during(until: float, every: float = 0.25) -> list[float]:
    """Time a short fixed loop (about 1 ms) every `every` seconds until `until`: how the
    machine's speed moved during the window, at a cost of a few tenths of a percent of a core.
    A spell of slow samples with no extra load in /proc is the host taking the cores away."""
    samples = []
    while time.monotonic() < until:
        started = time.perf_counter()
        total = 0
        for i in range(SPEED_SAMPLE_LOOP):
            total += i * i
        samples.append((time.perf_counter() - started) * 1000)
        time.sleep(max(0.0, min(every, until - time.monotonic())))
    return samples


def load_run(
    args: argparse.Namespace, port: int, run: int, gunicorn_pid: int, *, open_loop: bool
) -> RunResult:
    """One load run: closed loop on ``--concurrency`` connections, or open loop at ``--rate``."""
    if args.quiet_timeout > 0:
        wait_for_quiet(QUIET_CORES, args.quiet_timeout)
    reference_ms = speed_reference_ms()
    before = inbound_rows()
    connections = args.open_connections if open_loop else args.concurrency
    processes = max(1, min(args.clients, connections))
    start_at = time.monotonic() + PREPARE_SECONDS
    plan = Plan(
        host="127.0.0.1",
        port=port,
        token=AUTH_TOKEN,
        known_workers=args.known_workers,
        connections=connections,
        start_at=start_at,
        measure_from=start_at + args.warmup,
        stop_at=start_at + args.warmup + args.seconds,
        rate=args.rate if open_loop else None,
        run_tag=(int(time.time()) << 8) + run * 2 + open_loop,
        seed=args.seed + run * 2 + open_loop,
    )
    groups = split_connections(connections, processes)
    context = multiprocessing.get_context("fork")
    pool = context.Pool(processes)
    try:
        pending = pool.starmap_async(
            client_process, [(plan, i, group, len(groups)) for i, group in enumerate(groups)]
        )
        time.sleep(max(0.0, plan.measure_from - time.monotonic()))
        begin = CpuSample.take()
        speed = speed_during(plan.stop_at)
        end = CpuSample.take()
        results = pending.get(timeout=args.warmup + args.seconds + CLIENT_TIMEOUT_S + 60)
    except BaseException:
        pool.terminate()
        raise
    # The clients are done: let them exit on their own. Pool.terminate() here was seen to hang
    # twice, joining a client process blocked on the pool's queue lock.
    pool.close()
    pool.join()
    total = ClientResult()
    for result in results:
        total.merge(result)
    stored = inbound_rows() - before
    return RunResult(
        mode="open" if open_loop else "closed",
        connections=connections,
        offered=plan.rate,
        clients=total,
        stored=stored,
        window_seconds=args.seconds,
        cpu=cpu_split(begin, end, gunicorn_pid),
        reference_ms=reference_ms,
        speed_ms=speed,
    )


# --- Report ----------------------------------------------------------------------------------


def fmt_statuses(result: ClientResult) -> str:
    parts = [f"{code}: {n:,}" for code, n in sorted(result.statuses.items())]
    return ", ".join(parts) or "-"


def fmt_errors(result: ClientResult) -> str:
    if not result.errors and not result.not_twiml:
        return "0"
    parts = [f"{name}: {n}" for name, n in sorted(result.errors.items())]
    if result.not_twiml:
        parts.append(f"200 without TwiML: {result.not_twiml}")
    return ", ".join(parts)


@dataclass
class Facts:
    command: str
    server_command: str
    load: str
    machine: str
    when: str


def machine_facts(pg_version: str) -> str:
    import django
    import gunicorn

    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    cpus = len(os.sched_getaffinity(0))
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    load = " / ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"{cpus} CPUs (`nproc`: {cpus}, {cpu}), {mem_kb / 1024 / 1024:.0f} GiB RAM, "
        f"{platform.system()} {platform.release()}; Python {platform.python_version()}, "
        f"PostgreSQL {pg_version}, Django {django.get_version()}, gunicorn {gunicorn.__version__}; "
        f"load average {load} (1/5/15 min) at the start"
    )


@dataclass
class Summary:
    """The median of several runs of one kind."""

    runs: list[RunResult]

    @property
    def rps(self) -> float:
        return statistics.median(r.rps for r in self.runs)

    def percentile_ms(self, q: float) -> float:
        return statistics.median(r.percentile_ms(q) for r in self.runs)

    @property
    def lossless(self) -> bool:
        return all(r.lossless for r in self.runs)

    @property
    def middle(self) -> RunResult:
        return sorted(self.runs, key=lambda r: r.rps)[len(self.runs) // 2]


def render_runs(add: Callable[[str], None], summary: Summary) -> None:
    add(
        "| run | sent | responses | errors | req/s | p50 ms | p90 ms | p99 ms | max ms "
        "| rows stored | stored == 200 == sent | other load, cores | reference loop ms "
        "| slow speed samples |"
    )
    add("|---|---:|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|")
    for i, run in enumerate(summary.runs, 1):
        c = run.clients
        add(
            f"| {i} | {c.sent:,} | {fmt_statuses(c)} | {fmt_errors(c)} | {run.rps:,.0f} "
            f"| {run.percentile_ms(0.5):.1f} | {run.percentile_ms(0.9):.1f} "
            f"| {run.percentile_ms(0.99):.1f} | {run.percentile_ms(1.0):.1f} "
            f"| {run.stored:,} | {'yes' if run.lossless else '**NO**'} | {run.other_cores:.2f} "
            f"| {run.reference_ms:.1f} | {run.slow_share:.0%} |"
        )
    add(
        f"| **median of {len(summary.runs)}** | | | | **{summary.rps:,.0f}** "
        f"| **{summary.percentile_ms(0.5):.1f}** | **{summary.percentile_ms(0.9):.1f}** "
        f"| **{summary.percentile_ms(0.99):.1f}** | | | "
        f"{'yes' if summary.lossless else '**NO**'} | | | |\n"
    )
    busy = [str(i) for i, run in enumerate(summary.runs, 1) if run.other_cores > QUIET_CORES]
    if busy:
        add(
            f"Other processes used more than {QUIET_CORES} of a core during run(s) "
            f"{', '.join(busy)}: those figures understate the server.\n"
        )


def verdict(closed: Summary | None, opened: Summary | None) -> str:
    """Whether the goal is met: the capacity, the latency at the goal's rate, nothing lost."""
    lossless = all(s.lossless for s in (closed, opened) if s is not None)
    facts, met = [], lossless
    if closed is not None:
        facts.append(f"capacity {closed.rps:,.0f} req/s")
        met = met and closed.rps >= GOAL_RPS
    if opened is not None:
        offered = opened.runs[0].offered or 0.0
        facts.append(
            f"at {offered:,.0f} req/s offered: {opened.rps:,.0f} req/s served, "
            f"p99 {opened.percentile_ms(0.99):.1f} ms"
        )
        kept_up = opened.rps >= 0.97 * offered
        met = met and offered >= GOAL_RPS and kept_up and opened.percentile_ms(0.99) < GOAL_P99_MS
    else:
        facts.append(f"closed-loop p99 {closed.percentile_ms(0.99) if closed else 0:.1f} ms")
        met = met and closed is not None and closed.percentile_ms(0.99) < GOAL_P99_MS
    facts.append("nothing lost" if lossless else "rows or answers MISSING")
    return (
        f"Goal (at least {GOAL_RPS:.0f} req/s with p99 under {GOAL_P99_MS:.0f} ms, nothing "
        f"lost): **{'met' if met else 'missed'}** ({'; '.join(facts)})."
    )


def render_cpu(add: Callable[[str], None], summaries: list[tuple[str, Summary]]) -> None:
    add(
        "CPU used during the measured window of the median run, in cores out of "
        f"{len(os.sched_getaffinity(0))}, and per request served:\n"
    )
    add(
        "| load | req/s | gunicorn | PostgreSQL (all) | load generator | other | whole machine "
        "| gunicorn ms/req | PostgreSQL ms/req |"
    )
    add("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, summary in summaries:
        run = summary.middle
        seconds = run.cpu["seconds"]
        served = max(1, len(run.clients.latencies))
        add(
            f"| {label} | {run.rps:,.0f} | {run.cpu['gunicorn'] / seconds:.2f} "
            f"| {run.cpu['postgres'] / seconds:.2f} "
            f"| {run.clients.window_cpu_seconds / seconds:.2f} | {run.other_cores:.2f} "
            f"| {run.cpu['machine'] / seconds:.2f} | {run.cpu['gunicorn'] * 1000 / served:.2f} "
            f"| {run.cpu['postgres'] * 1000 / served:.2f} |"
        )
    add("")


def reading(summary: Summary, probe_rows: list[ProbeRow]) -> str:
    """What the CPU figures say about the bottleneck, in a few computed sentences."""
    run = summary.middle
    seconds = run.cpu["seconds"]
    cores = len(os.sched_getaffinity(0))
    served = max(1, len(run.clients.latencies))
    machine = run.cpu["machine"] / seconds
    client = run.clients.window_cpu_seconds / seconds
    server_ms = run.cpu["gunicorn"] * 1000 / served
    db_ms = run.cpu["postgres"] * 1000 / served
    client_ms = run.clients.window_cpu_seconds * 1000 / served
    ceiling = cores * 1000 / (server_ms + db_ms + client_ms)
    bound = "CPU-bound" if machine >= 0.9 * cores else "not CPU-bound"
    trips = sorted({row.queries for row in probe_rows if "JOIN" not in row.case})
    return (
        f"Reading: at capacity the machine used {machine:.2f} of its {cores} cores, so the "
        f"server is {bound}; the load generator took {client:.2f} cores "
        f"({client / max(machine, 1e-9):.0%} of the CPU used), so it is not what limits the "
        f"figures. A request costs {server_ms:.1f} ms of CPU in gunicorn (Python: Django, the "
        f"ORM, psycopg) and {db_ms:.1f} ms in PostgreSQL: with the load generator's share, "
        f"{cores} cores cannot serve more than about {ceiling:,.0f} req/s. A plain reply takes "
        f"{trips[0]}-{trips[-1]} database round trips (JOIN from a new number more), and "
        "each ORM statement costs a few hundred µs of CPU (the last table).\n"
    )


def render(
    facts: Facts,
    runs: list[RunResult],
    probe_rows: list[ProbeRow],
    costs: dict[str, tuple[float, float]],
) -> str:
    out: list[str] = []
    add = out.append
    add(f"{HEADING}\n")
    add(
        "`POST /webhooks/twilio/sms/` served by gunicorn against PostgreSQL, with signature "
        "checks on, driven by Twilio-shaped signed form posts (unique `MessageSid`, 80 % known "
        "workers, 20 % unknown numbers, mixed replies, Russian and random text). What is "
        "measured and how: the docstring of `bench/bench_webhooks.py`.\n"
    )
    add(f"- Command: `{facts.command}`")
    add(f"- Date: {facts.when}")
    add(f"- Machine: {facts.machine}")
    add(f"- Server: `{facts.server_command}`")
    add(f"- Load: {facts.load}\n")
    closed_runs = [r for r in runs if r.mode == "closed"]
    open_runs = [r for r in runs if r.mode == "open"]
    closed = Summary(closed_runs) if closed_runs else None
    opened = Summary(open_runs) if open_runs else None
    add(verdict(closed, opened) + "\n")
    summaries = []
    if closed is not None:
        label = f"closed loop, {closed.runs[0].connections} connections"
        add(
            f"**Capacity** ({label}: each connection sends its next request when the answer "
            "arrives; latency here is mostly queueing, about connections / throughput):\n"
        )
        render_runs(add, closed)
        summaries.append((label, closed))
    if opened is not None:
        offered = opened.runs[0].offered or 0.0
        label = f"open loop, {offered:,.0f} req/s offered"
        add(
            f"**At the goal's load** ({label} on {opened.runs[0].connections} connections; "
            "latency counted from each request's scheduled send time):\n"
        )
        render_runs(add, opened)
        summaries.append((label, opened))
    render_cpu(add, summaries)
    add(reading(closed or summaries[0][1], probe_rows))
    add(
        "Database round trips per request, from one in-process request of each kind through "
        "Django's test client (`CaptureQueriesContext`, which lists BEGIN and COMMIT too), and "
        "the median time of 40 such requests in one thread without HTTP: wall time, the "
        "thread's CPU time, and the difference, which is mostly waiting for PostgreSQL:\n"
    )
    add("| message | status | round trips | wall ms | CPU ms | waiting ms | statements |")
    add("|---|---:|---:|---:|---:|---:|---|")
    for row in probe_rows:
        add(
            f"| {row.case} | {row.status} | {row.queries} | {row.wall_ms:.2f} | "
            f"{row.cpu_ms:.2f} | {max(0.0, row.wall_ms - row.cpu_ms):.2f} | {row.statements} |"
        )
    add("")
    add(
        "The steps of a request one at a time, in-process (mean of 300-2,000 calls; the "
        "database steps inside a transaction that is rolled back):\n"
    )
    add("| step | wall µs | CPU µs |")
    add("|---|---:|---:|")
    for name, (wall, cpu) in costs.items():
        add(f"| {name} | {wall:.0f} | {cpu:.0f} |")
    add("")
    return "\n".join(out)


def write_section(section: str) -> None:
    """Replace this benchmark's section of docs/benchmarks.md, keeping every other section."""
    DOC.parent.mkdir(parents=True, exist_ok=True)
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == HEADING), None)
    block = section.rstrip("\n") + "\n"
    if start is None:
        text = text.rstrip("\n") + "\n\n" + block
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        after = "".join(lines[end:])
        text = "".join(lines[:start]) + block + ("\n" + after if after else "")
    DOC.write_text(text)


# --- Main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="measured window per run")
    parser.add_argument("--warmup", type=float, default=5.0, help="load before the window")
    parser.add_argument("--concurrency", type=int, default=32, help="connections, closed loop")
    parser.add_argument("--workers", type=int, default=6, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=2, help="threads per gthread worker")
    parser.add_argument("--clients", type=int, default=2, help="load generator processes")
    parser.add_argument("--worker-class", choices=["sync", "gthread"], default="sync")
    parser.add_argument(
        "--worker-connections", type=int, default=None,
        help="connections one gunicorn process holds at most (default: its even share)",
    )  # fmt: skip
    parser.add_argument(
        "--mode",
        choices=["both", "closed", "open"],
        default="both",
        help="closed loop (capacity), open loop at --rate (latency at a given load), or both",
    )
    parser.add_argument("--rate", type=float, default=GOAL_RPS, help="offered req/s, open loop")
    parser.add_argument(
        "--open-connections", type=int, default=64, help="connections for the open loop"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs; the median is reported")
    parser.add_argument(
        "--quiet-timeout",
        type=float,
        default=300.0,
        help="seconds to wait for an idle machine before each run (0: do not wait)",
    )
    parser.add_argument("--known-workers", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("BENCH_ADMIN_DATABASE_URL")
        or os.environ.get("BENCH_PG_ADMIN_URL")
        or "postgres://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL URL allowed to create and drop the bench database",
    )
    parser.add_argument("--write", action="store_true", help=f"update {DOC.relative_to(REPO)}")
    return parser.parse_args(argv)


def load_description(args: argparse.Namespace) -> str:
    kinds = []
    if args.mode in ("both", "closed"):
        kinds.append(f"closed loop on {args.concurrency} connections")
    if args.mode in ("both", "open"):
        kinds.append(f"open loop at {args.rate:,.0f} req/s on {args.open_connections} connections")
    return (
        f"{' then '.join(kinds)}, from {args.clients} asyncio processes; each run "
        f"{args.warmup:g} s warm-up then {args.seconds:g} s measured; {args.repeat} run(s) of "
        f"each against one server; {args.known_workers:,} active workers seeded"
    )


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # A plain `kill` must still stop the server and drop the database (the `finally` below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    command = shlex.join(["python", "-m", "bench.bench_webhooks", *(argv or sys.argv[1:])])
    with tempfile.NamedTemporaryFile("w", prefix="bench_webhooks_gunicorn_", suffix=".log") as log:
        try:
            return bench(args, command, log)
        finally:
            if "django" in sys.modules:
                from django.db import connections

                connections.close_all()
            drop_database(args.admin_url, DB_NAME)
            say(f"dropped database {DB_NAME}")


def bench(args: argparse.Namespace, command: str, log: IO[str]) -> int:
    port = free_port()
    env = server_env(database_url(args.admin_url, DB_NAME), port)
    share = -(-max(args.concurrency, args.open_connections) // args.workers)
    server_args = gunicorn_args(
        port, args.workers, args.threads, args.worker_connections or share, args.worker_class
    )
    if args.quiet_timeout > 0:
        # Before the migration, so the database and the server start from the same code.
        wait_for_quiet(QUIET_CORES, args.quiet_timeout)
    machine = machine_facts(create_database(args.admin_url, DB_NAME))
    say(f"created database {DB_NAME}; migrating")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=REPO, env=env, check=True,
    )  # fmt: skip
    django_setup(env)
    seed_workers(args.known_workers)
    say(f"seeded {args.known_workers:,} workers; probing queries per request")
    probe_rows, costs = probe(port)
    say(f"starting gunicorn {shlex.join(server_args)}")
    server = start_gunicorn(server_args, env, log)
    try:
        runs = []
        loops = {"both": (False, True), "closed": (False,), "open": (True,)}[args.mode]
        for run, open_loop in itertools.product(range(args.repeat), loops):
            result = load_run(args, port, run, server.pid, open_loop=open_loop)
            runs.append(result)
            say(
                f"run {run + 1}/{args.repeat} ({result.mode} loop): {result.rps:,.0f} req/s, "
                f"p50 {result.percentile_ms(0.5):.1f} ms, p99 {result.percentile_ms(0.99):.1f} ms, "
                f"sent {result.clients.sent:,}, responses {fmt_statuses(result.clients)}, "
                f"stored {result.stored:,}, errors {fmt_errors(result.clients)}, "
                f"other CPU {result.other_cores:.2f} cores, "
                f"reference loop {result.reference_ms:.1f} ms, "
                f"slow speed samples {result.slow_share:.0%}"
            )
            if not result.lossless:
                say(f"gunicorn log:\n{log_tail(log)}")
    finally:
        stop_gunicorn(server)
        say("stopped gunicorn")
    facts = Facts(
        command=command,
        server_command="gunicorn " + shlex.join(server_args).replace(str(port), "PORT"),
        load=load_description(args),
        machine=machine,
        when=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
    section = render(facts, runs, probe_rows, costs)
    print(section)
    if args.write:
        write_section(section)
        say(f"updated {DOC.relative_to(REPO)}")
    return 0 if all(r.lossless for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
