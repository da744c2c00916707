"""Times as the people on the ground read them: in the franchise's time zone, zone named.

Times are stored in UTC; every page shows them in the order's franchise's zone. The board of
an HQ user mixes cities, so each time carries its zone's abbreviation ("MSK"), or its offset
("UTC+07") where the time zone database has no letters for it (most Russian zones east of
Moscow).
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import dateformat, formats


@dataclass(frozen=True)
class LocalTime:
    """One moment, formatted for a page in one zone."""

    day: str  # "Mon 11 Mar", "Пн, 11 марта": the page's language
    clock: str  # "09:00"
    zone: str  # "MSK", "UTC+07"
    zone_name: str  # "Europe/Moscow"
    iso: str  # the moment in ISO 8601 with its UTC offset, for <time datetime="...">
    local_date: date

    def __str__(self) -> str:
        return f"{self.day} {self.clock} {self.zone}"


def zone_label(moment: datetime) -> str:
    """The zone's abbreviation of an aware datetime, or its UTC offset when the database has
    only digits ("+07") for it."""
    abbreviation = moment.tzname() or ""
    return f"UTC{abbreviation}" if abbreviation.startswith(("+", "-")) else abbreviation


def local_time(moment: datetime, zone_name: str) -> LocalTime:
    """`moment` (aware, any zone) as it reads in `zone_name`."""
    local = moment.astimezone(ZoneInfo(zone_name))
    return LocalTime(
        day=dateformat.format(local, formats.get_format("CONSOLE_DAY_FORMAT")),
        clock=dateformat.format(local, "H:i"),
        zone=zone_label(local),
        zone_name=zone_name,
        iso=local.isoformat(),
        local_date=local.date(),
    )


def local_days(now: datetime, zone_name: str, days: int) -> tuple[datetime, datetime]:
    """[midnight today, midnight `days` later) in `zone_name`, as aware datetimes: a local
    day is 23 or 25 hours long when the clocks change."""
    zone = ZoneInfo(zone_name)
    today = now.astimezone(zone).date()
    return (
        datetime.combine(today, time.min, tzinfo=zone),
        datetime.combine(today + timedelta(days=days), time.min, tzinfo=zone),
    )
