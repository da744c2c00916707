"""`manage.py health`: beat's heartbeat in Redis and a worker's answer to ping decide it."""

import time
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command

from config.celery import app
from core.heartbeat import write_heartbeat
from tests.fakes.redis_server import PrivateRedis

pytestmark = pytest.mark.redis


@pytest.fixture
def redis(settings: Any) -> Any:
    server = PrivateRedis()
    server.start()
    settings.REDIS_URL = server.url
    settings.BEAT_HEARTBEAT_MAX_AGE = 60
    yield server
    server.stop()


def test_a_recent_heartbeat_is_healthy_and_an_old_one_is_not(redis: Any, capsys: Any) -> None:
    assert write_heartbeat(settings.REDIS_URL, settings.BEAT_HEARTBEAT_KEY, now=time.time() - 5)
    call_command("health", "--beat")
    assert "beat: ok" in capsys.readouterr().out

    write_heartbeat(settings.REDIS_URL, settings.BEAT_HEARTBEAT_KEY, now=time.time() - 300)
    with pytest.raises(SystemExit) as stopped:
        call_command("health", "--beat")
    assert stopped.value.code == 1
    assert "no recent heartbeat" in capsys.readouterr().err


def test_no_heartbeat_at_all_or_redis_down_is_unhealthy(redis: Any, capsys: Any) -> None:
    with pytest.raises(SystemExit):
        call_command("health", "--beat")
    redis.kill()
    with pytest.raises(SystemExit):
        call_command("health", "--beat")
    assert "last: none" in capsys.readouterr().err


def test_no_worker_answering_is_unhealthy(redis: Any, capsys: Any) -> None:
    previous = app.conf.broker_url
    app.conf.broker_url = redis.url
    app._pool = None
    try:
        with pytest.raises(SystemExit):
            call_command("health", "--worker", "--timeout", "0.5")
    finally:
        app.conf.broker_url = previous
        app._pool = None
    assert "worker: no answer to ping" in capsys.readouterr().err
