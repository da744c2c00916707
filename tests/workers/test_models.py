"""The worker pool's invariants hold in the database, whatever wrote the row."""

from typing import Any

import pytest
from django.db import IntegrityError, transaction

from core import clock
from workers.models import Worker


def _refused(write: Any) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        write()


def _worker(**fields: Any) -> Worker:
    values = {"name": "Ivan", "phone": "+79000000001", "skills": ["loading"], **fields}
    return Worker.objects.create(**values)


@pytest.mark.django_db
class TestWorkerConstraints:
    def test_one_worker_per_phone(self) -> None:
        _worker()
        _refused(lambda: _worker(name="Twin"))

    @pytest.mark.parametrize("rating", [-0.1, 5.01])
    def test_rating_stays_within_0_5(self, rating: float) -> None:
        _refused(lambda: _worker(rating=rating))

    @pytest.mark.parametrize("reliability", [-0.01, 1.01])
    def test_reliability_stays_within_0_1(self, reliability: float) -> None:
        _refused(lambda: _worker(reliability=reliability))

    def test_an_active_worker_has_been_vetted(self) -> None:
        _refused(lambda: _worker(status=Worker.Status.ACTIVE, vetted_at=None))
        assert _worker(status=Worker.Status.ACTIVE, vetted_at=clock.now()).pk

    def test_a_vetted_worker_cannot_be_unvetted_while_active(self) -> None:
        worker = _worker(status=Worker.Status.ACTIVE, vetted_at=clock.now())
        _refused(lambda: Worker.objects.filter(pk=worker.pk).update(vetted_at=None))

    def test_unknown_status_is_refused(self) -> None:
        _refused(lambda: _worker(status="retired"))

    @pytest.mark.parametrize(("lat", "lng"), [(59.9, None), (None, 30.3), (91, 30), (59, 181)])
    def test_home_point_complete_and_in_range(self, lat: Any, lng: Any) -> None:
        _refused(lambda: _worker(lat=lat, lng=lng))

    def test_skills_round_trip_as_a_sorted_set(self) -> None:
        worker = _worker(skills=["moving", "loading", "moving"])
        worker.refresh_from_db()
        assert worker.skills == ["loading", "moving"]
        assert list(Worker.objects.filter(skills__has="moving")) == [worker]
        assert not Worker.objects.filter(skills__has="mov").exists()
