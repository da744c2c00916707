"""Who may call the API: tokens, sessions, anonymous callers, and the public docs."""

import re
from typing import Any

import pytest
from django.test import Client as BrowserClient
from rest_framework.test import APIClient

from config.urls import router

TOKEN_URL = "/api/v1/auth/token/"
RESOURCES = ["franchises", "clients", "sites", "leads", "workers", "orders"]


def _every_list_url() -> list[str]:
    """Every resource the router serves, so a new one is covered the day it is added."""

    return [f"/api/v1/{prefix}/" for prefix, _, _ in router.registry] + [
        "/api/v1/reports/benchmark/"
    ]


@pytest.mark.django_db
class TestToken:
    def test_token_end_to_end(self, spb_user: Any, spb: Any) -> None:
        api = APIClient()
        response = api.post(
            TOKEN_URL, {"username": "spb-manager", "password": "pw-12345"}, format="json"
        )
        assert response.status_code == 200
        token = response.json()["token"]
        assert isinstance(token, str)
        assert len(token) >= 20

        api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        listed = api.get("/api/v1/franchises/")
        assert listed.status_code == 200
        assert listed.json()["results"][0]["id"] == spb.id

    def test_token_is_stable_for_a_user(self, spb_user: Any) -> None:
        api = APIClient()
        first = api.post(TOKEN_URL, {"username": "spb-manager", "password": "pw-12345"})
        second = api.post(TOKEN_URL, {"username": "spb-manager", "password": "pw-12345"})
        assert first.status_code == second.status_code == 200
        assert first.json()["token"] == second.json()["token"]

    def test_wrong_password_is_a_400(self, spb_user: Any) -> None:
        response = APIClient().post(
            TOKEN_URL, {"username": "spb-manager", "password": "wrong"}, format="json"
        )
        assert response.status_code == 400
        assert "token" not in response.json()

    def test_unknown_user_is_a_400(self, db: Any) -> None:
        response = APIClient().post(
            TOKEN_URL, {"username": "nobody", "password": "x"}, format="json"
        )
        assert response.status_code == 400

    def test_missing_fields_are_field_errors(self, db: Any) -> None:
        response = APIClient().post(TOKEN_URL, {}, format="json")
        assert response.status_code == 400
        assert set(response.json()) >= {"username", "password"}

    def test_inactive_user_gets_no_token(self, spb_user: Any) -> None:
        spb_user.is_active = False
        spb_user.save()
        response = APIClient().post(
            TOKEN_URL, {"username": "spb-manager", "password": "pw-12345"}, format="json"
        )
        assert response.status_code == 400

    def test_a_forged_token_is_a_401(self, db: Any) -> None:
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")
        assert api.get("/api/v1/workers/").status_code == 401


@pytest.mark.django_db
class TestAnonymous:
    def test_every_list_is_a_401(self, anon_api: APIClient) -> None:
        urls = _every_list_url()
        assert {f"/api/v1/{resource}/" for resource in RESOURCES} <= set(urls)
        for url in urls:
            response = anon_api.get(url)
            assert response.status_code == 401, url
            assert response.has_header("WWW-Authenticate")

    @pytest.mark.parametrize("resource", RESOURCES)
    def test_every_create_is_a_401(self, anon_api: APIClient, resource: str) -> None:
        response = anon_api.post(f"/api/v1/{resource}/", {"name": "x"}, format="json")
        assert response.status_code == 401

    def test_an_object_is_a_401_not_a_leak(self, anon_api: APIClient, spb_order: Any) -> None:
        response = anon_api.get(f"/api/v1/orders/{spb_order.id}/")
        assert response.status_code == 401
        assert spb_order.code not in response.content.decode()


@pytest.mark.django_db
class TestSession:
    def test_a_logged_in_browser_uses_the_api(self, spb_user: Any, spb_client: Any) -> None:
        browser = APIClient(enforce_csrf_checks=True)
        browser.force_login(spb_user)
        response = browser.get("/api/v1/clients/")
        assert response.status_code == 200
        assert [row["id"] for row in response.json()["results"]] == [spb_client.id]

    def test_session_writes_need_the_csrf_token(self, spb_user: Any) -> None:
        browser = APIClient(enforce_csrf_checks=True)
        browser.force_login(spb_user)
        response = browser.post("/api/v1/clients/", {"name": "No CSRF"}, format="json")
        assert response.status_code == 403

    def test_session_write_with_csrf_token_works(self, spb_user: Any, spb: Any) -> None:
        browser = BrowserClient(enforce_csrf_checks=True)
        browser.force_login(spb_user)
        browser.get("/accounts/login/")
        csrf = browser.cookies["csrftoken"].value
        response = browser.post(
            "/api/v1/clients/",
            {"name": "With CSRF"},
            content_type="application/json",
            HTTP_X_CSRFTOKEN=csrf,
        )
        assert response.status_code == 201, response.content
        assert response.json()["franchise"] == spb.id

    def test_logged_out_browser_is_a_401(self, db: Any) -> None:
        assert BrowserClient().get("/api/v1/orders/").status_code == 401


@pytest.mark.django_db
class TestPublicDocs:
    def test_schema_is_public_openapi_3(self, anon_api: APIClient) -> None:
        response = anon_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
        assert response.status_code == 200
        schema = response.json()
        assert schema["openapi"].startswith("3.")
        paths = schema["paths"]
        for resource in RESOURCES:
            assert f"/api/v1/{resource}/" in paths
        assert "/api/v1/orders/{id}/offers/" in paths
        assert "/api/v1/workers/{id}/interview/" in paths

    def test_docs_page_is_public_and_self_contained(self, anon_api: APIClient) -> None:
        response = anon_api.get("/api/docs/")
        assert response.status_code == 200
        html = response.content.decode()
        assets = re.findall(r"""<(?:script|link)\b[^>]*\b(?:src|href)=["']([^"']+)["']""", html)
        assert any("swagger-ui-bundle.js" in asset for asset in assets), assets
        off_site = [a for a in assets if re.match(r"^(?:https?:)?//", a)]
        assert off_site == []

    def test_docs_assets_are_served_locally(self, anon_api: APIClient) -> None:
        html = anon_api.get("/api/docs/").content.decode()
        scripts = re.findall(r"""<script\b[^>]*\bsrc=["']([^"']+)["']""", html)
        assert scripts
        browser = BrowserClient()
        for src in scripts:
            response = browser.get(src)
            assert response.status_code == 200, src
            body = b"".join(response.streaming_content) if response.streaming else response.content
            assert len(body) > 1000
