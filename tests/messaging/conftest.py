"""Fixtures for the messaging tests: a fake Twilio, signed webhook posts, a worker."""

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client as HttpClient
from twilio.request_validator import RequestValidator

from tests.conftest import TWILIO_ACCOUNT_SID as ACCOUNT_SID
from tests.conftest import TWILIO_AUTH_TOKEN as AUTH_TOKEN
from workers.models import Worker


@pytest.fixture
def signed_post(settings: Any) -> Callable[..., Any]:
    """POST a form to a webhook with a valid X-Twilio-Signature (token set for the test)."""
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    http = HttpClient()

    def post(path: str, params: dict[str, str], *, signature: str | None = None) -> Any:
        url = f"http://testserver{path}"
        if signature is None:
            signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
        return http.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)

    return post


@pytest.fixture
def worker(db: Any) -> Any:
    return Worker.objects.create(
        name="Ivan Petrov", phone="+79110000001", status="active", skills=["loading"],
        lat=59.93, lng=30.31, vetted_at="2026-01-01T00:00:00Z", language="ru",
    )


_sid_counter = iter(range(1, 10**9))


def inbound_params(body: str, sender: str = "+79110000001", sid: str | None = None) -> dict:
    return {
        "MessageSid": sid or f"SM{next(_sid_counter):032x}",
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "To": "+15005550006",
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "ApiVersion": "2010-04-01",
    }
