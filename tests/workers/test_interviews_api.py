"""Interviews through the API: `GET workers/{id}/interviews/` lists a worker's interviews, newest
first, to every role that reads the pool; who held one is shown only to HQ and to that office.
Recording stays `POST workers/{id}/interview/`, under the rules of who may change a worker."""

from datetime import timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from core import clock
from franchises.services import user_create
from workers.models import Interview, Worker
from workers.services import worker_interview

pytestmark = pytest.mark.django_db

URL = "/api/v1/workers/"


@pytest.fixture
def spb_recruiter(spb: Any) -> Any:
    return user_create(username="spb-recruiter", password="pw-12345", role="recruiter",
                       franchise=spb)


@pytest.fixture
def interviewed(spb_recruiter: Any, hq_user: Any) -> Worker:
    worker = Worker.objects.create(name="Ivan", phone="+79110001234", skills=["loading"])
    vclock = clock.VirtualClock(clock.now())
    with clock.use_clock(vclock):
        worker_interview(worker=worker, outcome="failed", recruiter=spb_recruiter,
                         notes="smelled of drink")
        vclock.advance(timedelta(days=3))
        worker_interview(worker=worker, outcome="passed", recruiter=spb_recruiter,
                         notes="sober, strong")
    return worker


def test_the_recruiting_office_reads_them_newest_first_with_its_interviewer(
    spb_api: APIClient, interviewed: Worker
) -> None:
    response = spb_api.get(f"{URL}{interviewed.pk}/interviews/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    rows = body["results"]
    assert [(row["outcome"], row["notes"]) for row in rows] == [
        ("passed", "sober, strong"), ("failed", "smelled of drink")]
    assert {(row["recruiter"], row["office"]) for row in rows} == {
        ("spb-recruiter", "Saint Petersburg office")}
    assert rows[0]["at"] > rows[1]["at"]


def test_another_office_reads_outcomes_but_not_who(nsk_api: APIClient,
                                                   interviewed: Worker) -> None:
    rows = nsk_api.get(f"{URL}{interviewed.pk}/interviews/").json()["results"]
    assert [row["outcome"] for row in rows] == ["passed", "failed"]
    assert {(row["recruiter"], row["office"]) for row in rows} == {(None, "another office")}
    assert "spb-recruiter" not in str(rows)


def test_hq_reads_who(hq_api: APIClient, interviewed: Worker) -> None:
    rows = hq_api.get(f"{URL}{interviewed.pk}/interviews/").json()["results"]
    assert {row["recruiter"] for row in rows} == {"spb-recruiter"}


def test_a_foreman_reads_none(foreman_api: APIClient, interviewed: Worker) -> None:
    response = foreman_api.get(f"{URL}{interviewed.pk}/interviews/")
    assert response.status_code == 403
    assert "foreman" in response.json()["detail"]


def test_an_unknown_worker_is_a_404(spb_api: APIClient, db: Any) -> None:
    assert spb_api.get(f"{URL}987654/interviews/").status_code == 404


def test_recording_one_shows_in_the_list(spb_recruiter: Any, db: Any) -> None:
    applicant = Worker.objects.create(name="Oleg", phone="+79110004321", skills=["loading"])
    api = APIClient()
    api.force_authenticate(spb_recruiter)
    assert api.post(f"{URL}{applicant.pk}/interview/", {"outcome": "passed", "notes": "ok"},
                    format="json").status_code == 200
    rows = api.get(f"{URL}{applicant.pk}/interviews/").json()["results"]
    assert [(row["outcome"], row["notes"], row["imported"]) for row in rows] == [
        ("passed", "ok", False)]
    assert Interview.objects.filter(worker=applicant).count() == 1


def test_an_hq_import_reads_as_imported(hq_api: APIClient) -> None:
    created = hq_api.post(URL, {"name": "Pavel", "phone": "+79110009876", "status": "active"},
                          format="json")
    assert created.status_code == 201
    rows = hq_api.get(f"{URL}{created.json()['id']}/interviews/").json()["results"]
    assert [(row["outcome"], row["imported"]) for row in rows] == [("passed", True)]
