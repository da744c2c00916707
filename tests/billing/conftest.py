"""Builders for the money tests: orders staffed through the real pipeline (call-out, SMS
answers, batch assignment), attendance taken, and completion that writes the lines.

Every order gets its own site, a degree of latitude (111 km) from the others, with its crew
living on it: a call-out then reaches exactly that crew, whoever else is in the pool.
"""

import itertools
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from clients.models import Client, Site
from clients.services import client_create, site_create
from core import clock
from dispatch.models import Order
from dispatch.services import assignment_run, callout_start, order_place
from dispatch.services.onsite import AttendanceEntry, attendance_record, order_complete
from franchises.models import Franchise
from franchises.services import franchise_save
from messaging.services import inbound_receive
from workers.models import Worker
from workers.services import worker_create

_phones = itertools.count(1)
_sids = itertools.count(1)

PRESENT, LATE, NO_SHOW = "present", "late", "no_show"


class Books:
    """Builds a franchise's month: staffed orders, attendance, completion."""

    def __init__(self, *, hq_user: Any, virtual_clock: clock.VirtualClock) -> None:
        self.hq_user = hq_user
        self.clock = virtual_clock
        self._sites = itertools.count()

    def client(self, franchise: Franchise, name: str = "Lenta warehouse") -> Client:
        return client_create(name=name, franchise=franchise,
                             phone=f"+7812{next(_phones) % 10**7:07d}")

    def site(self, client: Client, conditions: str = "warm_indoor") -> Site:
        index = next(self._sites)
        return site_create(client=client, address=f"Warehouse {index}", lat=40.0 + index,
                           lng=40.0, conditions=conditions)

    def crew(self, site: Site, size: int) -> list[Worker]:
        return [
            worker_create(name=f"Worker {index}", phone=f"+7955{next(_phones) % 10**7:07d}",
                          skills=["loading"], lat=site.lat + 0.001 * index, lng=site.lng,
                          status=Worker.Status.ACTIVE, created_by=self.hq_user)
            for index in range(size)
        ]

    def say_yes(self, worker: Worker, order: Order) -> None:
        inbound_receive(provider_sid=f"SM{next(_sids):032x}", sender=str(worker.phone),
                        body=f"YES {order.code}")

    def staffed(self, client: Client, *, start: datetime, headcount: int, hours: Any = 8,
                bill_rate: Any = None, pay_rate: Any = None,
                minutes_to_fill: float = 5) -> tuple[Order, list[Worker]]:
        """An order placed the day before `start`, called out, accepted by a crew of
        `headcount` by SMS and assigned `minutes_to_fill` minutes after the call-out."""
        self.clock.set(start - timedelta(days=1))
        site = self.site(client)
        rates = {}
        if bill_rate is not None:
            rates = {"bill_rate": Decimal(bill_rate), "pay_rate": Decimal(pay_rate)}
        order = order_place(client=client, site=site, work_type="loading",
                            headcount=headcount, start=start, hours=Decimal(hours), **rates)
        workers = self.crew(site, headcount)
        callout_start(order=order)
        for worker in workers:
            self.say_yes(worker, order)
        self.clock.advance(timedelta(minutes=minutes_to_fill))
        assignment_run(franchise_id=order.franchise_id)
        order.refresh_from_db()
        assert order.status == Order.Status.FILLED, order.status
        return order, workers

    def complete(self, order: Order,
                 attendance: Sequence[tuple[Worker, str, Any]]) -> Order:
        """Attendance as the foreman records it (hours may be None), then completion."""
        self.clock.set(order.start + timedelta(minutes=10))
        attendance_record(order=order, entries=[
            AttendanceEntry(worker.pk, status, None if hours is None else Decimal(hours))
            for worker, status, hours in attendance
        ])
        self.clock.set(order.ends_at + timedelta(minutes=30))
        return order_complete(order=order)

    def worked(self, client: Client, *, start: datetime, hours: Any, bill_rate: Any,
               pay_rate: Any, attendance: Sequence[tuple[str, Any]],
               minutes_to_fill: float = 5) -> Order:
        """A completed order whose crew's attendance is given as (status, hours) pairs."""
        order, workers = self.staffed(
            client, start=start, headcount=len(attendance), hours=hours, bill_rate=bill_rate,
            pay_rate=pay_rate, minutes_to_fill=minutes_to_fill,
        )
        return self.complete(order, [
            (worker, status, worked) for worker, (status, worked) in zip(
                workers, attendance, strict=True)
        ])


@pytest.fixture
def books_clock() -> Iterator[clock.VirtualClock]:
    virtual = clock.VirtualClock(datetime(2026, 10, 1, 9, 0, tzinfo=UTC))
    with clock.use_clock(virtual):
        yield virtual


@pytest.fixture
def books(hq_user: Any, books_clock: clock.VirtualClock, spb: Franchise,
          nsk: Franchise) -> Books:
    """Both offices book exactly the headcount (no over-booking), so a crew that accepts
    fills its order."""
    for franchise in (spb, nsk):
        franchise.booking_ratio = Decimal(1)
        franchise_save(franchise=franchise)
    return Books(hq_user=hq_user, virtual_clock=books_clock)
