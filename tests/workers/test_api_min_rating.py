"""`min_rating` is inclusive of the rating the API shows (two decimals), not of the stored float."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from core import clock
from workers.models import Worker

URL = "/api/v1/workers/"

# Stored ratings around the cent boundaries a client can see.
STORED = [0.0, 3.99, 3.9949999, 3.995, 4.0, 4.004, 4.005, 4.1649999, 4.165, 4.1666, 4.17,
          4.175, 4.99, 4.9949999, 4.995, 5.0]


def _worker(number: int, rating: float) -> Worker:
    return Worker.objects.create(
        phone=f"+7900000{number:04d}", name=f"Worker {number}", skills=["loading"],
        status=Worker.Status.ACTIVE, vetted_at=clock.now(), rating=rating,
    )


def _shown(api: APIClient, **params: Any) -> dict[int, float]:
    response = api.get(URL, {"page_size": 100, **params})
    assert response.status_code == 200, response.content
    return {row["id"]: row["rating"] for row in response.json()["results"]}


@pytest.mark.django_db
class TestMinRatingMatchesTheShownRating:
    def test_a_worker_shown_as_4_17_passes_min_rating_4_17(self, spb_api: APIClient) -> None:
        worker = _worker(1, 4.1666)
        assert _shown(spb_api)[worker.id] == 4.17
        assert list(_shown(spb_api, min_rating="4.17")) == [worker.id]
        assert list(_shown(spb_api, min_rating="4.166")) == [worker.id]
        assert _shown(spb_api, min_rating="4.18") == {}

    def test_a_half_cent_shows_rounded_up_and_passes(self, spb_api: APIClient) -> None:
        half = _worker(1, 4.165)
        below = _worker(2, 4.1649999)
        shown = _shown(spb_api)
        assert shown == {half.id: 4.17, below.id: 4.16}
        assert list(_shown(spb_api, min_rating="4.17")) == [half.id]
        assert set(_shown(spb_api, min_rating="4.16")) == {half.id, below.id}

    def test_exact_values_on_the_boundary_are_included(self, spb_api: APIClient) -> None:
        exact = _worker(1, 4.17)
        four = _worker(2, 4.0)
        top = _worker(3, 5.0)
        assert set(_shown(spb_api, min_rating="4.17")) == {exact.id, top.id}
        assert set(_shown(spb_api, min_rating="4")) == {exact.id, four.id, top.id}
        assert set(_shown(spb_api, min_rating="4.00")) == {exact.id, four.id, top.id}
        assert list(_shown(spb_api, min_rating="5")) == [top.id]
        assert set(_shown(spb_api, min_rating="0")) == {exact.id, four.id, top.id}

    @pytest.mark.parametrize(
        "min_rating",
        ["-1", "0", "3.99", "3.995", "4", "4.004", "4.005", "4.01", "4.16", "4.165", "4.17",
         "4.171", "4.18", "4.99", "4.995", "5", "5.001", "6", "-0.5"],
    )
    def test_the_filter_keeps_exactly_the_rows_shown_at_or_above_it(
        self, spb_api: APIClient, min_rating: str
    ) -> None:
        for number, rating in enumerate(STORED):
            _worker(number, rating)
        everyone = _shown(spb_api)
        expected = {pk for pk, shown in everyone.items() if shown >= float(min_rating)}
        assert set(_shown(spb_api, min_rating=min_rating)) == expected

    @pytest.mark.parametrize("min_rating", ["NaN", "inf", "high", "4,17"])
    def test_a_value_that_is_not_a_number_is_a_400(
        self, spb_api: APIClient, min_rating: str
    ) -> None:
        response = spb_api.get(URL, {"min_rating": min_rating})
        assert response.status_code == 400
        assert "min_rating" in response.json()
