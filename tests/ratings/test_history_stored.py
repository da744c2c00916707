"""The rating history a profile draws ends exactly at the figures stored on the worker row,
whichever service wrote them: an event as it happens, a restatement after an appeal, the
periodic refresh of fading penalties."""

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from core import clock
from ratings import scoring
from ratings.models import RatingEvent
from ratings.selectors import rating_history
from ratings.services import rating_event_record, worker_ratings_recompute
from ratings.tasks import refresh_fading_ratings
from tests.ratings.test_services import T0, make_worker
from workers.models import Worker

pytestmark = pytest.mark.django_db


@pytest.fixture
def vclock() -> Iterator[clock.VirtualClock]:
    virtual = clock.VirtualClock(T0)
    with clock.use_clock(virtual):
        yield virtual


def record(worker: Worker, vclock: clock.VirtualClock, kind: str, hours: float = 24,
           **fields: Any) -> None:
    vclock.advance(timedelta(hours=hours))
    rating_event_record(worker=worker, kind=kind, **fields)


def shifts_and_a_no_show(worker: Worker, vclock: clock.VirtualClock) -> None:
    for score in (5, 4, 5):
        record(worker, vclock, scoring.EventKind.SHOW, order_ref=1)
        record(worker, vclock, scoring.EventKind.SCORE, hours=8, score=score, source="foreman")
    record(worker, vclock, scoring.EventKind.NO_SHOW, order_ref=2)


def test_the_last_event_point_is_the_stored_rating_and_reliability(
    vclock: clock.VirtualClock,
) -> None:
    worker = make_worker()
    shifts_and_a_no_show(worker, vclock)
    worker.refresh_from_db()

    history = rating_history(worker)
    points = history.points

    assert len(points) == 1 + RatingEvent.objects.filter(worker=worker).count()
    assert (points[-1].rating, points[-1].reliability) == (worker.rating, worker.reliability)
    assert points[0].at == worker.created_at
    # Each event has the figures it left; the no-show took the published stars at once.
    events = list(RatingEvent.objects.filter(worker=worker).order_by("id"))
    assert list(history.after_event) == [event.id for event in events]
    no_show = history.after_event[events[-1].id]
    assert no_show is points[-1]
    assert no_show.rating_before - no_show.rating == pytest.approx(1.5, abs=1e-9)


def test_after_the_refresh_the_point_now_is_the_stored_rating(vclock: clock.VirtualClock) -> None:
    worker = make_worker()
    shifts_and_a_no_show(worker, vclock)
    vclock.advance(timedelta(days=10))
    assert refresh_fading_ratings() == 1
    worker.refresh_from_db()

    last = rating_history(worker, until=clock.now()).points[-1]

    assert last.at == clock.now()
    assert (last.rating, last.reliability) == (worker.rating, worker.reliability)


def test_a_reversed_no_show_leaves_the_line_as_it_leaves_the_figures(
    vclock: clock.VirtualClock,
) -> None:
    worker = make_worker()
    shifts_and_a_no_show(worker, vclock)
    RatingEvent.objects.filter(worker=worker, kind="no_show").update(reversed_at=clock.now())
    worker_ratings_recompute(worker=worker)
    worker.refresh_from_db()

    points = rating_history(worker, until=clock.now()).points

    assert len(points) == 1 + 6 + 1  # priors, three shifts and three scores, now
    no_show = RatingEvent.objects.get(worker=worker, kind="no_show")
    assert no_show.id not in rating_history(worker).after_event
    assert (points[-1].rating, points[-1].reliability) == (worker.rating, worker.reliability)


def test_a_newcomer_is_a_flat_line_at_the_row_defaults(vclock: clock.VirtualClock) -> None:
    worker = make_worker()
    vclock.advance(timedelta(days=2))
    points = rating_history(worker, until=clock.now()).points
    assert [(p.rating, p.reliability) for p in points] == [(worker.rating, worker.reliability)] * 2


def test_one_query_however_long_the_record(
    vclock: clock.VirtualClock, django_assert_num_queries: Any
) -> None:
    short, long = make_worker(), make_worker()
    record(short, vclock, scoring.EventKind.SHOW)
    for _ in range(40):
        record(long, vclock, scoring.EventKind.SHOW, hours=12)
    for worker in (short, long):
        with django_assert_num_queries(1):
            rating_history(worker, until=clock.now())
