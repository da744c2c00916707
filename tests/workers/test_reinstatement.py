"""A suspended worker is reinstated by a passed review interview, history kept."""

from typing import Any

import pytest

from ratings.scoring import EventKind
from ratings.services import rating_event_record
from workers.models import Worker

pytestmark = pytest.mark.django_db


def test_a_passed_review_reinstates_a_suspended_worker_keeping_history(hq_api: Any) -> None:
    worker = Worker.objects.create(
        name="Pavel Orlov", phone="+79110002000", status="active", skills=["loading"],
        vetted_at="2026-01-01T00:00:00Z",
    )
    rating_event_record(worker=worker, kind=EventKind.NO_SHOW)
    rating_event_record(worker=worker, kind=EventKind.NO_SHOW)
    worker.refresh_from_db()
    assert worker.status == Worker.Status.SUSPENDED
    rating, no_shows = worker.rating, worker.no_shows

    response = hq_api.post(f"/api/v1/workers/{worker.pk}/interview/",
                           {"outcome": "passed", "notes": "Family emergency, checked."},
                           format="json")
    assert response.status_code == 200
    worker.refresh_from_db()
    assert worker.status == Worker.Status.ACTIVE
    assert (worker.rating, worker.no_shows) == (rating, no_shows)


def test_a_failed_review_leaves_the_worker_suspended(hq_api: Any) -> None:
    worker = Worker.objects.create(
        name="Oleg Popov", phone="+79110002001", status="suspended", skills=["loading"],
        vetted_at="2026-01-01T00:00:00Z",
    )
    hq_api.post(f"/api/v1/workers/{worker.pk}/interview/", {"outcome": "failed"}, format="json")
    worker.refresh_from_db()
    assert worker.status == Worker.Status.SUSPENDED
