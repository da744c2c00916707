"""A recruiter login through the API: the worker pool is theirs to read, to add applicants to
and to interview; clients, orders, leads and the books are no part of it, neither to read nor
to write."""

from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from clients.models import Client
from core import clock
from dispatch.models import Order
from franchises.services import user_create
from workers.models import Interview, Worker

pytestmark = pytest.mark.django_db

URL = "/api/v1/workers/"


@pytest.fixture
def recruiter(spb: Any) -> Any:
    return user_create(username="spb-recruiter", password="pw-12345", role="recruiter",
                       franchise=spb)


@pytest.fixture
def recruiter_api(recruiter: Any) -> APIClient:
    api = APIClient()
    api.force_authenticate(recruiter)
    return api


def pool_worker(phone: str, **fields: Any) -> Worker:
    fields.setdefault("status", Worker.Status.ACTIVE)
    if fields["status"] != Worker.Status.APPLICANT:
        fields.setdefault("vetted_at", clock.now())
    return Worker.objects.create(name=f"Worker {phone[-3:]}", phone=phone, skills=["loading"],
                                 **fields)


def test_a_recruiter_logs_in_for_a_token(recruiter: Any) -> None:
    response = APIClient().post("/api/v1/auth/token/",
                                {"username": "spb-recruiter", "password": "pw-12345"})
    assert response.status_code == 200
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert api.get(URL).status_code == 200


def test_the_whole_pool_is_readable_and_filterable(recruiter_api: APIClient) -> None:
    near = pool_worker("+79000000001", lat=59.93, lng=30.31)
    pool_worker("+79000000002", lat=55.03, lng=82.92)  # Novosibirsk: the pool is shared
    applicant = pool_worker("+79000000003", status=Worker.Status.APPLICANT)
    listing = recruiter_api.get(URL)
    assert listing.status_code == 200
    assert listing.json()["count"] == 3
    nearby = recruiter_api.get(URL, {"near": "59.93,30.31", "radius_km": 5}).json()
    assert [row["id"] for row in nearby["results"]] == [near.pk]
    applicants = recruiter_api.get(URL, {"status": "applicant"}).json()
    assert [row["id"] for row in applicants["results"]] == [applicant.pk]
    assert recruiter_api.get(f"{URL}{near.pk}/").json()["phone"] == "+79000000001"
    assert recruiter_api.get(f"{URL}{near.pk}/history/").status_code == 200


def test_a_recruiter_adds_applicants(recruiter_api: APIClient) -> None:
    response = recruiter_api.post(
        URL, {"name": "Ivan Petrov", "phone": "8 912 345-67-89", "skills": ["loading"]},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["vetted_at"]) == ("applicant", None)


def test_but_not_active_workers_which_only_hq_imports(recruiter_api: APIClient) -> None:
    response = recruiter_api.post(
        URL, {"name": "Veteran", "phone": "+79123456789", "status": "active"}, format="json"
    )
    assert response.status_code == 400
    assert "status" in response.json()
    assert not Worker.objects.exists()


def test_a_recruiters_interview_makes_an_applicant_active(
    recruiter_api: APIClient, recruiter: Any
) -> None:
    applicant = pool_worker("+79000000001", status=Worker.Status.APPLICANT)
    response = recruiter_api.post(f"{URL}{applicant.pk}/interview/",
                                  {"outcome": "passed", "notes": "Good"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "active"
    interview = Interview.objects.get(worker=applicant)
    assert (interview.recruiter, interview.outcome) == (recruiter, "passed")


def test_profile_edits_are_the_offices_not_the_recruiters(recruiter_api: APIClient) -> None:
    someone = pool_worker("+79000000001")
    response = recruiter_api.patch(f"{URL}{someone.pk}/", {"name": "Renamed"}, format="json")
    assert response.status_code == 403
    someone.refresh_from_db()
    assert someone.name == "Worker 001"
    assert recruiter_api.patch(f"{URL}987654/", {"name": "X"}, format="json").status_code == 404


@pytest.mark.parametrize("resource", ["clients", "sites", "orders", "leads", "messages",
                                      "appeals", "invoice-lines", "pay-lines",
                                      "royalty-statements", "rate-cards", "credits"])
def test_nothing_of_a_franchise_is_readable(
    recruiter_api: APIClient, spb_order: Order, resource: str
) -> None:
    response = recruiter_api.get(f"/api/v1/{resource}/")
    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_orders_and_clients_of_their_own_office_are_404(
    recruiter_api: APIClient, spb_order: Order
) -> None:
    assert recruiter_api.get(f"/api/v1/orders/{spb_order.pk}/").status_code == 404
    assert recruiter_api.post(f"/api/v1/orders/{spb_order.pk}/callout/").status_code == 404
    assert recruiter_api.get(f"/api/v1/clients/{spb_order.client_id}/").status_code == 404


def test_nothing_of_a_franchise_is_writable(recruiter_api: APIClient, spb: Any) -> None:
    response = recruiter_api.post(
        "/api/v1/clients/", {"name": "Side business", "franchise": spb.pk,
                             "phone": "+78125550199"}, format="json",
    )
    assert response.status_code == 403
    assert not Client.objects.filter(name="Side business").exists()
    response = recruiter_api.post(
        "/api/v1/rate-cards/", {"franchise": spb.pk, "work_type": "loading",
                                "bill_rate": "1.00", "pay_rate": "1.00"}, format="json",
    )
    assert response.status_code == 403


def test_the_books_and_prices_are_not_a_recruiters(recruiter_api: APIClient) -> None:
    assert recruiter_api.get("/api/v1/reports/benchmark/",
                             {"period": "2030-01"}).status_code == 403
    response = recruiter_api.post("/api/v1/quotes/", {
        "work_type": "loading", "headcount": 2, "hours": str(Decimal(4)),
        "start": "2030-01-10T09:00",
    }, format="json")
    assert response.status_code == 403
