"""Logins: lock-out after repeated failures (page and API), tokens that expire and can be
revoked."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.test import Client as BrowserClient
from rest_framework.test import APIClient

from core.clock import VirtualClock, use_clock

TOKEN_URL = "/api/v1/auth/token/"
LOGOUT_URL = "/api/v1/auth/logout/"
LOGIN_PAGE = "/accounts/login/"
RIGHT = {"username": "spb-manager", "password": "pw-12345"}
WRONG = {"username": "spb-manager", "password": "not-it"}


@pytest.fixture(autouse=True)
def _limits(settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 5
    settings.LOGIN_COOLOFF_MINUTES = 15.0
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


def _api(ip: str = "10.0.0.1") -> APIClient:
    return APIClient(REMOTE_ADDR=ip)


def _after_cool_off() -> None:
    """Every recorded failure as if it happened just over the cool-off ago."""

    for attempt in AccessAttempt.objects.all():
        AccessAttempt.objects.filter(pk=attempt.pk).update(
            attempt_time=attempt.attempt_time - timedelta(minutes=16)
        )


@pytest.mark.django_db
class TestApiLockout:
    def test_500_wrong_passwords_then_the_right_one_is_refused(self, spb_user: Any) -> None:
        api = _api()
        answers = [api.post(TOKEN_URL, WRONG, format="json").status_code for _ in range(500)]
        # The fifth failure is the limit: it is answered as the lock-out it starts.
        assert answers[:4] == [400] * 4
        assert set(answers[4:]) == {429}

        refused = api.post(TOKEN_URL, RIGHT, format="json")
        assert refused.status_code == 429
        assert "token" not in refused.json()
        assert "locked" in refused.json()["detail"]
        assert int(refused["Retry-After"]) == 15 * 60

    def test_the_right_password_works_again_after_the_cool_off(self, spb_user: Any) -> None:
        api = _api()
        for _ in range(5):
            api.post(TOKEN_URL, WRONG, format="json")
        assert api.post(TOKEN_URL, RIGHT, format="json").status_code == 429

        _after_cool_off()
        unlocked = api.post(TOKEN_URL, RIGHT, format="json")
        assert unlocked.status_code == 200
        assert unlocked.json()["token"]

    def test_a_success_before_the_limit_clears_the_count(self, spb_user: Any) -> None:
        api = _api()
        for _ in range(4):
            assert api.post(TOKEN_URL, WRONG, format="json").status_code == 400
        assert api.post(TOKEN_URL, RIGHT, format="json").status_code == 200
        for _ in range(4):
            assert api.post(TOKEN_URL, WRONG, format="json").status_code == 400
        assert api.post(TOKEN_URL, RIGHT, format="json").status_code == 200

    def test_one_username_is_locked_from_every_address(self, spb_user: Any) -> None:
        for n in range(5):
            _api(f"10.0.1.{n}").post(TOKEN_URL, WRONG, format="json")
        assert _api("10.0.2.1").post(TOKEN_URL, RIGHT, format="json").status_code == 429

    def test_one_address_is_locked_for_every_username(self, spb_user: Any) -> None:
        api = _api("10.0.3.1")
        for n in range(5):
            api.post(TOKEN_URL, {"username": f"guess-{n}", "password": "x"}, format="json")
        assert api.post(TOKEN_URL, RIGHT, format="json").status_code == 429
        # The login itself is not locked: from elsewhere it still works.
        assert _api("10.0.3.2").post(TOKEN_URL, RIGHT, format="json").status_code == 200

    def test_behind_a_proxy_the_forwarded_address_counts(
        self, spb_user: Any, settings: Any
    ) -> None:
        settings.LOGIN_TRUSTED_PROXY_COUNT = 1
        proxy = "10.9.9.9"
        for n in range(5):
            APIClient(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="203.0.113.7").post(
                TOKEN_URL, {"username": f"guess-{n}", "password": "x"}, format="json"
            )
        locked = APIClient(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="203.0.113.7")
        assert locked.post(TOKEN_URL, RIGHT, format="json").status_code == 429
        # Another caller through the same proxy is not locked out with the first; what a
        # caller writes at the left of the header is not believed.
        other = APIClient(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="203.0.113.7, 198.51.100.2")
        assert other.post(TOKEN_URL, RIGHT, format="json").status_code == 200


@pytest.mark.django_db
class TestPageLockout:
    def test_wrong_passwords_then_the_right_one_is_refused_on_the_page(
        self, spb_user: Any
    ) -> None:
        browser = BrowserClient(REMOTE_ADDR="10.0.4.1")
        for _ in range(4):
            assert browser.post(LOGIN_PAGE, WRONG).status_code == 200
        assert browser.post(LOGIN_PAGE, WRONG).status_code == 429
        refused = browser.post(LOGIN_PAGE, RIGHT)
        assert refused.status_code == 429
        assert "_auth_user_id" not in browser.session
        page = refused.content.decode()
        assert "Too many failed logins" in page
        assert 'value="spb-manager"' in page
        assert browser.get("/board/").status_code == 302

    def test_the_lock_out_speaks_the_browsers_language(self, spb_user: Any) -> None:
        browser = BrowserClient(REMOTE_ADDR="10.0.4.5", HTTP_ACCEPT_LANGUAGE="ru")
        for _ in range(5):
            browser.post(LOGIN_PAGE, WRONG)
        refused = browser.post(LOGIN_PAGE, RIGHT)
        assert refused.status_code == 429
        assert "Вход заблокирован на 15 мин." in refused.content.decode()

    def test_the_page_logs_in_after_the_cool_off(self, spb_user: Any) -> None:
        browser = BrowserClient(REMOTE_ADDR="10.0.4.2")
        for _ in range(5):
            browser.post(LOGIN_PAGE, WRONG)
        assert browser.post(LOGIN_PAGE, RIGHT).status_code == 429
        _after_cool_off()
        assert browser.post(LOGIN_PAGE, RIGHT).status_code == 302
        assert browser.session["_auth_user_id"] == str(spb_user.pk)

    def test_the_page_and_the_api_share_the_count(self, spb_user: Any) -> None:
        browser = BrowserClient(REMOTE_ADDR="10.0.4.3")
        for _ in range(5):
            browser.post(LOGIN_PAGE, WRONG)
        assert _api("10.0.4.4").post(TOKEN_URL, RIGHT, format="json").status_code == 429


@pytest.mark.django_db
class TestTokenLifetime:
    def test_a_token_expires_and_the_next_exchange_issues_a_new_one(
        self, spb_user: Any, settings: Any
    ) -> None:
        settings.API_TOKEN_TTL_HOURS = 12
        clock = VirtualClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
        with use_clock(clock):
            issued = _api().post(TOKEN_URL, RIGHT, format="json").json()
            assert issued["expires_at"] == "2026-03-02T20:00:00Z"
            api = _api()
            api.credentials(HTTP_AUTHORIZATION=f"Token {issued['token']}")
            clock.advance(timedelta(hours=11, minutes=59))
            assert api.get("/api/v1/franchises/").status_code == 200

            clock.advance(timedelta(minutes=1))
            expired = api.get("/api/v1/franchises/")
            assert expired.status_code == 401
            assert "expired" in expired.json()["detail"]

            renewed = _api().post(TOKEN_URL, RIGHT, format="json").json()
            assert renewed["token"] != issued["token"]
            assert renewed["expires_at"] == "2026-03-03T08:00:00Z"
            api.credentials(HTTP_AUTHORIZATION=f"Token {renewed['token']}")
            assert api.get("/api/v1/franchises/").status_code == 200

    def test_logout_revokes_the_token(self, spb_user: Any) -> None:
        token = _api().post(TOKEN_URL, RIGHT, format="json").json()["token"]
        api = _api()
        api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        assert api.post(LOGOUT_URL).status_code == 204
        assert api.get("/api/v1/franchises/").status_code == 401
        assert api.post(LOGOUT_URL).status_code == 401

        fresh = _api().post(TOKEN_URL, RIGHT, format="json").json()["token"]
        assert fresh != token

    def test_logout_needs_a_login(self, db: Any) -> None:
        assert _api().post(LOGOUT_URL).status_code == 401


@pytest.mark.django_db
class TestPasswordReset:
    RESET_PAGES = [
        "/accounts/password_reset/",
        "/accounts/password_reset/done/",
        "/accounts/reset/MQ/set-password/",
        "/accounts/reset/done/",
    ]

    @pytest.mark.parametrize("url", RESET_PAGES)
    def test_without_a_mail_server_the_reset_pages_do_not_exist(
        self, settings: Any, url: str
    ) -> None:
        settings.EMAIL_HOST = ""
        assert BrowserClient().get(url).status_code == 404

    def test_without_a_mail_server_a_reset_request_sends_nothing(
        self, settings: Any, spb_user: Any, mailoutbox: Any
    ) -> None:
        settings.EMAIL_HOST = ""
        spb_user.email = "spb@example.com"
        spb_user.save()
        posted = BrowserClient().post("/accounts/password_reset/", {"email": "spb@example.com"})
        assert posted.status_code == 404
        assert mailoutbox == []

    def test_with_a_mail_server_a_reset_link_is_mailed(
        self, settings: Any, spb_user: Any, mailoutbox: Any
    ) -> None:
        settings.EMAIL_HOST = "smtp.example.com"
        spb_user.email = "spb@example.com"
        spb_user.save()
        browser = BrowserClient()
        assert browser.get("/accounts/password_reset/").status_code == 200
        posted = browser.post("/accounts/password_reset/", {"email": "spb@example.com"})
        assert posted.status_code == 302
        assert len(mailoutbox) == 1
        assert "/accounts/reset/" in mailoutbox[0].body

    def test_the_login_page_is_there_either_way(self, settings: Any) -> None:
        settings.EMAIL_HOST = ""
        assert BrowserClient().get("/accounts/login/").status_code == 200
