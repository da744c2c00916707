"""The benchmark's average rating is the workers' ratings as they stood at the month's end:
what they did after (a no-show, a poor score, an appeal won) leaves a closed month as it was,
and reading it costs the same few queries however many shifts the month had."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from billing.selectors import benchmark_rows
from billing.services import period_bounds
from dispatch.models import Offer
from franchises.models import Franchise
from ratings.models import RatingEvent
from ratings.scoring import EventKind
from ratings.selectors import ratings_at
from ratings.services import rating_event_record, worker_ratings_recompute
from workers.models import Worker

from .conftest import PRESENT, Books

pytestmark = pytest.mark.django_db

URL = "/api/v1/reports/benchmark/"


def avg_rating(api: APIClient, franchise: Franchise) -> float:
    body = api.get(URL, {"period": "2026-11"}).json()
    (row,) = [row for row in body["results"] if row["franchise"] == franchise.pk]
    return row["avg_rating"]


@pytest.fixture
def november(books: Books, spb: Franchise) -> list[Worker]:
    """Two workers present on a Saint Petersburg order of 5 November; one of them a no-show
    (recorded) on 20 November."""
    client = books.client(spb)
    order = books.worked(client, start=datetime(2026, 11, 5, 6, 0, tzinfo=UTC), hours=6,
                         bill_rate="200", pay_rate="100",
                         attendance=[(PRESENT, None), (PRESENT, None)])
    crew = [offer.worker for offer in Offer.objects.filter(order=order).select_related("worker")]
    rating_event_record(worker=crew[0], kind=EventKind.NO_SHOW,
                        at=datetime(2026, 11, 20, 7, 0, tzinfo=UTC))
    return crew


def test_what_workers_do_after_the_month_leaves_it_as_it_was(
    books: Books, november: list[Worker], spb: Franchise, hq_api: APIClient
) -> None:
    books.clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    closed = avg_rating(hq_api, spb)
    assert closed is not None
    today_before = sum(Worker.objects.get(pk=w.pk).rating for w in november) / 2

    # December: the other worker fails to show and scores 1 from a client; the November
    # no-show is reversed on appeal.
    books.clock.set(datetime(2026, 12, 10, 9, 0, tzinfo=UTC))
    rating_event_record(worker=november[1], kind=EventKind.NO_SHOW)
    rating_event_record(worker=november[1], kind=EventKind.SCORE, score=1, source="client")
    RatingEvent.objects.filter(worker=november[0], kind=EventKind.NO_SHOW).update(
        reversed_at=books.clock())
    worker_ratings_recompute(worker=november[0])
    today_after = sum(Worker.objects.get(pk=w.pk).rating for w in november) / 2
    assert today_after != pytest.approx(today_before, abs=1e-3)  # today's ratings moved

    books.clock.set(datetime(2027, 3, 1, 9, 0, tzinfo=UTC))
    assert avg_rating(hq_api, spb) == closed


def test_the_no_show_within_the_month_counts(
    books: Books, november: list[Worker], spb: Franchise, hq_api: APIClient
) -> None:
    """The rating of the worker who missed a shift on 20 November stands lower at the month's
    end than the other's: the month's figure is not the priors'."""

    end = period_bounds("2026-11", spb.timezone)[1]
    standing = ratings_at([w.pk for w in november], end)
    assert standing[november[0].pk] < standing[november[1].pk]
    books.clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    assert avg_rating(hq_api, spb) == pytest.approx(
        (standing[november[0].pk] + standing[november[1].pk]) / 2, abs=1e-4)


def test_more_shifts_and_workers_cost_no_more_queries(books: Books, spb: Franchise) -> None:
    client = books.client(spb)
    books.worked(client, start=datetime(2026, 11, 5, 6, 0, tzinfo=UTC), hours=6,
                 bill_rate="200", pay_rate="100", attendance=[(PRESENT, None)])
    with CaptureQueriesContext(connection) as few:
        benchmark_rows(period="2026-11")
    for day in (10, 12, 14):
        books.worked(client, start=datetime(2026, 11, day, 6, 0, tzinfo=UTC), hours=6,
                     bill_rate="200", pay_rate="100", attendance=[(PRESENT, None)] * 3)
    with CaptureQueriesContext(connection) as many:
        benchmark_rows(period="2026-11")
    assert len(many) == len(few)


def test_ratings_at_fold_the_events_before_the_moment(books: Books, spb: Franchise) -> None:
    """Direct check of the fold: nothing before the moment is the newcomer's prior; a no-show
    before it lowers the rating; one recorded after it changes nothing."""

    books.clock.set(datetime(2026, 11, 1, 9, 0, tzinfo=UTC))
    worker = Worker.objects.create(name="Pavel", phone="+79110007777", skills=["loading"])
    moment = datetime(2026, 11, 15, 0, 0, tzinfo=UTC)
    prior = ratings_at([worker.pk], moment)[worker.pk]
    rating_event_record(worker=worker, kind=EventKind.NO_SHOW,
                        at=datetime(2026, 11, 16, 0, 0, tzinfo=UTC))
    assert ratings_at([worker.pk], moment)[worker.pk] == prior
    assert ratings_at([worker.pk], datetime(2026, 11, 17, tzinfo=UTC))[worker.pk] < prior
