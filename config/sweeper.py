"""Periodic work: the same jobs run by Celery beat in production and, on the embedded
default (no broker, no beat), by a thread inside the web process.

Timed steps are rows with a due time; these jobs pick up whatever has fallen due, so a
restart, a lost task or a broker outage delays work and loses none.
"""

import logging
import threading
from importlib import import_module
from typing import Any

from django.conf import settings
from django.db import close_old_connections

logger = logging.getLogger(__name__)


def _resolve(path: str) -> Any:
    module, _, name = path.rpartition(".")
    return getattr(import_module(module), name)


def run_periodic_jobs() -> None:
    """Run every periodic job once, in the calling process; one failing job does not stop
    the others."""
    for path in settings.PERIODIC_JOBS:
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
        while not self.stopping.wait(self.interval):
            close_old_connections()
            run_periodic_jobs()
            close_old_connections()

    def stop(self) -> None:
        self.stopping.set()
