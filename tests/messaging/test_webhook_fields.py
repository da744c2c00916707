"""Every signed webhook post is answered and every inbound SMS stored, whatever its fields hold:
NULs, lone surrogates, ids longer than any column, text where a number belongs."""

import itertools
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client as HttpClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from messaging.models import Direction, Message, Status

from .conftest import AUTH_TOKEN, inbound_params

pytestmark = pytest.mark.django_db

SMS = "/webhooks/twilio/sms/"
STATUS = "/webhooks/twilio/status/"
VOICE = "/webhooks/twilio/voice/"

_fresh = itertools.count(1)

# Any text, and text made mostly of what databases and encoders refuse.
any_text = st.one_of(
    st.text(max_size=90),
    st.text(alphabet=st.sampled_from(["\x00", "\ud800", "\udfff", "A", "7", "+", " "]),
            max_size=80),
    st.integers(min_value=33, max_value=400).map(lambda n: "S" * n),
)


def _as_received(value: str) -> str:
    """What the server reads from the form: invalid UTF-8 (an encoded surrogate) becomes U+FFFD."""
    return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def signed_form_post(path: str, fields: dict[str, str], query: str = "") -> Any:
    """POST the fields as a form body, signed as Twilio signs what it sends."""
    body = urlencode([(k, v.encode("utf-8", "surrogatepass")) for k, v in fields.items()])
    url = f"http://testserver{path}{query}"
    seen = {k: _as_received(v) for k, v in fields.items()}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, seen)
    return HttpClient().post(
        path + query, data=body.encode("ascii"),
        content_type="application/x-www-form-urlencoded", HTTP_X_TWILIO_SIGNATURE=signature,
    )


def _inbound(sid: str | None, others: dict[str, str]) -> dict[str, str]:
    fields = dict(others)
    fields["MessageSid"] = sid if sid is not None else f"SM{next(_fresh) + 10**6:032x}"
    return fields


@hsettings(max_examples=120, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    sid=st.one_of(st.none(), any_text),
    others=st.fixed_dictionaries(
        {"From": any_text, "To": any_text, "Body": any_text, "SmsSid": any_text,
         "AccountSid": any_text, "NumMedia": any_text},
    ),
)
def test_every_signed_inbound_sms_is_stored_once_whatever_its_fields_hold(
    settings: Any, worker: Any, sid: str | None, others: dict[str, str]
) -> None:
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    fields = _inbound(sid, others)
    before = Message.objects.filter(direction=Direction.IN).count()
    response = signed_form_post(SMS, fields)
    assert response.status_code == 200
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?><Response>')
    assert Message.objects.filter(direction=Direction.IN).count() == before + 1
    stored = Message.objects.filter(direction=Direction.IN).order_by("-id").first()
    assert stored.body == _as_received(fields["Body"]).replace("\x00", "\ufffd")


@hsettings(max_examples=80, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(fields=st.fixed_dictionaries(
    {"MessageSid": any_text, "MessageStatus": any_text, "ErrorCode": any_text,
     "SmsSid": any_text, "SmsStatus": any_text},
))
def test_every_signed_status_callback_is_acknowledged(
    settings: Any, fields: dict[str, str]
) -> None:
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    assert signed_form_post(STATUS, fields).status_code == 204


@hsettings(max_examples=80, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    fields=st.fixed_dictionaries({"From": any_text, "CallSid": any_text, "Digits": any_text}),
    token=any_text,
)
def test_every_signed_voice_call_is_answered_with_twiml(
    settings: Any, worker: Any, fields: dict[str, str], token: str
) -> None:
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    query = "?" + urlencode({"offer": token.encode("utf-8", "surrogatepass")})
    response = signed_form_post(VOICE, fields, query=query)
    assert response.status_code == 200
    assert b"<Response>" in response.content


def test_a_sid_longer_than_its_column_is_stored_raw_and_the_message_kept(
    signed_post: Any, worker: Any
) -> None:
    long_sid = "SM" + "a" * 63
    response = signed_post(SMS, inbound_params("YES K7Q", sid=long_sid))
    assert response.status_code == 200
    stored = Message.objects.get(direction=Direction.IN)
    assert stored.provider_sid is None
    assert stored.raw == {"MessageSid": long_sid}
    assert stored.worker == worker


def test_the_raw_fields_are_in_the_messages_api_for_hq_to_read(
    signed_post: Any, worker: Any, hq_api: Any
) -> None:
    long_sid = "SM" + "c" * 63
    signed_post(SMS, inbound_params("YES K7Q", sid=long_sid))
    signed_post(SMS, inbound_params("HELP"))
    listed = hq_api.get("/api/v1/messages/", {"direction": "in"}).json()["results"]
    raws = sorted((row["body"], row["raw"]) for row in listed)
    assert raws == [("HELP", {}), ("YES K7Q", {"MessageSid": long_sid})]


def test_a_nul_in_the_sender_and_the_sid_keeps_the_message_and_the_raw_fields(
    signed_post: Any, worker: Any
) -> None:
    sid = "SM" + "b" * 31 + "\x00"
    response = signed_post(SMS, inbound_params("HELP", sid=sid, sender="+7911\x000000001"))
    assert response.status_code == 200
    stored = Message.objects.get(direction=Direction.IN)
    assert stored.raw == {"MessageSid": "SM" + "b" * 31 + "\ufffd",
                          "From": "+7911\ufffd0000001"}
    assert stored.status == Status.RECEIVED
    assert "\x00" not in stored.phone


def test_a_status_callback_with_a_nul_in_its_sid_is_acknowledged(signed_post: Any) -> None:
    params = {"MessageSid": "SM\x00" + "c" * 31, "MessageStatus": "failed"}
    assert signed_post(STATUS, params).status_code == 204


def test_an_unsigned_post_with_odd_fields_is_refused_and_stores_nothing(
    settings: Any, worker: Any
) -> None:
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    response = HttpClient().post(SMS, {"MessageSid": "x" * 70, "From": "\x00", "Body": "YES"})
    assert response.status_code == 403
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "path",
    ["/o/%00abc", "/o/abc%00", "/o/" + "A" * 33, "/o/%F0%9F%98%80", "/o/a%20b", "/o/%ED%A0%80"],
)
def test_the_one_tap_page_answers_404_to_a_malformed_token(client: Any, path: str) -> None:
    assert client.get(path).status_code == 404
    assert client.post(path, {"answer": "accept"}).status_code == 404
