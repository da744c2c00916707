"""A heartbeat in Redis: a process writes the time under a key, a health check reads its age."""

import time
from typing import Any

import redis


def _client(redis_url: str) -> Any:
    return redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)


def write_heartbeat(redis_url: str, key: str, *, now: float | None = None) -> bool:
    """Store the time (seconds since the epoch) under `key`, kept for an hour; False when
    there is no Redis or it is down."""

    if not redis_url:
        return False
    try:
        _client(redis_url).set(key, repr(time.time() if now is None else now), ex=3600)
    except redis.RedisError:
        return False
    return True


def heartbeat_age(redis_url: str, key: str, *, now: float | None = None) -> float | None:
    """Seconds since the last heartbeat under `key`; None if there is none or Redis is down."""

    if not redis_url:
        return None
    try:
        raw = _client(redis_url).get(key)
    except redis.RedisError:
        return None
    if raw is None:
        return None
    return (time.time() if now is None else now) - float(raw)
