"""`python manage.py seed_demo`: the demo network, the same however often it runs."""

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from rest_framework.test import APIClient

from clients.models import Client, Site
from core.geo import territory_contains
from franchises.models import Franchise, User
from workers.models import Interview, Worker

LOGINS = {"admin", "operator", "spb", "nsk", "kazan", "foreman"}
PASSWORD = "demo12345"


def _counts() -> dict[str, int]:
    return {
        "franchises": Franchise.objects.count(),
        "workers": Worker.objects.count(),
        "clients": Client.objects.count(),
        "sites": Site.objects.count(),
        "users": User.objects.count(),
        "interviews": Interview.objects.count(),
    }


def _seed() -> str:
    """The network itself; the eight weeks of past orders are left out for speed."""
    out = StringIO()
    call_command("seed_demo", "--no-history", stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def seeded(django_db_setup: Any, django_db_blocker: Any) -> Any:
    """Seeded twice, once for the whole module (3,000 workers are worth inserting only once),
    inside a transaction rolled back at the end so no other test sees the demo network."""
    fast_hashing = override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]
    )
    with django_db_blocker.unblock(), fast_hashing:
        module_transaction = transaction.atomic()
        module_transaction.__enter__()
        try:
            first_output = _seed()
            first = _counts()
            second_output = _seed()
            second = _counts()
            yield {"first": first, "second": second, "first_output": first_output,
                   "second_output": second_output}
        finally:
            transaction.set_rollback(True)
            module_transaction.__exit__(None, None, None)


@pytest.mark.django_db
class TestSeedDemo:
    def test_the_network_has_the_promised_size(self, seeded: Any) -> None:
        counts = seeded["first"]
        assert counts["franchises"] == 9
        assert counts["workers"] == 3000
        assert counts["clients"] == 30
        assert counts["sites"] >= 30
        assert set(User.objects.values_list("username", flat=True)) == LOGINS

    def test_running_again_changes_nothing(self, seeded: Any) -> None:
        assert seeded["second"] == seeded["first"]
        assert "(0 new)" in seeded["second_output"]

    def test_prints_the_credentials(self, seeded: Any) -> None:
        for output in (seeded["first_output"], seeded["second_output"]):
            assert PASSWORD in output
            for username in LOGINS:
                assert username in output

    def test_one_hq_and_offices_with_territories(self, seeded: Any) -> None:
        assert Franchise.objects.filter(kind=Franchise.Kind.HQ).count() == 1
        offices = Franchise.objects.filter(kind=Franchise.Kind.OFFICIAL_OFFICE)
        assert offices.count() >= 3
        assert all(office.territory for office in offices)

    def test_spb_office_holds_the_city_centre(self, seeded: Any) -> None:
        spb = User.objects.get(username="spb").franchise
        assert spb.kind == Franchise.Kind.OFFICIAL_OFFICE
        assert territory_contains(spb.territory, lat=59.9386, lng=30.3141)
        assert not territory_contains(spb.territory, lat=55.7558, lng=37.6173)

    def test_logins_have_their_roles(self, seeded: Any) -> None:
        users = {user.username: user for user in User.objects.select_related("franchise")}
        assert users["admin"].is_superuser
        assert users["admin"].is_hq
        assert users["operator"].is_hq
        assert users["spb"].franchise is not None
        assert users["foreman"].role == User.Role.FOREMAN
        assert users["foreman"].franchise == users["spb"].franchise
        assert users["kazan"].franchise.city == "Kazan"

    def test_demo_logins_work_through_the_api(self, seeded: Any) -> None:
        api = APIClient()
        response = api.post("/api/v1/auth/token/", {"username": "nsk", "password": PASSWORD})
        assert response.status_code == 200
        api.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
        franchises = api.get("/api/v1/franchises/").json()
        assert franchises["count"] == 1
        assert franchises["results"][0]["city"] == "Novosibirsk"
        clients = api.get("/api/v1/clients/").json()
        assert clients["count"] == 6
        assert api.get("/api/v1/workers/").json()["count"] == 3000

    def test_workers_respect_the_pool_rules(self, seeded: Any) -> None:
        assert not Worker.objects.filter(status=Worker.Status.ACTIVE, vetted_at=None).exists()
        assert Worker.objects.filter(status=Worker.Status.ACTIVE).count() > 2000
        active = Worker.objects.filter(status=Worker.Status.ACTIVE).count()
        vetted_by_interview = (
            Interview.objects.filter(outcome=Interview.Outcome.PASSED)
            .values("worker").distinct().count()
        )
        assert vetted_by_interview >= active
        phones = list(Worker.objects.values_list("phone", flat=True)[:50])
        assert all(str(phone).startswith("+7") for phone in phones)
        assert not Worker.objects.filter(lat=None).exists()
        assert all(0 <= w.rating <= 5 and 0 <= w.reliability <= 1
                   for w in Worker.objects.only("rating", "reliability")[:500])
