"""Content-Security-Policy: every kind of page carries it, and nothing on them needs more
than it allows (no inline script or style, no on*= handlers)."""

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client as BrowserClient

from franchises.services import user_create

from .dispatch.test_channels import calling_order  # noqa: F401 - a fixture used below

ROOT = Path(__file__).resolve().parent.parent
PROJECT_PACKAGES = [
    "config", "core", "franchises", "clients", "workers", "ratings", "messaging", "dispatch",
    "billing", "web", "demo",
]

INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style\b", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"""\sstyle\s*=\s*["']""", re.IGNORECASE)
HANDLER_ATTRIBUTE = re.compile(r"""\s(?:on[a-z]+|hx-on[:\w-]*)\s*=\s*["']""", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']\s*javascript:""", re.IGNORECASE)


def _what_the_policy_refuses(html: str) -> list[str]:
    found = []
    for name, pattern in [
        ("inline script", INLINE_SCRIPT), ("style element", STYLE_ELEMENT),
        ("style attribute", STYLE_ATTRIBUTE), ("event handler", HANDLER_ATTRIBUTE),
        ("javascript: URL", JAVASCRIPT_URL),
    ]:
        found += [f"{name}: {match.group(0).strip()}" for match in pattern.finditer(html)]
    return found


def _directives(response: Any) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def _assert_strict_policy(response: Any) -> None:
    directives = _directives(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]


def _templates() -> list[Path]:
    return sorted(
        path for package in PROJECT_PACKAGES for path in (ROOT / package).rglob("*.html")
    )


def test_there_are_templates_to_read() -> None:
    names = {path.name for path in _templates()}
    assert {"base.html", "login.html", "offer.html", "swagger_ui.html"} <= names


@pytest.mark.parametrize("template", _templates(), ids=lambda path: str(path.relative_to(ROOT)))
def test_no_template_holds_what_the_policy_refuses(template: Path) -> None:
    assert _what_the_policy_refuses(template.read_text()) == []


@pytest.fixture
def logins(spb: Any, hq_user: Any, spb_user: Any, spb_foreman: Any) -> dict[str, Any]:
    recruiter = user_create(
        username="spb-recruiter", password="pw-12345", role="recruiter", franchise=spb
    )
    return {"hq": hq_user, "franchise": spb_user, "foreman": spb_foreman, "recruiter": recruiter}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "url"),
    [
        ("hq", "/board/"),
        ("hq", "/network/"),
        ("franchise", "/dashboard/"),
        ("franchise", "/workers/"),
        ("foreman", "/crew/"),
        ("recruiter", "/recruit/"),
    ],
)
def test_console_pages_carry_the_policy_and_pass_it(
    logins: dict[str, Any], role: str, url: str
) -> None:
    browser = BrowserClient()
    browser.force_login(logins[role])
    response = browser.get(url, follow=True)
    assert response.status_code == 200
    _assert_strict_policy(response)
    assert _what_the_policy_refuses(response.content.decode()) == []


@pytest.mark.django_db
def test_the_login_page_carries_the_policy_and_passes_it() -> None:
    response = BrowserClient().get("/accounts/login/")
    assert response.status_code == 200
    _assert_strict_policy(response)
    assert _what_the_policy_refuses(response.content.decode()) == []


@pytest.mark.django_db
def test_the_api_docs_carry_the_policy_and_pass_it() -> None:
    browser = BrowserClient()
    page = browser.get("/api/docs/")
    assert page.status_code == 200
    _assert_strict_policy(page)
    html = page.content.decode()
    assert _what_the_policy_refuses(html) == []
    # Swagger UI starts from a script file of this origin, not from an inline block.
    start_up = re.findall(r"""<script\b[^>]*\bsrc=["']([^"']*script[^"']*)["']""", html)
    assert start_up, html
    script = browser.get(start_up[0].replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


@pytest.mark.django_db
def test_the_one_tap_link_page_carries_the_policy_and_passes_it(
    calling_order: Any,  # noqa: F811 - the fixture imported above
) -> None:
    offer = calling_order.offers.first()
    response = BrowserClient().get(f"/o/{offer.token}")
    assert response.status_code == 200
    _assert_strict_policy(response)
    html = response.content.decode()
    assert _what_the_policy_refuses(html) == []
    assert "dispatch/offer.css" in html
    assert BrowserClient().get("/static/dispatch/offer.css").status_code == 200


def test_the_checks_find_what_they_look_for() -> None:
    refused = _what_the_policy_refuses(
        '<script>x()</script><style>a{}</style><p style="x"><a onclick="y()" '
        'href="javascript:z()"><div hx-on:click="w()">'
    )
    assert len(refused) == 6
    assert _what_the_policy_refuses('<script src="/static/a.js"></script><p class="x">') == []
