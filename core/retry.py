"""Transactions PostgreSQL aborted for another's sake, run again.

When two transactions wait on each other, PostgreSQL picks one as the deadlock victim and
rolls it back (SQLSTATE 40P01); a serializable transaction may likewise be refused (40001).
Nothing of the victim was written, and run again it goes through: the morning replay saw one
inbound webhook answer 500 this way, and its message would have been lost.
"""

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import OperationalError, connection

logger = logging.getLogger(__name__)

T = TypeVar("T")

RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


def retryable(exc: BaseException) -> bool:
    """True for a deadlock victim or a serialization failure."""
    return getattr(exc.__cause__, "sqlstate", None) in RETRYABLE_SQLSTATES


def run_retrying(action: Callable[[], T], *, attempts: int = 3,
                 pause: Callable[[float], None] = time.sleep) -> T:
    """Run `action`, a whole transaction of its own, up to `attempts` times while PostgreSQL
    aborts it as a deadlock victim. Inside an outer transaction nothing can be retried (the
    outer one is already lost), so the error is raised at once."""
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except OperationalError as exc:
            if not retryable(exc) or attempt == attempts or connection.in_atomic_block:
                raise
            logger.warning("transaction aborted (%s), running it again (attempt %d of %d)",
                           getattr(exc.__cause__, "sqlstate", None), attempt + 1, attempts)
            pause(random.uniform(0.005, 0.05) * attempt)
    raise AssertionError("unreachable")
