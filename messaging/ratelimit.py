"""Pacing per sender, shared by every Celery worker.

Carriers accept a fixed number of segments a second per sender (a long code about 1, a
messaging service more). Celery's own rate_limit counts per worker process, so with four
workers it would allow four times the carrier's rate; the count lives in Redis instead.
Without Redis (the embedded default) one process sends, and an in-process window suffices.
"""

import threading
import time
from collections.abc import Callable
from typing import Any

import redis

_local_lock = threading.Lock()
_local_windows: dict[tuple[str, int], int] = {}
_redis_clients: dict[str, Any] = {}


def _redis_client(redis_url: str) -> Any:
    """One client (and connection pool) per process and URL. A client built per call opened
    a new TCP connection for every SMS: most of the pacing's CPU, and about 8 % of a whole
    send's in the network scale benchmark. redis-py's pool is thread-safe and starts afresh
    in a forked child."""
    client = _redis_clients.get(redis_url)
    if client is None:

        client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        _redis_clients[redis_url] = client
    return client


def _redis_take(redis_url: str, key: str, amount: int, limit: int) -> bool:
    client = _redis_client(redis_url)
    second = int(time.time())
    window = f"sms-rate:{key}:{second}"
    pipe = client.pipeline()
    pipe.incrby(window, amount)
    pipe.expire(window, 3)
    used, _ = pipe.execute()
    return int(used) <= limit


def _local_take(key: str, amount: int, limit: int) -> bool:
    second = int(time.time())
    with _local_lock:
        for stale in [k for k in _local_windows if k[1] < second]:
            del _local_windows[stale]
        used = _local_windows.get((key, second), 0) + amount
        _local_windows[(key, second)] = used
    return used <= limit


def acquire(
    *,
    sender: str,
    segments: int,
    per_second: float,
    redis_url: str = "",
    max_wait: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Wait for room to send `segments` from `sender`; False if none came within `max_wait`.

    A fixed one-second window: simple, shared, and never more than `per_second` segments in
    any calendar second. A message longer than the whole budget is let through alone.
    """
    limit = max(1, int(per_second))
    amount = min(segments, limit)
    deadline = time.monotonic() + max_wait
    while True:
        try:
            allowed = (
                _redis_take(redis_url, sender, amount, limit)
                if redis_url
                else _local_take(sender, amount, limit)
            )
        except Exception:  # Redis down: pace locally rather than stop sending
            allowed = _local_take(sender, amount, limit)
        if allowed:
            return True
        if time.monotonic() >= deadline:
            return False
        sleep(1.0 - (time.time() % 1.0) + 0.001)
