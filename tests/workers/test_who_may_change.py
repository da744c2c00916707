"""Who may change a worker through the API: HQ anyone; an office the workers it recruited (the
whole profile) and those who worked its orders (notes and interviews); nobody else. Another
office's orders show on a worker's history without their ids or codes; only HQ and the
official offices post leads."""

import secrets
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from clients.models import Lead
from clients.services import client_create, site_create
from core import clock
from dispatch.models import Offer, Order
from dispatch.services import order_place
from franchises.models import Franchise
from franchises.services import user_create
from ratings.scoring import EventKind
from ratings.services import rating_event_record
from workers.models import Interview, Worker

pytestmark = pytest.mark.django_db

URL = "/api/v1/workers/"


def pool_worker(phone: str, **fields: Any) -> Worker:
    fields.setdefault("status", Worker.Status.ACTIVE)
    if fields["status"] != Worker.Status.APPLICANT:
        fields.setdefault("vetted_at", clock.now())
    return Worker.objects.create(name=f"Worker {phone[-3:]}", phone=phone, skills=["loading"],
                                 **fields)


def api_as(user: Any) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def nsk_order(nsk: Any) -> Order:
    client = client_create(name="Ikea Novosibirsk", franchise=nsk, phone="+73835550101")
    site = site_create(client=client, address="Vatutina 107, Novosibirsk", lat=55.03,
                       lng=82.92)
    start = clock.now().replace(microsecond=0) + timedelta(days=1)
    return order_place(client=client, site=site, work_type="loading", headcount=2,
                       start=start, hours=Decimal(4))


def accepted(order: Order, worker: Worker, **fields: Any) -> Offer:
    return Offer.objects.create(order=order, worker=worker, sent_at=clock.now(),
                                response=Offer.Response.ACCEPTED, token=secrets.token_hex(8),
                                **fields)


@pytest.fixture
def nsk_recruited(nsk: Any) -> Worker:
    return pool_worker("+79130000001", recruited_by=nsk, notes="Novosibirsk since 2024")


class TestTheIssuesProbe:
    """A Saint Petersburg login, a Novosibirsk worker: nothing of theirs to change."""

    @pytest.mark.parametrize("change", [
        {"phone": "+79130009999"}, {"home_area": "Akademgorodok"}, {"skills": ["roofing"]},
        {"lat": 59.9, "lng": 30.3}, {"notes": "seen drunk"},
    ])
    def test_a_stranger_office_changes_nothing(self, spb_api: APIClient,
                                               nsk_recruited: Worker, change: dict) -> None:
        response = spb_api.patch(f"{URL}{nsk_recruited.pk}/", change, format="json")
        assert response.status_code == 403
        assert "office that recruited this worker" in response.json()["detail"]
        fresh = Worker.objects.get(pk=nsk_recruited.pk)
        assert (str(fresh.phone), fresh.skills, fresh.notes, fresh.lat) == (
            "+79130000001", ["loading"], "Novosibirsk since 2024", None)

    def test_a_stranger_office_records_no_interview(self, spb_api: APIClient,
                                                    nsk_recruited: Worker) -> None:
        response = spb_api.post(f"{URL}{nsk_recruited.pk}/interview/",
                                {"outcome": "failed", "notes": "no"}, format="json")
        assert response.status_code == 403
        assert "may interview them" in response.json()["detail"]
        assert not Interview.objects.exists()


class TestRecruitingOffice:
    def test_changes_the_whole_profile(self, nsk_api: APIClient, nsk_recruited: Worker) -> None:
        response = nsk_api.patch(f"{URL}{nsk_recruited.pk}/", {
            "phone": "+79130009999", "home_area": "Akademgorodok", "skills": ["roofing"],
            "lat": 54.85, "lng": 83.1, "notes": "moved",
        }, format="json")
        assert response.status_code == 200, response.content
        fresh = Worker.objects.get(pk=nsk_recruited.pk)
        assert (str(fresh.phone), fresh.home_area, fresh.skills, fresh.notes) == (
            "+79130009999", "Akademgorodok", ["roofing"], "moved")

    def test_a_worker_added_by_an_office_is_recruited_by_it(self, spb_api: APIClient,
                                                             spb: Any) -> None:
        created = spb_api.post(URL, {"name": "Ivan", "phone": "+79110001111"}, format="json")
        assert created.status_code == 201
        assert created.json()["recruited_by"] == spb.pk
        assert spb_api.patch(f"{URL}{created.json()['id']}/", {"skills": ["moving"]},
                             format="json").status_code == 200

    def test_its_recruiter_login_may_change_them_too(self, nsk: Any,
                                                     nsk_recruited: Worker) -> None:
        recruiter = user_create(username="nsk-recruiter", password="pw-12345",
                                role="recruiter", franchise=nsk)
        response = api_as(recruiter).post(f"{URL}{nsk_recruited.pk}/interview/",
                                          {"outcome": "failed"}, format="json")
        assert response.status_code == 200

    def test_may_not_lift_a_suspension(self, nsk_api: APIClient, nsk: Any) -> None:
        worker = pool_worker("+79130000002", recruited_by=nsk)
        rating_event_record(worker=worker, kind=EventKind.NO_SHOW)
        rating_event_record(worker=worker, kind=EventKind.NO_SHOW)
        worker.refresh_from_db()
        assert worker.status == Worker.Status.SUSPENDED
        response = nsk_api.post(f"{URL}{worker.pk}/interview/", {"outcome": "passed"},
                                format="json")
        assert response.status_code == 403
        assert "Only HQ may lift a suspension" in response.json()["detail"]
        worker.refresh_from_db()
        assert worker.status == Worker.Status.SUSPENDED
        # A failed review is still the office's to record; HQ's pass reinstates.
        assert nsk_api.post(f"{URL}{worker.pk}/interview/", {"outcome": "failed"},
                            format="json").status_code == 200

    def test_status_itself_is_not_patched(self, nsk_api: APIClient,
                                          nsk_recruited: Worker) -> None:
        response = nsk_api.patch(f"{URL}{nsk_recruited.pk}/", {"status": "blocked"},
                                 format="json")
        assert response.status_code == 400
        assert "interview" in response.json()["status"][0]


class TestOfficeTheWorkerWorkedFor:
    def test_keeps_notes_and_interviews_but_not_the_profile(
        self, spb_api: APIClient, spb_order: Order, nsk_recruited: Worker
    ) -> None:
        accepted(spb_order, nsk_recruited)
        notes = spb_api.patch(f"{URL}{nsk_recruited.pk}/", {"notes": "late twice"},
                              format="json")
        assert notes.status_code == 200
        assert Worker.objects.get(pk=nsk_recruited.pk).notes == "late twice"
        interview = spb_api.post(f"{URL}{nsk_recruited.pk}/interview/",
                                 {"outcome": "passed", "notes": "talked it through"},
                                 format="json")
        assert interview.status_code == 200
        for change in ({"phone": "+79130009999"}, {"skills": ["roofing"]},
                       {"home_area": "Kupchino"}):
            refused = spb_api.patch(f"{URL}{nsk_recruited.pk}/", change, format="json")
            assert refused.status_code == 403
            assert "Only HQ or the office that recruited this worker may change" in (
                refused.json()["detail"])
        fresh = Worker.objects.get(pk=nsk_recruited.pk)
        assert (str(fresh.phone), fresh.skills, fresh.home_area) == (
            "+79130000001", ["loading"], "")

    def test_a_full_update_that_only_changes_notes_passes(
        self, spb_api: APIClient, spb_order: Order, nsk_recruited: Worker
    ) -> None:
        accepted(spb_order, nsk_recruited)
        body = spb_api.get(f"{URL}{nsk_recruited.pk}/").json()
        body["notes"] = "reliable"
        body.pop("distance_km", None)
        response = spb_api.put(f"{URL}{nsk_recruited.pk}/", body, format="json")
        assert response.status_code == 200, response.content

    def test_an_offer_only_declined_is_not_working_for_them(
        self, spb_api: APIClient, spb_order: Order, nsk_recruited: Worker
    ) -> None:
        offer = accepted(spb_order, nsk_recruited)
        Offer.objects.filter(pk=offer.pk).update(response=Offer.Response.DECLINED)
        assert spb_api.patch(f"{URL}{nsk_recruited.pk}/", {"notes": "x"},
                             format="json").status_code == 403


class TestHQAndTheUnrecruited:
    def test_hq_changes_anyone(self, hq_api: APIClient, nsk_recruited: Worker) -> None:
        assert hq_api.patch(f"{URL}{nsk_recruited.pk}/", {"phone": "+79130007777"},
                            format="json").status_code == 200

    def test_hq_lifts_a_suspension(self, hq_api: APIClient, nsk: Any) -> None:
        worker = pool_worker("+79130000003", recruited_by=nsk, status=Worker.Status.SUSPENDED)
        assert hq_api.post(f"{URL}{worker.pk}/interview/", {"outcome": "passed"},
                           format="json").status_code == 200
        worker.refresh_from_db()
        assert worker.status == Worker.Status.ACTIVE

    def test_an_sms_applicant_is_claimed_by_the_first_office_to_interview(
        self, spb_api: APIClient, nsk_api: APIClient, spb: Any
    ) -> None:
        applicant = pool_worker("+79110002222", status=Worker.Status.APPLICANT)
        assert spb_api.post(f"{URL}{applicant.pk}/interview/", {"outcome": "passed"},
                            format="json").status_code == 200
        applicant.refresh_from_db()
        assert (applicant.status, applicant.recruited_by_id) == (Worker.Status.ACTIVE, spb.pk)
        # Claimed: another office now has nothing of theirs to change.
        assert nsk_api.post(f"{URL}{applicant.pk}/interview/", {"outcome": "failed"},
                            format="json").status_code == 403

    def test_an_unrecruited_active_worker_is_hqs(self, spb_api: APIClient) -> None:
        worker = pool_worker("+79110003333")
        assert spb_api.patch(f"{URL}{worker.pk}/", {"notes": "x"},
                             format="json").status_code == 403

    def test_a_foreman_changes_nobody(self, foreman_api: APIClient, spb: Any) -> None:
        worker = pool_worker("+79110004444", recruited_by=spb)
        assert foreman_api.patch(f"{URL}{worker.pk}/", {"notes": "x"},
                                 format="json").status_code == 403


class TestHistory:
    def test_another_offices_orders_show_without_ids_or_codes(
        self, spb_api: APIClient, hq_api: APIClient, spb_order: Order, nsk: Any,
        nsk_recruited: Worker,
    ) -> None:
        theirs = nsk_order(nsk)
        accepted(theirs, nsk_recruited, attendance=Offer.Attendance.PRESENT,
                 hours_worked=Decimal("7.5"))
        accepted(spb_order, nsk_recruited, attendance=Offer.Attendance.PRESENT,
                 hours_worked=Decimal(6))
        rating_event_record(worker=nsk_recruited, kind=EventKind.SHOW, order_ref=theirs.pk,
                            note=f"worked {theirs.code}")
        rating_event_record(worker=nsk_recruited, kind=EventKind.SHOW, order_ref=spb_order.pk,
                            note=f"worked {spb_order.code}")
        seen = spb_api.get(f"{URL}{nsk_recruited.pk}/history/")
        assert seen.status_code == 200
        events = {event["office"]: event for event in seen.json()["events"]}
        other, own = events["another office"], events["own"]
        assert (other["order"], other["order_code"], other["note"]) == (None, None, "")
        assert (other["kind"], other["hours"]) == ("show", 7.5)
        assert other["at"]
        assert (own["order"], own["order_code"], own["hours"]) == (
            spb_order.pk, spb_order.code, 6.0)
        assert theirs.code not in seen.content.decode()
        assert seen.json()["shifts"] == 2
        # HQ sees every order.
        hq_events = hq_api.get(f"{URL}{nsk_recruited.pk}/history/").json()["events"]
        assert {event["order"] for event in hq_events} == {theirs.pk, spb_order.pk}


class TestLeads:
    BODY = {"contact_name": "Anna", "phone": "+78125550199", "address": "Nevsky 1",
            "lat": 59.93, "lng": 30.31, "work_type": "loading", "headcount": 3,
            "hours": "4.0"}

    def _body(self) -> dict[str, Any]:
        start = (clock.now() + timedelta(days=2)).replace(microsecond=0)
        return {**self.BODY, "start": start.isoformat()}

    def test_hq_and_an_official_office_post_leads(self, hq_api: APIClient,
                                                  spb_api: APIClient) -> None:
        assert hq_api.post("/api/v1/leads/", self._body(), format="json").status_code == 201
        assert spb_api.post("/api/v1/leads/", self._body(), format="json").status_code == 201

    def test_a_brand_franchise_does_not(self, db: Any) -> None:
        brand = Franchise.objects.create(name="Gruzchiki Plus", kind="brand_franchise",
                                         city="Saint Petersburg")
        user = user_create(username="brand", password="pw-12345", role="franchise",
                           franchise=brand)
        response = api_as(user).post("/api/v1/leads/", self._body(), format="json")
        assert response.status_code == 403
        assert "Only HQ and the official offices post leads" in response.json()["detail"]
        assert not Lead.objects.exists()

    def test_foremen_and_recruiters_do_not(self, foreman_api: APIClient, spb: Any) -> None:
        recruiter = user_create(username="spb-recruiter", password="pw-12345",
                                role="recruiter", franchise=spb)
        for api in (foreman_api, api_as(recruiter)):
            assert api.post("/api/v1/leads/", self._body(), format="json").status_code == 403
        assert not Lead.objects.exists()
