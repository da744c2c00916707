"""A broker outage delays SMS and loses none: proven with a real Redis and a real worker.

The test runs its own redis-server on a spare port, so stopping it does not disturb the
shared one, and starts a real Celery worker thread to consume what the sweeper enqueues.
"""

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker

from config.celery import app as celery_app
from core import clock
from messaging import services
from messaging.models import Message, Status
from tests.fakes.redis_server import PrivateRedis

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    redis = PrivateRedis()
    yield redis
    redis.stop()


def _reset_pools() -> None:
    # The app caches its broker connections; drop them so the new broker URL is used.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def real_broker(private_redis: PrivateRedis) -> Iterator[PrivateRedis]:
    previous = (celery_app.conf.broker_url, celery_app.conf.task_always_eager)
    celery_app.conf.broker_url = private_redis.url
    celery_app.conf.task_always_eager = False
    _reset_pools()
    yield private_redis
    _reset_pools()
    celery_app.conf.broker_url, celery_app.conf.task_always_eager = previous


def _wait_until(predicate: Any, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_with_redis_down_rows_are_kept_and_sent_once_when_it_returns(
    real_broker: PrivateRedis, fake_twilio: Any, worker: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # Redis is not running: the service must still commit its rows and answer the caller.
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        for number in range(5):
            assert services.sms_queue(
                phone=str(worker.phone), body=f"Offer {number}", purpose="offer", worker=worker
            )
    assert time.monotonic() - started < 20
    assert Message.objects.filter(status=Status.QUEUED).count() == 5
    assert fake_twilio.attempts == 0

    real_broker.start()
    later = clock.now() + services.LOST_TASK_GRACE + timedelta(seconds=1)
    with (
        clock.use_clock(lambda: later),
        start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10),
    ):
        assert services.outbox_sweep() == 5
        assert _wait_until(lambda: Message.objects.filter(status=Status.SENT).count() == 5)
        # The sweeper runs again: nothing is due, nothing is sent twice.
        services.outbox_sweep()
        time.sleep(0.5)
    assert sorted(m.body for m in fake_twilio.messages) == [f"Offer {n}" for n in range(5)]
    assert fake_twilio.attempts == 5


def test_a_row_waiting_behind_a_backlog_is_handed_over_less_and_less_often(
    real_broker: PrivateRedis, worker: Any, django_capture_on_commit_callbacks: Any,
) -> None:
    # The broker is up but no worker consumes: every task waits in its queue, as behind a
    # morning's call-outs. The sweeper runs every 5 s for ten minutes.
    real_broker.start()
    with django_capture_on_commit_callbacks(execute=True):
        message = services.sms_queue(phone=str(worker.phone), body="Offer", purpose="offer",
                                     worker=worker)
    assert message is not None
    handed_at = []
    for second in range(0, 600, 5):
        moment = message.created_at + timedelta(seconds=second)
        with clock.use_clock(lambda moment=moment: moment):
            if services.outbox_sweep():
                handed_at.append(second)
    # The broker holds the task: the row is first handed over after two minutes, then each
    # lease is as long as the wait so far, up to 4 minutes.
    assert handed_at == [120, 240, 480]
    assert Message.objects.get(pk=message.pk).status == Status.QUEUED
