"""The demo workers' records are rating events, and their figures a replay of them.

Without the events the first real one started from the priors and threw the seeded record away
(a no-show took a 4.00 worker to 2.50, a late withdrawal could raise a rating).
"""

from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Sum

from core import clock
from demo.history import history_start
from ratings import scoring
from ratings.models import RatingEvent
from ratings.services import rating_event_record, rating_params, worker_ratings_recompute
from workers.models import Worker

NOW = datetime(2030, 3, 10, 6, 0, tzinfo=UTC)
FIGURES = ("rating_state", "rating", "reliability", "shifts_completed", "no_shows")


def _figures(worker: Worker) -> dict[str, Any]:
    worker.refresh_from_db(fields=FIGURES)
    return {name: getattr(worker, name) for name in FIGURES}


@pytest.fixture(scope="module")
def seeded(django_db_setup: Any, django_db_blocker: Any) -> Any:
    """Seeded twice for the module, in a transaction rolled back at the end (as in
    test_seed_demo); returns the rating-event counts after each run."""
    with django_db_blocker.unblock(), clock.use_clock(lambda: NOW):
        module_transaction = transaction.atomic()
        module_transaction.__enter__()
        try:
            call_command("seed_demo", "--no-history", "--quiet", stdout=StringIO())
            first = RatingEvent.objects.count()
            call_command("seed_demo", "--no-history", "--quiet", stdout=StringIO())
            yield {"first": first, "second": RatingEvent.objects.count()}
        finally:
            transaction.set_rollback(True)
            module_transaction.__exit__(None, None, None)


def _sample() -> list[Worker]:
    """Every 60th worker: all cities, statuses and lengths of record."""
    return list(Worker.objects.order_by("id"))[::60]


def _recorded(worker_with: dict[str, Any]) -> Worker:
    """A worker with a long record and a few no-shows in it."""
    return (
        Worker.objects.filter(status=Worker.Status.ACTIVE, shifts_completed__gte=15,
                              no_shows__gte=2, **worker_with)
        .order_by("id")
        .first()
    )


@pytest.mark.django_db
class TestSeededRecords:
    def test_a_second_run_adds_no_events(self, seeded: Any) -> None:
        assert seeded["first"] > 10_000
        assert seeded["second"] == seeded["first"]

    def test_the_figures_count_the_events(self, seeded: Any) -> None:
        events = RatingEvent.objects.filter(reversed_at__isnull=True)
        totals = Worker.objects.aggregate(shifts=Sum("shifts_completed"), no_shows=Sum("no_shows"))
        attended = events.filter(kind__in=[scoring.EventKind.SHOW, scoring.EventKind.LATE]).count()
        assert totals["shifts"] == attended
        assert totals["no_shows"] == events.filter(kind=scoring.EventKind.NO_SHOW).count()
        assert not Worker.objects.filter(rating_state__isnull=True).exists()
        assert not Worker.objects.filter(status=Worker.Status.APPLICANT,
                                         rating_events__isnull=False).exists()
        scores = events.filter(kind=scoring.EventKind.SCORE)
        assert not scores.exclude(source=scoring.ScoreSource.FOREMAN).exists()
        assert not scores.filter(score__isnull=True).exists()

    def test_the_events_are_older_than_the_history_and_after_vetting(self, seeded: Any) -> None:
        assert not RatingEvent.objects.filter(at__gte=history_start(NOW)).exists()
        for worker in _sample():
            first = worker.rating_events.order_by("id").first()
            if first is not None:
                assert worker.vetted_at is not None
                assert first.at > worker.vetted_at

    def test_the_events_are_in_time_order_by_id(self, seeded: Any) -> None:
        for worker in _sample():
            moments = list(worker.rating_events.order_by("id").values_list("at", flat=True))
            assert moments == sorted(moments)

    def test_a_recompute_changes_nothing(self, seeded: Any) -> None:
        sample = _sample()
        assert any(worker.no_shows for worker in sample)
        assert any(not worker.shifts_completed and not worker.no_shows for worker in sample)
        for worker in sample:
            before = _figures(worker)
            with clock.use_clock(lambda: NOW + timedelta(hours=1)):
                worker_ratings_recompute(worker=worker)
            assert _figures(worker) == before, worker.pk

    def test_the_records_vary(self, seeded: Any) -> None:
        ratings = list(Worker.objects.filter(shifts_completed__gte=10)
                       .values_list("rating", "reliability"))
        assert len(ratings) > 1000
        assert min(rating for rating, _ in ratings) < 3.8
        assert max(rating for rating, _ in ratings) > 4.4
        assert min(reliability for _, reliability in ratings) < 0.6
        assert max(reliability for _, reliability in ratings) > 0.9

    @pytest.mark.parametrize("reliability", [{"reliability__lt": 0.7}, {"reliability__gt": 0.85}])
    def test_a_no_show_lowers_the_record_rather_than_resetting_it(
        self, seeded: Any, reliability: dict[str, Any]
    ) -> None:
        worker = _recorded(reliability)
        before = _figures(worker)
        with clock.use_clock(lambda: NOW + timedelta(hours=1)):
            rating_event_record(worker=worker, kind=scoring.EventKind.NO_SHOW)
        after = _figures(worker)
        assert after["reliability"] < before["reliability"]
        assert after["no_shows"] == before["no_shows"] + 1
        assert after["shifts_completed"] == before["shifts_completed"]
        # The seeded record's old penalties have faded: the no-show takes its stars off the
        # worker's own rating, not off the prior's 4.00.
        stars = rating_params().no_show_stars
        assert after["rating"] == pytest.approx(max(0.0, before["rating"] - stars))
        prior = scoring.initial_state(rating_params())
        assert after["rating"] != pytest.approx(prior.rating - stars)

    def test_a_late_withdrawal_lowers_rating_and_reliability(self, seeded: Any) -> None:
        worker = _recorded({"reliability__gt": 0.85})
        before = _figures(worker)
        with clock.use_clock(lambda: NOW + timedelta(hours=1)):
            rating_event_record(worker=worker, kind=scoring.EventKind.LATE_CANCEL)
        after = _figures(worker)
        assert after["rating"] < before["rating"]
        assert after["reliability"] < before["reliability"]
