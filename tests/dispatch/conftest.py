"""Builders for the dispatch service tests: workers around a site, orders, SMS replies, and a
virtual clock that only moves when a test moves it.

Every test that uses `desk` runs at NOW (noon in Saint Petersburg); orders start at START,
09:00 local the next morning, unless a test says otherwise.
"""

import itertools
import math
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from clients.services import client_create, site_create
from core import clock
from dispatch.models import Offer, Order, Step
from dispatch.selectors import COUNT_NAMES, orders_with_counts
from dispatch.services import assignment_run, callout_start, order_place
from dispatch.tasks import run_due_steps
from franchises.models import Franchise
from messaging.models import Direction, Message
from messaging.services import InboundResult, inbound_receive
from workers.models import Worker

NOW = datetime(2030, 3, 10, 9, 0, tzinfo=UTC)  # 12:00 in Saint Petersburg (Europe/Moscow)
START = datetime(2030, 3, 11, 6, 0, tzinfo=UTC)  # 09:00 local the next morning
KM_PER_DEGREE = 6371.009 * math.pi / 180

_phones = itertools.count(1)
_sids = itertools.count(1)


def next_phone() -> str:
    return f"+7911{next(_phones) % 10**7:07d}"


def next_sid() -> str:
    return f"SM{next(_sids):032x}"


def point_near(lat: float, lng: float, km_north: float, km_east: float = 0.0
               ) -> tuple[float, float]:
    """The point `km_north` and `km_east` of (lat, lng): 1 km is 1/111.2 of a degree north."""
    return (
        lat + km_north / KM_PER_DEGREE,
        lng + km_east / (KM_PER_DEGREE * math.cos(math.radians(lat))),
    )


def set_dispatch(settings: Any, **changes: Any) -> None:
    """Override some keys of settings.DISPATCH for one test."""
    settings.DISPATCH = {**settings.DISPATCH, **changes}


def run_together(count: int, action: Callable[[int], Any], *, timeout: float = 60.0
                 ) -> list[Any]:
    """Run `action(i)` for i in range(count), each in its own thread and database connection,
    released at the same moment by a barrier. Returns the results in index order; the first
    exception of any thread is raised here."""
    barrier = threading.Barrier(count, timeout=timeout)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = action(index)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread did not finish"
    if errors:
        raise errors[0]
    return results


class Desk:
    """One franchise's dispatch, driven the way users drive it: orders placed by the
    service, offers sent by the call-out, answers arriving as SMS, steps run by the sweeper."""

    def __init__(self, *, franchise: Any, client: Any, site: Any,
                 virtual_clock: clock.VirtualClock) -> None:
        self.franchise = franchise
        self.client = client
        self.site = site
        self.clock = virtual_clock

    # --- people and places ----------------------------------------------------------------

    def worker(self, km: float = 1.0, *, east: float = 0.0, site: Any = None,
               skills: Iterable[str] = ("loading",), language: str = "ru",
               **fields: Any) -> Worker:
        """An active, vetted worker living `km` north (and `east` km east) of the site."""
        return self.workers(1, km=km, east=east, site=site, skills=skills, language=language,
                            **fields)[0]

    def workers(self, count: int, *, km: float = 1.0, east: float = 0.0, site: Any = None,
                skills: Iterable[str] = ("loading",), language: str = "ru",
                **fields: Any) -> list[Worker]:
        site = site or self.site
        lat, lng = point_near(site.lat, site.lng, km, east)
        values = {
            "status": Worker.Status.ACTIVE,
            "vetted_at": NOW - timedelta(days=30),
            "lat": lat,
            "lng": lng,
            "skills": list(skills),
            "language": language,
            **fields,
        }
        if values["status"] == Worker.Status.APPLICANT and "vetted_at" not in fields:
            values["vetted_at"] = None
        rows = [
            Worker(name=f"Worker {index}", phone=next_phone(), **values)
            for index in range(count)
        ]
        return Worker.objects.bulk_create(rows)

    def site_at(self, km_north: float, km_east: float = 0.0) -> Any:
        lat, lng = point_near(self.site.lat, self.site.lng, km_north, km_east)
        return site_create(client=self.client, address=f"Site {km_north:g} km north",
                           lat=lat, lng=lng)

    # --- orders -----------------------------------------------------------------------------

    def order(self, headcount: int = 2, *, start: datetime = START, hours: Any = 6,
              site: Any = None, work_type: str = "loading", **fields: Any) -> Order:
        """An order placed by the service, at the quoted 220 to the client and 100 to the
        worker per hour."""
        fields.setdefault("bill_rate", Decimal(220))
        fields.setdefault("pay_rate", Decimal(100))
        return order_place(
            client=self.client, site=site or self.site, work_type=work_type,
            headcount=headcount, start=start, hours=Decimal(hours), **fields,
        )

    def call(self, order: Order) -> Order:
        callout_start(order=order)
        order.refresh_from_db()
        return order

    def called(self, headcount: int = 2, **fields: Any) -> Order:
        return self.call(self.order(headcount, **fields))

    def book(self, order: Order, workers: Iterable[Worker]) -> Order:
        """Call out `order`, have `workers` accept it, and run the assignment."""
        if order.status == Order.Status.DRAFT:
            self.call(order)
        for worker in workers:
            self.accept(worker, order)
        assignment_run(franchise_id=order.franchise_id)
        order.refresh_from_db()
        return order

    # --- SMS --------------------------------------------------------------------------------

    def reply(self, worker: Worker, body: str, *, sid: str | None = None) -> InboundResult:
        return inbound_receive(provider_sid=sid or next_sid(), sender=str(worker.phone),
                               body=body)

    def accept(self, worker: Worker, order: Order) -> InboundResult:
        return self.reply(worker, f"YES {order.code}")

    def told(self, order: Order, purpose: str) -> set[int]:
        """Workers who were sent an SMS of `purpose` about `order`."""
        return set(
            Message.objects.filter(order=order, purpose=purpose, direction=Direction.OUT)
            .values_list("worker_id", flat=True)
        )

    def texts(self, order: Order, purpose: str) -> dict[int, list[str]]:
        found: dict[int, list[str]] = {}
        for worker_id, body in Message.objects.filter(
            order=order, purpose=purpose, direction=Direction.OUT
        ).order_by("id").values_list("worker_id", "body"):
            found.setdefault(worker_id, []).append(body)
        return found

    # --- time and the sweeper -----------------------------------------------------------------

    def at(self, moment: datetime) -> None:
        self.clock.set(moment)

    def sweep(self, at: datetime | None = None) -> int:
        """Run the periodic job, at `at` if given."""
        if at is not None:
            self.at(at)
        return run_due_steps()

    def batch_due(self) -> datetime:
        return Step.objects.get(kind=Step.Kind.ASSIGN, franchise=self.franchise,
                                done_at__isnull=True).due_at

    def run_batch(self) -> int:
        """Move the clock to the pending batch assignment and let the sweeper run it."""
        return self.sweep(at=self.batch_due())

    # --- reading back -------------------------------------------------------------------------

    def counts(self, order: Order) -> dict[str, int]:
        annotated = orders_with_counts(Order.objects.filter(pk=order.pk)).get()
        return {name: getattr(annotated, f"count_{name}") for name in COUNT_NAMES}

    def offered(self, order: Order) -> set[int]:
        return set(Offer.objects.filter(order=order).values_list("worker_id", flat=True))

    def in_state(self, order: Order, state: str) -> set[int]:
        return set(
            Offer.objects.filter(order=order, state=state).values_list("worker_id", flat=True)
        )

    def offer(self, order: Order, worker: Worker) -> Offer:
        return Offer.objects.get(order=order, worker=worker)


@pytest.fixture
def vclock() -> Iterator[clock.VirtualClock]:
    virtual = clock.VirtualClock(NOW)
    with clock.use_clock(virtual):
        yield virtual


@pytest.fixture
def desk(vclock: clock.VirtualClock, spb: Any, spb_client: Any) -> Desk:
    site = site_create(client=spb_client, address="Sofiyskaya 6, Saint Petersburg",
                       lat=59.87, lng=30.42)
    return Desk(franchise=spb, client=spb_client, site=site, virtual_clock=vclock)


@pytest.fixture
def brand_desk(desk: Desk, territory_box: Any) -> Desk:
    """A brand franchise working the same city from a site 2 km north of the office's: the
    pool of workers is shared, the batches are not."""

    brand = Franchise.objects.create(
        name="Neva Movers", kind=Franchise.Kind.BRAND_FRANCHISE, city="Saint Petersburg",
        territory=territory_box(59.94, 30.31),
    )
    client = client_create(name="Neva furniture", franchise=brand)
    lat, lng = point_near(desk.site.lat, desk.site.lng, 2)
    site = site_create(client=client, address="Neva furniture store", lat=lat, lng=lng)
    return Desk(franchise=brand, client=client, site=site, virtual_clock=desk.clock)
