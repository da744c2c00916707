"""Recording rating events on workers: figures change at once, suspension, recompute, fading."""

import io
import itertools
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction

from core import clock
from ratings import scoring
from ratings.models import RatingEvent
from ratings.services import rating_event_record, rating_params, worker_ratings_recompute
from ratings.tasks import refresh_fading_ratings
from workers.models import Worker

T0 = datetime(2030, 5, 6, 9, 0, tzinfo=UTC)
_phones = itertools.count(1)

pytestmark = pytest.mark.django_db


def make_worker(**fields: Any) -> Worker:
    fields.setdefault("status", Worker.Status.ACTIVE)
    fields.setdefault("vetted_at", T0 - timedelta(days=60))
    return Worker.objects.create(
        name=f"Worker {next(_phones)}", phone=f"+7921{next(_phones):07d}", skills=["loading"],
        **fields,
    )


def figures(worker: Worker) -> tuple[float, float, int, int]:
    worker.refresh_from_db()
    return worker.rating, worker.reliability, worker.no_shows, worker.shifts_completed


@pytest.fixture
def vclock() -> Iterator[clock.VirtualClock]:
    virtual = clock.VirtualClock(T0)
    with clock.use_clock(virtual):
        yield virtual


def test_a_no_show_lowers_rating_and_reliability_within_the_same_transaction(
    vclock: clock.VirtualClock,
) -> None:
    absent, scored = make_worker(), make_worker()
    rating_before, reliability_before = absent.rating, absent.reliability

    with transaction.atomic():
        rating_event_record(worker=absent, kind=scoring.EventKind.NO_SHOW, order_ref=1)
        row = Worker.objects.get(pk=absent.pk)
        assert row.rating < rating_before
        assert row.reliability < reliability_before
        assert row.no_shows == 1
        assert RatingEvent.objects.filter(worker=absent, kind="no_show").count() == 1

    rating_event_record(worker=scored, kind=scoring.EventKind.SCORE, score=1, source="foreman")
    scored.refresh_from_db()
    assert scored.reliability == reliability_before  # a score says nothing of turning up
    no_show_drop = rating_before - row.rating
    score_drop = rating_before - scored.rating
    assert score_drop > 0
    assert no_show_drop > score_drop


def test_two_no_shows_within_the_window_suspend_the_worker(vclock: clock.VirtualClock) -> None:
    worker = make_worker()
    rating_event_record(worker=worker, kind=scoring.EventKind.NO_SHOW, order_ref=1)
    worker.refresh_from_db()
    assert worker.status == Worker.Status.ACTIVE

    vclock.advance(timedelta(days=3))
    rating_event_record(worker=worker, kind=scoring.EventKind.NO_SHOW, order_ref=2)
    worker.refresh_from_db()
    assert worker.status == Worker.Status.SUSPENDED
    assert worker.no_shows == 2


def test_no_shows_spread_beyond_the_window_do_not_suspend(vclock: clock.VirtualClock) -> None:
    worker = make_worker()
    window = rating_params().suspension_window
    rating_event_record(worker=worker, kind=scoring.EventKind.NO_SHOW, order_ref=1)
    vclock.advance(window + timedelta(days=1))
    rating_event_record(worker=worker, kind=scoring.EventKind.NO_SHOW, order_ref=2)
    worker.refresh_from_db()
    assert worker.no_shows == 2
    assert worker.status == Worker.Status.ACTIVE


def test_suspension_rule_follows_the_settings(settings: Any, vclock: clock.VirtualClock) -> None:
    settings.RATING_PARAMS = {"suspension_no_shows": 3, "suspension_window_days": 10.0}
    worker = make_worker()
    for order_ref in (1, 2):
        rating_event_record(worker=worker, kind=scoring.EventKind.NO_SHOW, order_ref=order_ref)
        vclock.advance(timedelta(days=4))
    worker.refresh_from_db()
    assert worker.status == Worker.Status.ACTIVE  # two are not enough under these settings

    rating_event_record(worker=worker, kind=scoring.EventKind.NO_SHOW, order_ref=3)
    worker.refresh_from_db()
    assert worker.status == Worker.Status.SUSPENDED

    other = make_worker()
    for order_ref in (4, 5, 6):
        rating_event_record(worker=other, kind=scoring.EventKind.NO_SHOW, order_ref=order_ref)
        vclock.advance(timedelta(days=6))  # three no-shows, never three within 10 days
    other.refresh_from_db()
    assert other.status == Worker.Status.ACTIVE


def test_an_applicant_is_never_suspended_by_the_rules(vclock: clock.VirtualClock) -> None:
    applicant = make_worker(status=Worker.Status.APPLICANT, vetted_at=None)
    for order_ref in (1, 2):
        rating_event_record(worker=applicant, kind=scoring.EventKind.NO_SHOW, order_ref=order_ref)
    applicant.refresh_from_db()
    assert applicant.status == Worker.Status.APPLICANT


def test_a_reinstated_worker_is_not_suspended_again_by_a_clean_shift(
    vclock: clock.VirtualClock,
) -> None:
    worker = make_worker()
    rating_event_record(worker=worker, kind=scoring.EventKind.NO_SHOW, order_ref=1)
    vclock.advance(timedelta(days=1))
    rating_event_record(worker=worker, kind=scoring.EventKind.NO_SHOW, order_ref=2)
    worker.refresh_from_db()
    assert worker.status == Worker.Status.SUSPENDED

    # A recruiter reviews the case and lets the worker back in (the admin's status field).
    Worker.objects.filter(pk=worker.pk).update(status=Worker.Status.ACTIVE)
    vclock.advance(timedelta(days=2))
    rating_event_record(worker=worker, kind=scoring.EventKind.SHOW, order_ref=3)
    rating_event_record(worker=worker, kind=scoring.EventKind.SCORE, order_ref=3, score=5,
                        source="foreman")
    worker_ratings_recompute(worker=worker)
    worker.refresh_from_db()
    assert worker.status == Worker.Status.ACTIVE


# --- The recompute command ------------------------------------------------------------------

KINDS = [
    (scoring.EventKind.SHOW, 10),
    (scoring.EventKind.LATE, 2),
    (scoring.EventKind.NO_SHOW, 2),
    (scoring.EventKind.LATE_CANCEL, 1),
    (scoring.EventKind.VERY_LATE_CANCEL, 1),
    (scoring.EventKind.CANCEL, 1),
    (scoring.EventKind.SCORE, 8),
]


def _random_histories(rng: random.Random, workers: list[Worker],
                      vclock: clock.VirtualClock, events: int) -> None:
    """Interleaved events for all `workers` through the service, as dispatch records them:
    some at the same moment, some stamped in the past, and now and then a no-show reversed
    on appeal (the worker's figures restated) before the worker's next event."""
    kinds = [kind for kind, _ in KINDS]
    weights = [weight for _, weight in KINDS]
    for _ in range(events):
        vclock.advance(timedelta(minutes=rng.choice([0, 0, 5, 90, 60 * 20, 60 * 24 * 6])))
        worker = rng.choice(workers)
        if rng.random() < 0.05:
            standing = RatingEvent.objects.filter(
                worker=worker, kind=scoring.EventKind.NO_SHOW, reversed_at__isnull=True
            ).first()
            if standing is not None:
                RatingEvent.objects.filter(pk=standing.pk).update(reversed_at=vclock.current)
                worker_ratings_recompute(worker=worker)
        kind = rng.choices(kinds, weights)[0]
        extra: dict[str, Any] = {}
        if kind is scoring.EventKind.SCORE:
            extra = {"score": rng.randint(1, 5), "source": rng.choice(["foreman", "client"])}
        if rng.random() < 0.1:
            extra["at"] = vclock.current - timedelta(hours=rng.randint(1, 72))
        rating_event_record(worker=worker, kind=kind, order_ref=rng.randint(1, 40), **extra)


def _replayed(worker: Worker) -> scoring.WorkerState:
    rows = RatingEvent.objects.filter(worker=worker, reversed_at__isnull=True).order_by("id")
    return scoring.replay(
        [scoring.Event(row.kind, row.at, row.score, row.source or None) for row in rows],
        rating_params(),
    )


def _command(*args: str) -> str:
    out = io.StringIO()
    call_command("recompute_ratings", *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("seed", [7, 2030])
def test_recompute_reproduces_the_incremental_figures_exactly(
    seed: int, vclock: clock.VirtualClock,
) -> None:
    rng = random.Random(seed)
    workers = [make_worker() for _ in range(12)]
    idle = make_worker()  # no events: the command leaves them alone
    _random_histories(rng, workers, vclock, events=240)
    assert RatingEvent.objects.filter(kind="no_show").exists()

    for worker in workers:
        state = _replayed(worker)
        assert figures(worker) == (
            state.rating, state.reliability, state.no_shows, state.shifts_completed
        ), f"worker {worker.pk} drifted from a replay of its events"

    output = _command("--check")
    assert "12 workers checked; 0 differed" in output

    # The stored rating is that of the last event; bring everyone's up to now, then restate
    # all of them from their events at the same moment: nothing changes.
    vclock.advance(timedelta(days=2))
    refresh_fading_ratings()
    before = {worker.pk: figures(worker) for worker in [*workers, idle]}
    output = _command()
    assert "12 workers recomputed; 0 differed" in output
    assert {worker.pk: figures(worker) for worker in [*workers, idle]} == before


def test_recompute_check_reports_and_fails_on_a_worker_that_drifted(
    vclock: clock.VirtualClock,
) -> None:
    worker, steady = make_worker(), make_worker()
    for someone in (worker, steady):
        rating_event_record(worker=someone, kind=scoring.EventKind.SHOW, order_ref=1)
    Worker.objects.filter(pk=worker.pk).update(reliability=0.5, no_shows=3)

    with pytest.raises(SystemExit) as failed:
        _command("--check")
    assert failed.value.code == 1
    assert figures(worker)[1:3] == (0.5, 3)  # --check changes nothing

    output = _command()
    assert f"worker {worker.pk}:" in output
    assert f"worker {steady.pk}:" not in output
    assert "2 workers recomputed; 1 differed" in output
    assert figures(worker) == figures(steady)


# --- Fading -----------------------------------------------------------------------------------


def test_refresh_raises_a_penalised_rating_as_the_penalty_fades(
    vclock: clock.VirtualClock,
) -> None:
    penalised, clean = make_worker(), make_worker()
    rating_event_record(worker=penalised, kind=scoring.EventKind.NO_SHOW, order_ref=1)
    rating_event_record(worker=clean, kind=scoring.EventKind.SHOW, order_ref=1)
    right_after = figures(penalised)
    assert right_after[0] < figures(clean)[0]

    vclock.advance(timedelta(days=10))
    refresh_fading_ratings()
    ten_days = figures(penalised)
    assert right_after[0] < ten_days[0] < figures(clean)[0]

    vclock.advance(timedelta(days=20))
    refresh_fading_ratings()
    month = figures(penalised)
    assert month[0] == pytest.approx(rating_params().prior_quality)
    assert month[1:] == right_after[1:]  # reliability and counts do not fade with time

    # The refreshed figure is the truth as of now: a full check agrees with it.
    assert "0 differed" in _command("--check")


def test_refresh_reaches_every_penalised_worker_however_many(
    vclock: clock.VirtualClock,
) -> None:
    workers = [make_worker() for _ in range(5)]
    for worker in workers:
        rating_event_record(worker=worker, kind=scoring.EventKind.LATE_CANCEL, order_ref=1)
    stale = {worker.pk: figures(worker)[0] for worker in workers}

    vclock.advance(timedelta(days=15))
    refresh_fading_ratings(limit=2)
    assert all(figures(worker)[0] > stale[worker.pk] for worker in workers)
