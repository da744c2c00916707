"""Searching the pool (workers.selectors.workers_search): a phone typed in any form finds the
worker, the filters narrow, and the reads for a worker's record stay a fixed number of
queries however large the pool and the record."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clients.services import client_create, site_create
from core import clock
from core.geo import GeoPoint
from dispatch.models import Offer
from dispatch.selectors import appeals_of_worker, offers_of_worker, order_codes_readable
from dispatch.services import order_place
from workers.models import Worker
from workers.selectors import WorkerSearch, workers_search

pytestmark = pytest.mark.django_db

NUMBER = "+79123456789"


def found(**search: Any) -> list[int]:
    return list(workers_search(Worker.objects.all(), WorkerSearch(**search))
                .values_list("pk", flat=True))


def separated(draw: st.DrawFn, digits: str) -> str:
    """`digits` as a person might type them: spaces, dashes, dots or brackets in between."""
    out = []
    for digit in digits:
        out.append(draw(st.sampled_from(["", "", "", " ", "-", ".", "(", ")"])))
        out.append(digit)
    return "".join(out).strip()


@st.composite
def typed_numbers(draw: st.DrawFn) -> tuple[str, str]:
    """A Russian mobile number, and a way a recruiter could type it or part of it."""
    national = "9" + draw(st.text("0123456789", min_size=9, max_size=9))
    form = draw(st.sampled_from(["e164", "plus", "trunk", "part"]))
    if form == "e164":
        typed = "+7" + national
    elif form == "plus":
        typed = "+7 " + separated(draw, national)
    elif form == "trunk":
        typed = "8 " + separated(draw, national)
    else:
        start = draw(st.integers(0, len(national) - 3))
        end = draw(st.integers(start + 3, len(national)))
        typed = separated(draw, national[start:end])
    return "+7" + national, typed


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(typed_numbers())
def test_a_phone_typed_in_any_form_finds_its_worker(number_and_typed: tuple[str, str]) -> None:
    number, typed = number_and_typed
    with transaction.atomic():
        wanted = Worker.objects.create(name="Wanted", phone=number)
        assert wanted.pk in found(phone=typed), typed
        transaction.set_rollback(True)


@pytest.mark.parametrize(("typed", "matches"), [
    ("8 912 345-67-89", True), ("+7 912 345 67 89", True), ("912 345", True),
    ("67-89", True), ("8 912", True), ("+7 913", False), ("+7912 345 6788", False),
    ("555", False),
])
def test_phone_examples(typed: str, matches: bool) -> None:
    wanted = Worker.objects.create(name="Wanted", phone=NUMBER)
    assert (found(phone=typed) == [wanted.pk]) is matches


def test_filters_narrow_and_the_nearest_come_first() -> None:
    now = clock.now()

    def make(name: str, **fields: Any) -> Worker:
        fields.setdefault("status", Worker.Status.ACTIVE)
        fields.setdefault("vetted_at", now if fields["status"] != "applicant" else None)
        return Worker.objects.create(name=name, phone=f"+7921000{Worker.objects.count():04d}",
                                     **fields)

    far = make("Anna Far", skills=["loading"], lat=59.99, lng=30.30, rating=4.5)
    near = make("Anna Near", skills=["loading"], lat=59.94, lng=30.30, rating=4.5)
    make("Anna Roofer", skills=["roofing"], lat=59.94, lng=30.30, rating=4.5)
    make("Anna Low", skills=["loading"], lat=59.94, lng=30.30, rating=3.0)
    make("Anna New", skills=["loading"], lat=59.94, lng=30.30, rating=4.5, status="applicant")
    make("Boris", skills=["loading"], lat=59.94, lng=30.30, rating=4.5)

    hits = workers_search(Worker.objects.all(), WorkerSearch(
        name="anna", skill="loading", status="active", min_rating=Decimal("4"),
        near=GeoPoint(59.93, 30.30), radius_km=10,
    ))
    assert [(w.pk, round(w.distance_km, 1)) for w in hits] == [(near.pk, 1.1), (far.pk, 6.7)]
    assert [w.name for w in workers_search(Worker.objects.all(), WorkerSearch(name="ANNA"))][
        :2] == ["Anna Far", "Anna Low"]  # by name without a place


def test_one_query_for_a_page_of_results(django_assert_num_queries: Any) -> None:
    Worker.objects.bulk_create(Worker(name=f"W{i}", phone=f"+7921100{i:04d}") for i in range(30))
    with django_assert_num_queries(1):
        rows = list(workers_search(Worker.objects.all(), WorkerSearch(phone="921 100"))[:20])
    assert len(rows) == 20
    assert all(row.opted_out is False for row in rows)


class TestRecordReads:
    """A worker's offers, appeals and the codes of the orders their events name: a fixed
    number of queries however many orders, and another franchise's orders without a code."""

    @staticmethod
    def offer_on(worker: Worker, franchise: Any, index: int) -> Any:
        client = client_create(name=f"Client {index}", franchise=franchise, phone="")
        lat, lng = (59.9, 30.3) if franchise.city == "Saint Petersburg" else (55.03, 82.92)
        site = site_create(client=client, address=f"Site {index}", lat=lat, lng=lng)
        order = order_place(client=client, site=site, work_type="loading", headcount=1,
                            start=clock.now() + timedelta(days=1 + index), hours=Decimal(4))
        Offer.objects.create(order=order, worker=worker, sent_at=clock.now(),
                             token=f"token-{worker.pk}-{index}")
        return order

    def test_reads_stay_flat_and_hide_other_franchises_orders(
        self, spb: Any, nsk: Any, spb_user: Any, nsk_user: Any,
        django_assert_num_queries: Any,
    ) -> None:
        worker = Worker.objects.create(name="Regular", phone=NUMBER)
        spb_orders = [self.offer_on(worker, spb, 0)]
        for reader in (spb_user, nsk_user):
            with django_assert_num_queries(2):
                offers_of_worker(worker, user=reader)
        spb_orders += [self.offer_on(worker, spb, index) for index in (1, 2)]
        nsk_orders = [self.offer_on(worker, nsk, index) for index in (3, 4)]
        ids = [order.pk for order in spb_orders + nsk_orders]

        with django_assert_num_queries(2):
            rows, total = offers_of_worker(worker, user=spb_user)
        assert total == 5
        assert {row.order_code for row in rows} == {o.code for o in spb_orders} | {None}
        assert {row.order_id for row in rows} == {o.pk for o in spb_orders} | {None}
        with django_assert_num_queries(1):
            assert order_codes_readable([*ids, None], user=nsk_user) == {
                order.pk: order.code for order in nsk_orders}
        with django_assert_num_queries(1):
            assert appeals_of_worker(worker, user=spb_user) == []
