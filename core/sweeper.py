"""Periodic work: the same jobs run by Celery beat in production and, on the embedded
default (no broker, no beat), by a thread inside the web process.

Timed steps are rows with a due time; these jobs pick up whatever has fallen due, so a
restart, a lost task or a broker outage delays work and loses none.
"""

import logging
import threading
import time
from importlib import import_module
from typing import Any

from django.conf import settings
from django.db import close_old_connections

logger = logging.getLogger(__name__)


def _resolve(path: str) -> Any:
    module, _, name = path.rpartition(".")
    return getattr(import_module(module), name)


def run_periodic_jobs(last_run: dict[str, float] | None = None, now: float = 0.0) -> None:
    """Run the periodic jobs that are due, in the calling process; one failing job does not
    stop the others. Without `last_run`, every job runs once."""
    for path, every in settings.PERIODIC_JOBS:
        if last_run is not None and now - last_run.get(path, float("-inf")) < every:
            continue
        if last_run is not None:
            last_run[path] = now
        try:
            _resolve(path)()
        except Exception:
            logger.exception("periodic job %s failed", path)


class EmbeddedSweeper(threading.Thread):
    """Runs the periodic jobs every `interval` seconds until stopped."""

    def __init__(self, interval: float) -> None:
        super().__init__(name="embedded-sweeper", daemon=True)
        self.interval = interval
        self.stopping = threading.Event()

    def run(self) -> None:
        last_run: dict[str, float] = {}
        while not self.stopping.wait(self.interval):
            close_old_connections()
            run_periodic_jobs(last_run, time.monotonic())
            close_old_connections()

    def stop(self) -> None:
        self.stopping.set()
