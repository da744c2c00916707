"""The Twilio webhooks, called the way Twilio calls them: signed form posts."""

from typing import Any
from xml.etree import ElementTree

import pytest
from django.db import connection
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from messaging.models import Direction, Message, OptOut, Status

from .conftest import inbound_params

pytestmark = pytest.mark.django_db

SMS = "/webhooks/twilio/sms/"
STATUS = "/webhooks/twilio/status/"


def test_twilio_reference_signature_vector() -> None:
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
        "Caller": "+14158675309",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert RequestValidator("12345").compute_signature(url, params) == (
        "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    )


def test_a_bad_signature_is_403_and_stores_nothing(signed_post: Any, worker: Any) -> None:
    response = signed_post(SMS, inbound_params("YES K7Q"), signature="bm90LWEtc2lnbmF0dXJl")
    assert response.status_code == 403
    assert not Message.objects.exists()


def test_a_missing_signature_is_403(settings: Any, client: Any, worker: Any) -> None:
    settings.TWILIO_AUTH_TOKEN = "test-token"
    response = client.post(SMS, inbound_params("HELP"))
    assert response.status_code == 403
    assert not Message.objects.exists()


def test_a_signature_over_the_public_url_validates_behind_a_proxy(
    settings: Any, client: Any, worker: Any
) -> None:
    settings.TWILIO_AUTH_TOKEN = "test-token"
    settings.PUBLIC_BASE_URL = "https://dispatch.example.com"
    params = inbound_params("HELP")
    signature = RequestValidator("test-token").compute_signature(
        "https://dispatch.example.com" + SMS, params
    )
    response = client.post(SMS, params, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 200


def test_the_answer_is_twiml(signed_post: Any, worker: Any) -> None:
    response = signed_post(SMS, inbound_params("HELP"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?><Response>')
    assert b"<Message>" in response.content


def test_the_same_message_sid_three_times_has_one_effect(signed_post: Any, worker: Any) -> None:
    params = inbound_params("HELP", sid="SM" + "a" * 32)
    answers = [signed_post(SMS, params) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[0].content == answers[1].content == answers[2].content
    assert Message.objects.filter(direction=Direction.IN).count() == 1
    assert Message.objects.filter(direction=Direction.OUT).count() == 1


@pytest.mark.parametrize("returning", [True, False], ids=["on-conflict", "savepoint"])
def test_a_retry_is_stored_once_with_or_without_insert_returning(
    signed_post: Any, worker: Any, monkeypatch: Any, returning: bool
) -> None:
    """PostgreSQL and SQLite 3.35+ skip a seen sid with ON CONFLICT DO NOTHING RETURNING; an
    older SQLite catches the unique violation inside a savepoint. Both store a retry once."""

    if not returning and connection.vendor != "sqlite":
        pytest.skip("only an old SQLite inserts without RETURNING")
    monkeypatch.setattr(connection.features, "can_return_columns_from_insert", returning)
    params = inbound_params("HELP", sid="SM" + "f" * 32)
    answers = [signed_post(SMS, params) for _ in range(2)]
    assert answers[0].content == answers[1].content
    assert b"<Message>" in answers[0].content
    assert Message.objects.filter(direction=Direction.IN).count() == 1
    assert Message.objects.filter(direction=Direction.OUT).count() == 1


def test_stop_sent_twice_as_retries_records_one_opt_out(signed_post: Any, worker: Any) -> None:
    params = inbound_params("STOP", sid="SM" + "b" * 32)
    signed_post(SMS, params)
    signed_post(SMS, params)
    assert OptOut.objects.count() == 1
    assert Message.objects.filter(direction=Direction.IN).count() == 1


def test_an_unknown_sender_gets_a_polite_reply_and_is_stored(signed_post: Any) -> None:
    response = signed_post(SMS, inbound_params("Hello, is there work?", sender="+79995550000"))
    assert response.status_code == 200
    assert b"JOIN" in response.content
    stored = Message.objects.get(direction=Direction.IN)
    assert stored.phone == "+79995550000"
    assert stored.worker is None
    assert stored.status == Status.RECEIVED


def test_an_unknown_russian_sender_is_answered_in_russian(signed_post: Any) -> None:
    response = signed_post(SMS, inbound_params("Здравствуйте, есть работа?", sender="+79995550001"))
    assert "Номер не найден".encode() in response.content


def test_short_codes_and_names_are_stored_as_given(signed_post: Any) -> None:
    signed_post(SMS, inbound_params("Your code is 1234", sender="MEGAFON"))
    signed_post(SMS, inbound_params("Balance 10", sender="900"))
    assert set(Message.objects.filter(direction=Direction.IN).values_list("phone", flat=True)) == {
        "MEGAFON", "900"
    }


def test_a_nul_character_does_not_lose_the_message(signed_post: Any, worker: Any) -> None:
    response = signed_post(SMS, inbound_params("YES\x00 K7Q"))
    assert response.status_code == 200
    stored = Message.objects.get(direction=Direction.IN)
    assert stored.body == "YES\ufffd K7Q"


def test_lone_yes_from_an_opted_out_number_opts_back_in(signed_post: Any, worker: Any) -> None:
    signed_post(SMS, inbound_params("STOP"))
    assert OptOut.objects.exists()
    response = signed_post(SMS, inbound_params("yes"))
    assert not OptOut.objects.exists()
    assert b"<Message>" in response.content


@pytest.mark.parametrize("word", ["OK", "1", "+", "Y", "DA", "ДА", "да"])
def test_another_lone_accept_word_from_an_opted_out_number_keeps_it_opted_out(
    signed_post: Any, worker: Any, word: str
) -> None:
    # Twilio re-subscribes a number on START, UNSTOP or YES only: after "OK" the carrier
    # would still block it, so the application must not believe it may text it again.
    signed_post(SMS, inbound_params("STOP"))
    response = signed_post(SMS, inbound_params(word))
    assert OptOut.objects.filter(phone=worker.phone).exists()
    assert b"<Message>" not in response.content
    assert Message.objects.filter(direction=Direction.IN, body=word).exists()


def test_a_retry_of_a_message_answered_before_stop_is_not_answered_again(
    signed_post: Any, worker: Any
) -> None:
    start = inbound_params("START")
    assert b"<Message>" in signed_post(SMS, start).content
    signed_post(SMS, inbound_params("STOP"))
    assert b"<Message>" not in signed_post(SMS, start).content


@pytest.mark.parametrize(
    "params",
    [
        {"MessageSid": "SM" + "1" * 32, "Body": "YES"},
        {"MessageSid": "SM" + "2" * 32, "From": "", "Body": "hello"},
        {"MessageSid": "SM" + "3" * 32, "From": "   ", "Body": "hello"},
    ],
    ids=["no From", "empty From", "blank From"],
)
def test_a_message_without_a_sender_is_stored_and_answered(
    signed_post: Any, params: dict[str, str]
) -> None:
    response = signed_post(SMS, params)
    assert response.status_code == 200
    assert b"<Response>" in response.content
    stored = Message.objects.get(direction=Direction.IN, provider_sid=params["MessageSid"])
    assert (stored.phone, stored.body) == ("", params["Body"])


def test_a_reply_naming_a_worker_with_control_characters_is_well_formed_xml(
    signed_post: Any, worker: Any
) -> None:
    worker.name = "Ivan\x01 Petrov\x1b"
    worker.save()
    response = signed_post(SMS, inbound_params("JOIN Ivan Petrov"))
    assert response.status_code == 200
    reply = ElementTree.fromstring(response.content).findtext("Message")
    assert reply is not None
    assert "Ivan Petrov" in reply


def test_help_is_answered_in_the_worker_language(signed_post: Any, worker: Any) -> None:
    response = signed_post(SMS, inbound_params("?"))
    assert "ДА".encode() in response.content


@pytest.mark.parametrize(
    ("sequence", "final"),
    [
        (["sent", "delivered"], Status.DELIVERED),
        (["delivered", "sent"], Status.DELIVERED),
        (["delivered", "failed"], Status.DELIVERED),
        (["undelivered", "delivered"], Status.UNDELIVERED),
        (["sending", "queued", "sent"], Status.SENT),
        (["failed", "sent", "delivered"], Status.FAILED),
    ],
)
def test_status_callbacks_out_of_order_end_in_the_right_state(
    signed_post: Any, worker: Any, sequence: list[str], final: str
) -> None:
    message = Message.objects.create(
        direction=Direction.OUT, phone="+79110000001", body="x", encoding="GSM-7",
        status=Status.SENT, provider_sid="SM" + "c" * 32, created_at="2026-11-23T10:00:00Z",
    )
    for status in sequence:
        params = {"MessageSid": message.provider_sid, "MessageStatus": status,
                  "AccountSid": "AC" + "0" * 32}
        if status in ("failed", "undelivered"):
            params["ErrorCode"] = "30003"
        assert signed_post(STATUS, params).status_code == 204
    message.refresh_from_db()
    assert message.status == final


@pytest.mark.parametrize("code", ["99999999999999999999", "-5", "2147483648"])
def test_a_status_callback_with_an_impossible_error_code_still_records_the_failure(
    signed_post: Any, worker: Any, code: str
) -> None:
    message = Message.objects.create(
        direction=Direction.OUT, phone="+79110000001", body="x", encoding="GSM-7",
        status=Status.SENT, provider_sid="SM" + "f" * 32, created_at="2026-11-23T10:00:00Z",
    )
    params = {"MessageSid": message.provider_sid, "MessageStatus": "failed", "ErrorCode": code}
    assert signed_post(STATUS, params).status_code == 204
    message.refresh_from_db()
    assert (message.status, message.error_code) == (Status.FAILED, None)


def test_a_status_callback_for_an_unknown_sid_is_acknowledged(signed_post: Any) -> None:
    response = signed_post(STATUS, {"MessageSid": "SM" + "d" * 32, "MessageStatus": "delivered"})
    assert response.status_code == 204


def test_a_status_callback_with_a_bad_signature_changes_nothing(
    signed_post: Any, worker: Any
) -> None:
    message = Message.objects.create(
        direction=Direction.OUT, phone="+79110000001", body="x", encoding="GSM-7",
        status=Status.SENT, provider_sid="SM" + "e" * 32, created_at="2026-11-23T10:00:00Z",
    )
    response = signed_post(
        STATUS, {"MessageSid": message.provider_sid, "MessageStatus": "failed"},
        signature="AAAA",
    )
    assert response.status_code == 403
    message.refresh_from_db()
    assert message.status == Status.SENT


@hsettings(max_examples=200, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(raw=st.binary(max_size=400))
def test_any_bytes_as_a_body_are_stored_and_answered(signed_post: Any, raw: bytes) -> None:
    body = raw.decode("utf-8", errors="replace")
    before = Message.objects.filter(direction=Direction.IN).count()
    response = signed_post(SMS, inbound_params(body, sender="+79990001122"))
    assert response.status_code == 200
    assert Message.objects.filter(direction=Direction.IN).count() == before + 1
