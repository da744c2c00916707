"""Fixtures shared by the whole suite.

Tasks run eagerly unless a test starts a real Celery worker; the suite never reaches the
network (the fake Twilio and Nominatim servers listen on loopback).
"""

import importlib.util
import os
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient

from clients.services import client_create, site_create
from config.celery import app as celery_app
from core import clock
from dispatch.services import order_place
from franchises.models import Franchise
from franchises.services import user_create
from tests.fakes.twilio_server import FakeTwilio

# Hypothesis times each example against the wall clock (a 200 ms deadline, a "generation is
# slow" health check): on a loaded machine that fails tests that are right. Speed is measured
# in bench/, never in tests.
hypothesis_settings.register_profile(
    "project", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("project")


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """PostgreSQL-, Redis- and browser tests skip on a laptop but fail in CI if what they
    need is missing: REQUIRE_POSTGRES / REQUIRE_REDIS / REQUIRE_BROWSER turn a silent skip
    into an error."""
    for item in items:
        if "postgres" in item.keywords:
            item.fixturenames.insert(0, "_needs_postgres")
        if "redis" in item.keywords:
            item.fixturenames.insert(0, "_needs_redis")
        if "browser" in item.keywords:
            item.fixturenames.insert(0, "_needs_browser")


@pytest.fixture
def _needs_postgres(db: Any) -> None:
    if connection.vendor != "postgresql":
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail("REQUIRE_POSTGRES is set but the test database is not PostgreSQL")
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


@pytest.fixture
def _needs_redis() -> None:
    if not os.environ.get("REDIS_URL"):
        if os.environ.get("REQUIRE_REDIS"):
            pytest.fail("REQUIRE_REDIS is set but REDIS_URL is not")
        pytest.skip("needs Redis (set REDIS_URL)")


@pytest.fixture
def _needs_browser() -> None:
    """Debian's chromium and Playwright's Python package (no browser is ever downloaded)."""

    missing = [what for what, absent in (
        ("/usr/bin/chromium", not os.path.exists("/usr/bin/chromium")),
        ("the playwright package", importlib.util.find_spec("playwright") is None),
    ) if absent]
    if missing:
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"REQUIRE_BROWSER is set but {' and '.join(missing)} is missing")
        pytest.skip(f"needs {' and '.join(missing)} (apt-get install chromium)")


@pytest.fixture(autouse=True)
def _eager_tasks(settings: Any) -> None:
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    settings.SMS_BACKEND = "simulator"
    settings.GEOCODER = "offline"
    settings.TWILIO_AUTH_TOKEN = ""
    settings.PUBLIC_BASE_URL = ""


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """PBKDF2's million rounds cost 0.4 s a login; tests make hundreds of them."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# The fake Twilio's account: what settings point the real twilio client at.
TWILIO_ACCOUNT_SID = "AC" + "0" * 32
TWILIO_AUTH_TOKEN = "test-token"


@pytest.fixture
def fake_twilio(settings: Any) -> Iterator[FakeTwilio]:
    """The real twilio client, pointed at a local server that answers like Twilio."""
    with FakeTwilio(account_sid=TWILIO_ACCOUNT_SID, auth_token=TWILIO_AUTH_TOKEN) as fake:
        settings.SMS_BACKEND = "twilio"
        settings.TWILIO_ACCOUNT_SID = TWILIO_ACCOUNT_SID
        settings.TWILIO_AUTH_TOKEN = TWILIO_AUTH_TOKEN
        settings.TWILIO_FROM_NUMBER = "+15005550006"
        settings.TWILIO_API_BASE = fake.base_url
        settings.SMS_SENDER_RATE_PER_SECOND = 1000
        yield fake


@pytest.fixture
def hq_franchise(db: Any) -> Any:
    return Franchise.objects.create(name="HQ", kind=Franchise.Kind.HQ, city="Moscow")


def _box(lat: float, lng: float, half: float = 0.3) -> dict[str, Any]:
    return {
        "type": "Polygon",
        "coordinates": [[
            [lng - half, lat - half], [lng + half, lat - half], [lng + half, lat + half],
            [lng - half, lat + half], [lng - half, lat - half],
        ]],
    }


@pytest.fixture
def territory_box() -> Any:
    return _box


@pytest.fixture
def spb(db: Any) -> Any:
    return Franchise.objects.create(
        name="Saint Petersburg office",
        kind=Franchise.Kind.OFFICIAL_OFFICE,
        city="Saint Petersburg",
        territory=_box(59.94, 30.31),
    )


@pytest.fixture
def nsk(db: Any) -> Any:
    return Franchise.objects.create(
        name="Novosibirsk office",
        kind=Franchise.Kind.OFFICIAL_OFFICE,
        city="Novosibirsk",
        timezone="Asia/Novosibirsk",
        territory=_box(55.03, 82.92),
    )


def _user(username: str, role: str, franchise: Any = None) -> Any:
    return user_create(username=username, password="pw-12345", role=role, franchise=franchise)


@pytest.fixture
def hq_user(db: Any) -> Any:
    return _user("hq", "hq")


@pytest.fixture
def spb_user(spb: Any) -> Any:
    return _user("spb-manager", "franchise", spb)


@pytest.fixture
def nsk_user(nsk: Any) -> Any:
    return _user("nsk-manager", "franchise", nsk)


@pytest.fixture
def spb_foreman(spb: Any) -> Any:
    return _user("spb-foreman", "foreman", spb)


def _api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def hq_api(hq_user: Any) -> APIClient:
    return _api(hq_user)


@pytest.fixture
def spb_api(spb_user: Any) -> APIClient:
    return _api(spb_user)


@pytest.fixture
def nsk_api(nsk_user: Any) -> APIClient:
    return _api(nsk_user)


@pytest.fixture
def foreman_api(spb_foreman: Any) -> APIClient:
    return _api(spb_foreman)


@pytest.fixture
def anon_api() -> APIClient:
    return APIClient()


@pytest.fixture
def spb_client(spb: Any) -> Any:
    return client_create(name="Lenta warehouse", franchise=spb, phone="+78125550101")


@pytest.fixture
def spb_site(spb_client: Any) -> Any:
    return site_create(
        client=spb_client, address="Sofiyskaya 6, Saint Petersburg", lat=59.87, lng=30.42
    )


@pytest.fixture
def tomorrow_9am() -> Any:
    start = clock.now().replace(hour=6, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return start


@pytest.fixture
def spb_order(spb_client: Any, spb_site: Any, tomorrow_9am: Any) -> Any:
    return order_place(
        client=spb_client,
        site=spb_site,
        work_type="loading",
        headcount=10,
        start=tomorrow_9am,
        hours=Decimal(6),
    )
