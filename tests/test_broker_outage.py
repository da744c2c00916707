"""A bad morning for the broker, with real processes: a Celery worker and beat run as
subprocesses against their own redis-server and this test's PostgreSQL database, sending
through the fake Twilio server. Nobody touches them after the start.

- Redis is killed while the worker sends 200 SMS and comes back (empty) a few seconds later:
  every row is sent, exactly once.
- The worker is killed with SIGKILL mid-task and a fresh one started: every row is sent (the
  outbox's leases hand the dead worker's rows to the new one).
"""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from messaging.models import Direction, Message, Status
from tests.fakes.redis_server import PrivateRedis
from tests.fakes.twilio_server import FakeTwilio

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "test-token"
ROWS = 200


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `predicate` until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    assert predicate(), f"not within {timeout:.0f} s: {what}"


class Cluster:
    """Worker and beat processes started the way the Procfile starts them."""

    def __init__(self, redis: PrivateRedis, twilio: FakeTwilio, logs: Path) -> None:
        self.redis = redis
        self.twilio = twilio
        self.logs = logs
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def env(self) -> dict[str, str]:
        db = connection.settings_dict
        host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        database_url = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{host}/{db['NAME']}"
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database_url,
            "REDIS_URL": self.redis.url,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "SMS_BACKEND": "twilio",
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_FROM_NUMBER": "+15005550006",
            "TWILIO_API_BASE": self.twilio.base_url,
            "PUBLIC_BASE_URL": "",
            # 200 texts take about ten seconds: long enough to break things in the middle.
            "SMS_SENDER_RATE_PER_SECOND": "20",
            "PERIODIC_INTERVAL_SECONDS": "1",
            # A killed worker's rows come back after 10 s instead of 10 min.
            "SMS_SENDING_LEASE_SECONDS": "10",
            "LOG_LEVEL": "INFO",
        }

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", *args],
            cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: SIGKILL reaches the pool too
        )
        self.processes[name] = process
        return process

    def worker(self, name: str) -> subprocess.Popen[bytes]:
        return self.start(name, "worker", "--loglevel=INFO", "--concurrency=2",
                          f"--hostname={name}@%h", "--without-gossip", "--without-mingle")

    def beat(self) -> subprocess.Popen[bytes]:
        return self.start("beat", "beat", "--loglevel=INFO",
                          f"--schedule={self.logs / 'beat-schedule'}")

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for name in list(self.processes):
            process = self.processes.pop(name)
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    redis = PrivateRedis()
    redis.start()
    with FakeTwilio(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN) as twilio:
        running = Cluster(redis, twilio, tmp_path)
        try:
            yield running
        finally:
            running.stop_all()
            redis.stop()


def queue_texts(count: int) -> list[str]:
    """`count` queued outbox rows, due now, each to its own number; returns the numbers."""
    now = timezone.now()
    phones = [f"+7911{number:07d}" for number in range(1, count + 1)]
    Message.objects.bulk_create([
        Message(direction=Direction.OUT, phone=phone, body=f"Offer {i}", encoding="GSM-7",
                status=Status.QUEUED, purpose="offer", created_at=now, next_attempt_at=now)
        for i, phone in enumerate(phones)
    ])
    return phones


def sent_rows() -> int:
    return Message.objects.filter(direction=Direction.OUT, status=Status.SENT).count()


def test_redis_killed_while_sending_heals_and_every_text_goes_once(cluster: Cluster) -> None:
    phones = queue_texts(ROWS)
    worker = cluster.worker("sender")
    cluster.beat()
    wait_until(lambda: len(cluster.twilio.messages) >= 40, 60, "the first 40 texts sent")

    cluster.redis.kill()
    down_at = len(cluster.twilio.messages)
    time.sleep(3)  # the outage
    cluster.redis.start()

    log = cluster.log("sender")[-3000:]
    wait_until(lambda: sent_rows() == ROWS, 100,
               f"all {ROWS} rows sent after the outage (worker log:\n{log})")
    assert down_at < ROWS, "the outage came after the sending was over"
    assert worker.poll() is None, "the worker died with the broker"
    # Exactly once at the provider: every number got one text.
    received = Counter(m.to for m in cluster.twilio.messages)
    assert set(received) == set(phones)
    assert max(received.values()) == 1
    assert cluster.twilio.attempts == ROWS
    # After the outage the health check finds the worker answering and beat ticking, once the
    # worker's control channel has reconnected too (it may lag the task consumer by a few
    # seconds), as the health timer's next run would.
    checks: list[subprocess.CompletedProcess[str]] = []

    def healthy() -> bool:
        checks.append(subprocess.run(
            [sys.executable, "manage.py", "health", "--worker", "--beat", "--max-age", "30"],
            check=False, cwd=ROOT, env=cluster.env(), capture_output=True, text=True,
            timeout=60,
        ))
        return checks[-1].returncode == 0

    wait_until(healthy, 90, "the health check passing after the outage")
    assert "worker: ok (sender@" in checks[-1].stdout


def test_a_worker_killed_mid_task_loses_nothing(cluster: Cluster) -> None:
    phones = queue_texts(ROWS)
    cluster.worker("first")
    cluster.beat()
    wait_until(lambda: len(cluster.twilio.messages) >= 30, 60, "the first 30 texts sent")

    cluster.kill("first")
    in_flight = Message.objects.filter(status=Status.SENDING).count()
    sent_before = len(cluster.twilio.messages)
    assert sent_before < ROWS
    cluster.worker("second")

    wait_until(lambda: sent_rows() == ROWS, 100,
               f"all {ROWS} rows sent by the fresh worker (log:\n{cluster.log('second')[-3000:]})")
    received = Counter(m.to for m in cluster.twilio.messages)
    assert set(received) == set(phones)
    # Only a text the killed worker had handed to Twilio but not yet marked may go twice.
    assert sum(received.values()) - ROWS <= in_flight
