"""`/api/v1/workers/`: the shared pool, its filters, and vetting by interview."""

from typing import Any

import pytest
from geopy.distance import great_circle
from rest_framework.test import APIClient

from core import clock
from workers.models import Interview, Worker

URL = "/api/v1/workers/"
CENTRE = (59.9386, 30.3141)


def _worker(phone: str, **fields: Any) -> Worker:
    status = fields.setdefault("status", Worker.Status.ACTIVE)
    if status != Worker.Status.APPLICANT:
        fields.setdefault("vetted_at", clock.now())
    fields.setdefault("name", f"Worker {phone[-4:]}")
    fields.setdefault("skills", ["loading"])
    return Worker.objects.create(phone=phone, **fields)


def _ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


@pytest.mark.django_db
class TestCreate:
    def test_phone_is_normalised_to_e164(self, spb_api: APIClient) -> None:
        response = spb_api.post(
            URL,
            {"name": "Ivan Petrov", "phone": "8 (912) 345-67-89", "skills": ["loading"]},
            format="json",
        )
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["phone"] == "+79123456789"
        assert body["status"] == "applicant"
        assert body["vetted_at"] is None
        assert body["language"] == "ru"
        assert body["opted_out"] is False
        assert str(Worker.objects.get(pk=body["id"]).phone) == "+79123456789"

    @pytest.mark.parametrize("phone", ["12345", "+7 999", "phone", "8 (912) 345-67-89-00-11"])
    def test_invalid_phone_is_a_clear_field_error(self, spb_api: APIClient, phone: str) -> None:
        response = spb_api.post(URL, {"name": "X", "phone": phone}, format="json")
        assert response.status_code == 400
        errors = response.json()
        assert list(errors) == ["phone"]
        assert "phone number" in errors["phone"][0].lower()
        assert not Worker.objects.exists()

    def test_duplicate_phone_in_another_format_is_a_400(self, spb_api: APIClient) -> None:
        _worker("+79123456789")
        response = spb_api.post(URL, {"name": "Twin", "phone": "89123456789"}, format="json")
        assert response.status_code == 400
        assert "phone" in response.json()
        assert Worker.objects.count() == 1

    def test_patching_onto_a_taken_phone_is_a_400(self, spb_api: APIClient, spb: Any) -> None:
        _worker("+79123456789")
        other = _worker("+79123456780", recruited_by=spb)
        response = spb_api.patch(f"{URL}{other.id}/", {"phone": "+79123456789"}, format="json")
        assert response.status_code == 400
        assert "phone" in response.json()

    def test_skills_are_checked_and_deduplicated(self, spb_api: APIClient) -> None:
        bad = spb_api.post(
            URL, {"name": "X", "phone": "+79123456789", "skills": ["juggling"]}, format="json"
        )
        assert bad.status_code == 400
        assert "skills" in bad.json()
        good = spb_api.post(
            URL,
            {"name": "X", "phone": "+79123456789", "skills": ["moving", "loading", "moving"]},
            format="json",
        )
        assert good.status_code == 201
        assert good.json()["skills"] == ["loading", "moving"]

    def test_only_one_coordinate_is_a_400(self, spb_api: APIClient) -> None:
        response = spb_api.post(
            URL, {"name": "X", "phone": "+79123456789", "lat": 59.9}, format="json"
        )
        assert response.status_code == 400
        assert "lng" in response.json()

    def test_franchise_user_cannot_create_an_active_worker(self, spb_api: APIClient) -> None:
        response = spb_api.post(
            URL, {"name": "X", "phone": "+79123456789", "status": "active"}, format="json"
        )
        assert response.status_code == 400
        assert "status" in response.json()
        assert not Worker.objects.exists()

    def test_hq_imports_an_active_worker_with_a_recorded_vetting(
        self, hq_api: APIClient, hq_user: Any
    ) -> None:
        response = hq_api.post(
            URL,
            {"name": "Veteran", "phone": "+79123456789", "status": "active",
             "skills": ["roofing"]},
            format="json",
        )
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["status"] == "active"
        assert body["vetted_at"] is not None
        interview = Interview.objects.get(worker_id=body["id"])
        assert interview.imported is True
        assert interview.outcome == Interview.Outcome.PASSED
        assert interview.recruiter == hq_user

    @pytest.mark.parametrize("status", ["suspended", "blocked", "retired"])
    def test_a_new_worker_cannot_start_suspended_or_blocked(
        self, hq_api: APIClient, status: str
    ) -> None:
        response = hq_api.post(
            URL, {"name": "X", "phone": "+79123456789", "status": status}, format="json"
        )
        assert response.status_code == 400
        assert "status" in response.json()

    def test_foreman_cannot_create_workers(self, foreman_api: APIClient) -> None:
        response = foreman_api.post(URL, {"name": "X", "phone": "+79123456789"}, format="json")
        assert response.status_code == 403


@pytest.mark.django_db
class TestReadOnlyFigures:
    def test_rating_and_reliability_are_ignored_on_create(self, hq_api: APIClient) -> None:
        response = hq_api.post(
            URL,
            {"name": "X", "phone": "+79123456789", "rating": 5, "reliability": 1,
             "shifts_completed": 99, "no_shows": 0, "vetted_at": "2020-01-01T00:00:00Z"},
            format="json",
        )
        assert response.status_code == 201
        worker = Worker.objects.get()
        assert (worker.rating, worker.reliability) == (4.0, 0.8)
        assert worker.shifts_completed == 0
        assert worker.vetted_at is None

    def test_rating_and_reliability_are_ignored_on_update(self, hq_api: APIClient) -> None:
        worker = _worker("+79123456789", rating=2.5, reliability=0.4, no_shows=3)
        response = hq_api.patch(
            f"{URL}{worker.id}/",
            {"rating": 5, "reliability": 1, "no_shows": 0, "name": "Renamed"},
            format="json",
        )
        assert response.status_code == 200
        worker.refresh_from_db()
        assert (worker.rating, worker.reliability, worker.no_shows) == (2.5, 0.4, 3)
        assert worker.name == "Renamed"

    def test_status_does_not_change_by_editing(self, hq_api: APIClient) -> None:
        worker = _worker("+79123456789", status=Worker.Status.SUSPENDED)
        response = hq_api.patch(f"{URL}{worker.id}/", {"status": "active"}, format="json")
        assert response.status_code == 400
        worker.refresh_from_db()
        assert worker.status == Worker.Status.SUSPENDED

    def test_a_full_update_without_status_keeps_an_active_worker_active(
        self, hq_api: APIClient
    ) -> None:
        worker = _worker("+79123456789")
        response = hq_api.put(
            f"{URL}{worker.id}/",
            {"name": "Ivan Sidorov", "phone": "+79123456789", "skills": ["moving"]},
            format="json",
        )
        assert response.status_code == 200, response.content
        worker.refresh_from_db()
        assert worker.status == Worker.Status.ACTIVE
        assert worker.skills == ["moving"]


@pytest.mark.django_db
class TestFilters:
    def test_status(self, spb_api: APIClient) -> None:
        active = _worker("+79000000001")
        _worker("+79000000002", status=Worker.Status.APPLICANT)
        assert _ids(spb_api.get(URL, {"status": "active"})) == [active.id]
        bad = spb_api.get(URL, {"status": "sleeping"})
        assert bad.status_code == 400
        assert "status" in bad.json()

    def test_skill(self, spb_api: APIClient) -> None:
        general = _worker("+79000000001", skills=["general"])
        loader = _worker("+79000000002", skills=["loading", "driver"])
        roofer = _worker("+79000000003", skills=["roofing"])
        assert _ids(spb_api.get(URL, {"skill": "general"})) == [general.id]
        assert _ids(spb_api.get(URL, {"skill": "loading"})) == [loader.id]
        assert _ids(spb_api.get(URL, {"skill": "driver"})) == [loader.id]
        assert _ids(spb_api.get(URL, {"skill": "roofing"})) == [roofer.id]

    @pytest.mark.parametrize("skill", ["juggling", "general,loading", "%", "load"])
    def test_unknown_skill_is_a_400(self, spb_api: APIClient, skill: str) -> None:
        _worker("+79000000001", skills=["general", "loading"])
        response = spb_api.get(URL, {"skill": skill})
        assert response.status_code == 400
        assert "skill" in response.json()

    def test_min_rating_is_inclusive(self, spb_api: APIClient) -> None:
        exact = _worker("+79000000001", rating=4.0)
        above = _worker("+79000000002", rating=4.7)
        _worker("+79000000003", rating=3.99)
        assert _ids(spb_api.get(URL, {"min_rating": "4"})) == [exact.id, above.id]
        assert _ids(spb_api.get(URL, {"min_rating": "4.5"})) == [above.id]
        assert spb_api.get(URL, {"min_rating": "high"}).status_code == 400

    def test_near_with_default_radius_sorted_nearest_first(self, spb_api: APIClient) -> None:
        far = _worker("+79000000001", lat=59.99, lng=30.31)  # about 5.7 km north
        near = _worker("+79000000002", lat=59.94, lng=30.32)
        middle = _worker("+79000000003", lat=59.96, lng=30.36)
        _worker("+79000000004", lat=60.05, lng=30.31)  # about 12.4 km: outside 10 km
        _worker("+79000000005")  # no home point
        response = spb_api.get(URL, {"near": f"{CENTRE[0]},{CENTRE[1]}"})
        rows = response.json()["results"]
        assert [row["id"] for row in rows] == [near.id, middle.id, far.id]
        for row in rows:
            expected = great_circle(CENTRE, (row["lat"], row["lng"])).km
            assert row["distance_km"] == pytest.approx(expected, abs=0.001)
        assert all(row["distance_km"] <= 10 for row in rows)

    def test_near_with_radius(self, spb_api: APIClient) -> None:
        near = _worker("+79000000002", lat=59.94, lng=30.32)
        outer = _worker("+79000000004", lat=60.05, lng=30.31)
        near_only = spb_api.get(URL, {"near": "59.9386,30.3141", "radius_km": "1"})
        assert _ids(near_only) == [near.id]
        wide = spb_api.get(URL, {"near": "59.9386, 30.3141", "radius_km": "15"})
        assert _ids(wide) == [near.id, outer.id]

    def test_near_radius_is_inclusive_at_the_edge(self, spb_api: APIClient) -> None:
        worker = _worker("+79000000001", lat=59.99, lng=30.31)
        distance = great_circle(CENTRE, (59.99, 30.31)).km
        response = spb_api.get(
            URL, {"near": "59.9386,30.3141", "radius_km": f"{distance + 0.001:.3f}"}
        )
        assert _ids(response) == [worker.id]

    def test_near_combines_with_other_filters(self, spb_api: APIClient) -> None:
        good = _worker("+79000000001", lat=59.94, lng=30.32, rating=4.5, skills=["general"])
        _worker("+79000000002", lat=59.94, lng=30.32, rating=3.0, skills=["general"])
        _worker("+79000000003", lat=59.94, lng=30.32, rating=4.5, skills=["roofing"])
        response = spb_api.get(
            URL, {"near": "59.9386,30.3141", "skill": "general", "min_rating": "4"}
        )
        assert _ids(response) == [good.id]

    @pytest.mark.parametrize(
        "near", ["abc", "59.93", "59.93,30.31,1", "91,30", "59,181", "nan,30", "inf,30", ",",
                 "59.93;30.31"],
    )
    def test_bad_near_is_a_400(self, spb_api: APIClient, near: str) -> None:
        response = spb_api.get(URL, {"near": near})
        assert response.status_code == 400
        assert "near" in response.json()

    @pytest.mark.parametrize("radius", ["0", "-5", "100000", "wide"])
    def test_bad_radius_is_a_400(self, spb_api: APIClient, radius: str) -> None:
        response = spb_api.get(URL, {"near": "59.93,30.31", "radius_km": radius})
        assert response.status_code == 400
        assert "radius_km" in response.json()


@pytest.mark.django_db
class TestInterview:
    def test_passed_makes_an_applicant_active(self, spb_api: APIClient, spb_user: Any) -> None:
        worker = _worker("+79000000001", status=Worker.Status.APPLICANT)
        response = spb_api.post(
            f"{URL}{worker.id}/interview/", {"outcome": "passed", "notes": "Strong, sober"},
            format="json",
        )
        assert response.status_code == 200, response.content
        assert response.json()["status"] == "active"
        worker.refresh_from_db()
        assert worker.status == Worker.Status.ACTIVE
        assert worker.vetted_at is not None
        interview = worker.interviews.get()
        assert interview.recruiter == spb_user
        assert interview.notes == "Strong, sober"
        assert interview.imported is False

    def test_failed_leaves_an_applicant(self, spb_api: APIClient) -> None:
        worker = _worker("+79000000001", status=Worker.Status.APPLICANT)
        response = spb_api.post(f"{URL}{worker.id}/interview/", {"outcome": "failed"})
        assert response.status_code == 200
        assert response.json()["status"] == "applicant"
        worker.refresh_from_db()
        assert worker.status == Worker.Status.APPLICANT
        assert worker.vetted_at is None
        assert worker.interviews.get().outcome == Interview.Outcome.FAILED

    @pytest.mark.parametrize("body", [{"outcome": "maybe"}, {}, {"outcome": None},
                                      {"outcome": ["passed"]}])
    def test_bad_outcome_is_a_400(self, spb_api: APIClient, body: dict[str, Any]) -> None:
        worker = _worker("+79000000001", status=Worker.Status.APPLICANT)
        response = spb_api.post(f"{URL}{worker.id}/interview/", body, format="json")
        assert response.status_code == 400
        assert "outcome" in response.json()
        assert not worker.interviews.exists()

    def test_a_blocked_worker_cannot_be_revetted(self, spb_api: APIClient, spb: Any) -> None:
        worker = _worker("+79000000001", status=Worker.Status.BLOCKED, recruited_by=spb)
        response = spb_api.post(f"{URL}{worker.id}/interview/", {"outcome": "passed"})
        assert response.status_code == 400
        worker.refresh_from_db()
        assert worker.status == Worker.Status.BLOCKED

    def test_interview_of_a_missing_worker_is_a_404(self, spb_api: APIClient, db: Any) -> None:
        response = spb_api.post(f"{URL}987654/interview/", {"outcome": "passed"})
        assert response.status_code == 404


@pytest.mark.django_db
class TestSharedPool:
    def test_every_franchise_lists_and_reads_every_worker(
        self, spb_api: APIClient, nsk_api: APIClient, hq_api: APIClient
    ) -> None:
        created = spb_api.post(URL, {"name": "X", "phone": "+79123456789"}, format="json")
        worker_id = created.json()["id"]
        other = _worker("+79000000001")
        for api in (spb_api, nsk_api, hq_api):
            assert _ids(api.get(URL)) == [worker_id, other.id]
            assert api.get(f"{URL}{worker_id}/").status_code == 200

    def test_foreman_reads_the_pool(self, foreman_api: APIClient) -> None:
        worker = _worker("+79000000001")
        assert _ids(foreman_api.get(URL)) == [worker.id]

    def test_list_is_paginated(self, spb_api: APIClient) -> None:
        for index in range(3):
            _worker(f"+7900000000{index}")
        body = spb_api.get(URL, {"page_size": 2}).json()
        assert body["count"] == 3
        assert len(body["results"]) == 2
        assert body["next"] is not None
        assert body["previous"] is None
