"""Rules dispatch writes both in SQL (dispatch/sql.py) and in Python, held equal on generated
data: a running order's crew, and a candidate's cost. Whatever database the suite runs on."""

import math
import secrets
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from core.expressions import MillisecondsBetween
from core.geo import EARTH_RADIUS_KM
from dispatch import optimizer, selectors, sql
from dispatch.models import ClientPreference, Offer, Order
from workers.models import Worker

from .conftest import NOW, Desk

pytestmark = pytest.mark.django_db

DB_EXAMPLES = hypothesis_settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

offer_rows = st.lists(
    st.tuples(st.sampled_from(list(Offer.State)),
              st.sampled_from([None, *Offer.Attendance])),
    max_size=8,
)


@pytest.fixture
def order(desk: Desk) -> Order:
    desk.workers(8)
    return desk.order(headcount=3)


@DB_EXAMPLES
@given(rows=offer_rows)
def test_the_crew_of_a_running_order_counts_the_same_in_sql_and_python(
    order: Order, rows: list[tuple[str, str | None]]
) -> None:
    Offer.objects.filter(order=order).delete()
    workers = list(Worker.objects.order_by("id"))
    Offer.objects.bulk_create(
        Offer(order=order, worker=worker, sent_at=NOW, state=state, attendance=attendance,
              token=secrets.token_hex(8))
        for worker, (state, attendance) in zip(workers, rows, strict=False)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {sql.crew_count(connection.alias, '%s')}", [order.pk])
        in_sql = cursor.fetchone()[0]
    in_python = selectors.crew_on_site(order.offers.all()).count()
    expected = sum(
        1 for state, attendance in rows[:len(workers)]
        if state == Offer.State.CONFIRMED and attendance not in Offer.OFF_CREW_MARKS
    )
    assert in_sql == in_python == expected


workers_around = st.lists(
    st.tuples(
        st.floats(-30, 30), st.floats(-30, 30),  # km north and east of the site
        st.floats(0, 5), st.floats(0, 1),  # rating, reliability
        st.booleans(),  # a favourite of the client
    ),
    min_size=1, max_size=10,
)


@DB_EXAMPLES
@given(people=workers_around)
def test_the_candidate_cost_is_the_same_in_sql_and_python(
    desk: Desk, people: list[tuple[float, float, float, float, bool]]
) -> None:
    """The SQL's approximate cost (flat distance) is the optimiser's cost rule at that
    distance; the exact cost the search returns is the optimiser's own for the same pair."""
    Worker.objects.all().delete()
    site = desk.site
    order = Order.objects.filter(site=site).first() or desk.order()
    for north, east, rating, reliability, favourite in people:
        worker = desk.worker(north, east=east, rating=rating, reliability=reliability)
        if favourite:
            ClientPreference.objects.create(client=desk.client, worker=worker,
                                            kind=ClientPreference.Kind.FAVOURITE)
    weights = optimizer.Weights(**settings.DISPATCH["WEIGHTS"])
    bonus = settings.DISPATCH["FAVOURITE_BONUS"]

    found = selectors._box_rows(order, 60.0, 100)

    assert len(found) == len(people)
    km_per_degree = EARTH_RADIUS_KM * math.pi / 180
    for row in map(sql.CandidateRow._make, found):
        flat_km = math.hypot(
            (row.lat - site.lat) * km_per_degree,
            (row.lng - site.lng) * km_per_degree * math.cos(math.radians(site.lat)),
        )
        expected = optimizer.pair_cost(
            flat_km, optimizer.worker_cost(row.rating, row.reliability, weights), weights
        ) - (bonus if row.is_favourite else 0.0)
        assert row.approximate_cost == pytest.approx(expected, rel=1e-9, abs=1e-9)

    ranked = selectors.candidates_for_order(order, radius_km=60.0)
    compiled = optimizer._compile(optimizer.Problem(
        orders=[optimizer.OrderSlots(id=order.pk, slots=1, lat=site.lat, lng=site.lng)],
        workers=[optimizer.Candidate(id=c.worker_id, lat=c.lat, lng=c.lng, rating=c.rating,
                                     reliability=c.reliability) for c in ranked],
        eligible=[(c.worker_id, order.pk) for c in ranked],
        weights=weights,
    ))
    by_worker = dict(zip((compiled.worker_ids[i] for i in compiled.pair_worker),
                         compiled.pair_cost.tolist(), strict=True))
    for candidate in ranked:
        assert candidate.cost == pytest.approx(
            by_worker[candidate.worker_id] - (bonus if candidate.is_favourite else 0.0),
            rel=1e-12, abs=1e-12,
        )


# Offsets of a booking before its order's start: whole seconds, around the final reminder's
# boundary, and with microseconds (which SQLite's day fraction keeps to about a millisecond).
before_start = st.one_of(
    st.integers(-3 * 86_400, 3 * 86_400).map(lambda s: timedelta(seconds=s)),
    st.integers(-2, 2).map(lambda s: timedelta(hours=2, seconds=s)),
    st.integers(-10**9, 10**9).map(lambda us: timedelta(microseconds=us)),
)


@DB_EXAMPLES
@given(offsets=st.lists(before_start, min_size=1, max_size=6))
def test_milliseconds_between_two_stored_datetimes_is_their_difference(
    order: Order, offsets: list[timedelta]
) -> None:
    """The database's own difference (core.expressions), which the observed show rates use to
    tell bookings made before the final reminder: the difference in Python to the millisecond,
    exactly where the stored times are whole seconds apart (the reminder boundary included)."""
    Offer.objects.filter(order=order).delete()
    workers = list(Worker.objects.order_by("id"))[:len(offsets)]
    Offer.objects.bulk_create(
        Offer(order=order, worker=worker, sent_at=NOW, confirmed_at=order.start - offset,
              token=secrets.token_hex(8))
        for worker, offset in zip(workers, offsets, strict=True)
    )
    measured = dict(
        Offer.objects.filter(order=order)
        .annotate(ms=MillisecondsBetween("order__start", "confirmed_at"))
        .values_list("worker_id", "ms")
    )
    for worker, offset in zip(workers, offsets, strict=True):
        expected = offset / timedelta(milliseconds=1)
        if offset.microseconds == 0:
            assert measured[worker.pk] == expected
        else:
            assert abs(measured[worker.pk] - expected) <= 1.0
