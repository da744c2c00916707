"""The Celery application: tasks are autodiscovered in every app's tasks.py.

Beat runs `HeartbeatScheduler`: the usual persistent schedule, plus a heartbeat written to
Redis on every tick so that `manage.py health --beat` can tell a running beat from a stopped
one.
"""

import logging
import os
from typing import Any

from celery import Celery
from celery.beat import PersistentScheduler
from django.conf import settings

from core.heartbeat import write_heartbeat

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

logger = logging.getLogger(__name__)

app = Celery("crewdispatch")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class HeartbeatScheduler(PersistentScheduler):
    """Beat's scheduler with a heartbeat: a Redis outage only skips heartbeats, and beat goes
    on ticking (and publishing again once the broker is back)."""

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if not write_heartbeat(settings.REDIS_URL, settings.BEAT_HEARTBEAT_KEY):
            logger.warning("beat heartbeat not written: Redis unreachable")
        return super().tick(*args, **kwargs)
