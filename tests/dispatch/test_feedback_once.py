"""Quality scores count once per order, worker and source: a retried request or a double tap
changes nothing, a changed score replaces the earlier one, and a foreman gives foreman scores
only."""

from datetime import timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from dispatch.models import Order
from ratings.models import RatingEvent
from ratings.services import rating_event_record
from tests.dispatch.conftest import START, Desk, run_together
from tests.dispatch.test_onsite import (
    attendance,
    booked,
    client_says,
    complete,
    events,
    feedback,
    figures,
    present,
    worked,
)
from workers.models import Worker


def scores(worker: Worker, order: Order) -> list[tuple[int | None, str]]:
    """The worker's standing scores on `order`."""
    return list(
        RatingEvent.objects.filter(worker=worker, order_ref=order.pk, kind="score",
                                   reversed_at__isnull=True)
        .order_by("id").values_list("score", "source")
    )


class TestOneScorePerSource:
    def test_the_same_score_twice_counts_once(self, desk: Desk, spb_api: APIClient) -> None:
        order, crew = worked(desk, spb_api)
        entry = [{"worker": crew[0].pk, "score": 1, "source": "foreman"}]
        first = feedback(spb_api, order, entry)
        after_first = figures(crew[0])

        again = feedback(spb_api, order, entry)

        assert (first.json(), again.status_code, again.json()) == (
            {"recorded": 1}, 200, {"recorded": 0}
        )
        assert figures(crew[0]) == after_first
        assert scores(crew[0], order) == [(1, "foreman")]

    def test_a_changed_score_replaces_the_earlier_one(
        self, desk: Desk, spb_api: APIClient
    ) -> None:
        order, crew = worked(desk, spb_api)
        feedback(spb_api, order, [{"worker": crew[0].pk, "score": 1, "source": "foreman"}])
        desk.at(START + timedelta(hours=2))

        changed = feedback(spb_api, order,
                           [{"worker": crew[0].pk, "score": 4, "source": "foreman"}])

        assert changed.json() == {"recorded": 1}
        assert scores(crew[0], order) == [(4, "foreman")]
        reversed_rows = RatingEvent.objects.filter(worker=crew[0], reversed_at__isnull=False)
        assert list(reversed_rows.values_list("score", flat=True)) == [1]
        # As if the 1 was never given: the figures of a twin who came and was scored 4.
        twin = desk.worker()
        rating_event_record(worker=twin, kind="show", order_ref=0)
        rating_event_record(worker=twin, kind="score", score=4, source="foreman", order_ref=0)
        assert figures(crew[0]) == figures(twin)

    def test_foreman_and_client_scores_of_one_worker_both_count(
        self, desk: Desk, spb_api: APIClient
    ) -> None:
        order, crew = worked(desk, spb_api)
        feedback(spb_api, order, [{"worker": crew[0].pk, "score": 5, "source": "foreman"}])
        feedback(spb_api, order, [{"worker": crew[0].pk, "score": 3, "source": "client"}])
        feedback(spb_api, order, [{"worker": crew[0].pk, "score": 5, "source": "foreman"}])
        assert sorted(scores(crew[0], order)) == [(3, "client"), (5, "foreman")]

    def test_a_client_sms_after_an_office_client_score_replaces_it(
        self, desk: Desk, spb_api: APIClient
    ) -> None:
        order, crew = worked(desk, spb_api)
        feedback(spb_api, order, [{"worker": crew[0].pk, "score": 2, "source": "client"}])
        desk.at(START + timedelta(hours=7))
        assert complete(spb_api, order).status_code == 200

        client_says(desk, "5")

        assert scores(crew[0], order) == [(5, "client")]
        assert scores(crew[1], order) == [(5, "client")]


class TestWhoGivesWhichScore:
    def test_a_foreman_cannot_give_a_client_score(
        self, desk: Desk, spb_foreman: Any, foreman_api: APIClient
    ) -> None:
        order, crew, _ = booked(desk, foreman=spb_foreman)
        desk.at(START + timedelta(minutes=5))

        assert attendance(foreman_api, order, [present(crew[0])]).status_code == 200

        response = feedback(foreman_api, order, [
            {"worker": crew[0].pk, "score": 5, "source": "foreman"},
            {"worker": crew[1].pk, "score": 4, "source": "client"},
        ])

        assert response.status_code == 400
        assert "source" in response.json()
        assert not RatingEvent.objects.filter(kind="score").exists()
        ok = feedback(foreman_api, order, [{"worker": crew[0].pk, "score": 5,
                                            "source": "foreman"}])
        assert ok.status_code == 200
        assert events(crew[0])[-1] == ("score", 5, "foreman")

    def test_the_office_and_hq_may_pass_on_a_client_score(
        self, desk: Desk, spb_api: APIClient, hq_api: APIClient
    ) -> None:
        order, crew = worked(desk, spb_api)
        for api, worker in ((spb_api, crew[0]), (hq_api, crew[1])):
            response = feedback(api, order, [{"worker": worker.pk, "score": 4,
                                              "source": "client"}])
            assert response.status_code == 200, response.content
            assert scores(worker, order) == [(4, "client")]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_double_tap_at_the_same_moment_counts_once(
    desk: Desk, spb_user: Any
) -> None:
    """Two identical requests at once: the order's lock makes them take turns, so the second
    sees the first's score and records nothing."""
    order, crew = worked(desk, _api(spb_user))
    entry = [{"worker": crew[0].pk, "score": 1, "source": "foreman"}]

    results = run_together(4, lambda _: feedback(_api(spb_user), order, entry).json())

    assert sorted(result["recorded"] for result in results) == [0, 0, 0, 1]
    assert scores(crew[0], order) == [(1, "foreman")]


def _api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client
