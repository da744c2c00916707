"""`python manage.py add_user NAME --role hq|franchise|foreman [--franchise ID] --password P`."""

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from franchises.models import User


def _add_user(*args: str) -> str:
    out = StringIO()
    call_command("add_user", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
class TestAddUser:
    def test_creates_an_hq_login(self) -> None:
        output = _add_user("olga", "--role", "hq", "--password", "s3cret-pass")
        user = User.objects.get(username="olga")
        assert user.role == User.Role.HQ
        assert user.franchise is None
        assert user.is_hq
        assert user.check_password("s3cret-pass")
        assert "olga" in output

    def test_creates_a_franchise_login(self, spb: Any) -> None:
        output = _add_user(
            "petr", "--role", "franchise", "--franchise", str(spb.id), "--password", "pw-petr-1"
        )
        user = User.objects.get(username="petr")
        assert user.role == User.Role.FRANCHISE
        assert user.franchise == spb
        assert not user.is_hq
        assert spb.name in output

    def test_creates_a_foreman_login(self, spb: Any) -> None:
        _add_user("foreman-1", "--role", "foreman", "--franchise", str(spb.id), "--password", "x")
        assert User.objects.get(username="foreman-1").role == User.Role.FOREMAN

    def test_missing_franchise_is_a_clear_error(self, spb: Any) -> None:
        with pytest.raises(CommandError, match="no franchise with id 999999"):
            _add_user("ghost", "--role", "franchise", "--franchise", "999999", "--password", "x")
        assert not User.objects.filter(username="ghost").exists()

    @pytest.mark.parametrize("role", ["franchise", "foreman"])
    def test_franchise_roles_need_a_franchise(self, db: Any, role: str) -> None:
        with pytest.raises(CommandError, match="franchise"):
            _add_user("nobody", "--role", role, "--password", "x")
        assert not User.objects.filter(username="nobody").exists()

    def test_an_hq_login_takes_no_franchise(self, spb: Any) -> None:
        with pytest.raises(CommandError, match="leave out --franchise"):
            _add_user("olga", "--role", "hq", "--franchise", str(spb.id), "--password", "x")
        assert not User.objects.filter(username="olga").exists()

    def test_unknown_role_is_refused(self, db: Any) -> None:
        with pytest.raises(CommandError):
            _add_user("x", "--role", "janitor", "--password", "x")
        assert not User.objects.exists()

    def test_password_is_required(self, db: Any) -> None:
        with pytest.raises(CommandError):
            _add_user("x", "--role", "hq")
        assert not User.objects.exists()

    def test_taken_username_is_a_clear_error(self, db: Any) -> None:
        _add_user("dup", "--role", "hq", "--password", "one")
        with pytest.raises(CommandError, match="taken"):
            _add_user("dup", "--role", "hq", "--password", "two")
        assert User.objects.get(username="dup").check_password("one")

    def test_the_new_login_gets_a_token_and_uses_the_api(self, spb: Any, nsk: Any) -> None:
        _add_user(
            "spb-ops", "--role", "franchise", "--franchise", str(spb.id), "--password", "pw-ops-9"
        )
        api = APIClient()
        response = api.post(
            "/api/v1/auth/token/", {"username": "spb-ops", "password": "pw-ops-9"}, format="json"
        )
        assert response.status_code == 200
        token = response.json()["token"]
        api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        franchises = api.get("/api/v1/franchises/").json()["results"]
        assert [row["id"] for row in franchises] == [spb.id]


@pytest.mark.django_db
def test_a_django_superuser_is_created_with_hq_scope(monkeypatch: Any, spb: Any) -> None:
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "s3cret-root")
    call_command("createsuperuser", "--noinput", "--username", "root", "--email", "r@x.io",
                 stdout=StringIO())

    user = User.objects.get(username="root")
    assert (user.role, user.franchise, user.is_superuser) == (User.Role.HQ, None, True)
    api = APIClient()
    token = api.post("/api/v1/auth/token/", {"username": "root", "password": "s3cret-root"},
                     format="json").json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    franchises = api.get("/api/v1/franchises/").json()["results"]
    assert spb.id in {franchise["id"] for franchise in franchises}
