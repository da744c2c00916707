"""The one clock every service reads.

Production reads the wall clock. The simulator and tests install a virtual clock with
`use_clock`, so weeks of dispatch run in seconds and timed steps (waves, reminders, no-show
checks) fall due exactly when the virtual time says so.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

_source: Callable[[], datetime] = timezone.now


def now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return _source()


def in_zone(moment: datetime, zone_name: str) -> datetime:
    """`moment` as an aware datetime: a naive one is a wall-clock time in `zone_name` (what a
    client says on the phone, what an operator types), an aware one is taken as given.

    A wall time the clocks skip or repeat (a DST change) reads as the earlier offset's.
    """
    if timezone.is_aware(moment):
        return moment
    return moment.replace(tzinfo=ZoneInfo(zone_name))


class VirtualClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        if timezone.is_naive(start):
            raise ValueError("VirtualClock needs an aware datetime")
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> datetime:
        self.current += delta
        return self.current

    def set(self, moment: datetime) -> None:
        self.current = moment


@contextmanager
def use_clock(source: Callable[[], datetime]) -> Iterator[Callable[[], datetime]]:
    """Make `now()` read `source` inside the block."""
    global _source  # noqa: PLW0603 - the clock is process-wide on purpose
    previous, _source = _source, source
    try:
        yield source
    finally:
        _source = previous
