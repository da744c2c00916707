"""The Twilio gateway through the real ``twilio`` client against a local fake Twilio."""

import io
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from twilio.rest import Client

from messaging.gateways import (
    ConsoleGateway,
    GatewayError,
    SendResult,
    SimulatorGateway,
    SmsGateway,
    TwilioGateway,
    build_gateway,
    is_permanent_failure,
)
from tests.fakes.twilio_server import FakeTwilio

ACCOUNT_SID = "AC" + "a1" * 16
AUTH_TOKEN = "secret-token"
SENDER = "+15005550006"
SERVICE_SID = "MG" + "b2" * 16
WORKER = "+79001234567"
SID = re.compile(r"^SM[0-9a-f]{32}$")


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN) as server:
        yield server


@pytest.fixture
def make_gateway(fake: FakeTwilio) -> Callable[..., TwilioGateway]:
    def make(**overrides: object) -> TwilioGateway:
        config: dict[str, object] = {
            "account_sid": ACCOUNT_SID,
            "auth_token": AUTH_TOKEN,
            "from_number": SENDER,
            "api_base": fake.base_url,
            "timeout": 5,
        }
        config.update(overrides)
        return TwilioGateway(**config)  # type: ignore[arg-type]

    return make


def _send_error(gateway: SmsGateway, to: str = WORKER) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        gateway.send(to=to, body="YES K7Q?")
    return caught.value


def test_send_returns_the_sid_twilio_stored(fake: FakeTwilio, make_gateway) -> None:
    gateway = make_gateway()
    assert isinstance(gateway._rest, Client)

    result = gateway.send(to=WORKER, body="Order K7Q tomorrow 8:00. Reply YES K7Q")

    [message] = fake.messages
    assert result == SendResult(provider_sid=message.sid, status="queued", segments=1)
    assert SID.match(result.provider_sid)
    assert (message.to, message.from_, message.messaging_service_sid) == (WORKER, SENDER, None)
    assert message.body == "Order K7Q tomorrow 8:00. Reply YES K7Q"
    assert message.status_callback is None
    assert message.validity_period is None


def test_cyrillic_body_arrives_intact_and_is_counted(fake: FakeTwilio, make_gateway) -> None:
    body = "Заказ K7Q: завтра в 8:00, склад на Обводном 12, шесть часов. Ответьте ДА K7Q"
    assert len(body) > 70

    result = make_gateway().send(to=WORKER, body=body)

    assert fake.messages[0].body == body
    assert result.segments == 2


def test_messaging_service_is_the_sender_when_configured(fake: FakeTwilio, make_gateway) -> None:
    gateway = make_gateway(from_number=None, messaging_service_sid=SERVICE_SID)

    result = gateway.send(to=WORKER, body="hello")

    [message] = fake.messages
    assert message.messaging_service_sid == SERVICE_SID
    assert message.from_ is None
    # Twilio has not picked a sender yet: the segment count is unknown, not zero.
    assert result == SendResult(provider_sid=message.sid, status="accepted", segments=None)


def test_validity_period_and_status_callback_are_passed_through(
    fake: FakeTwilio, make_gateway
) -> None:
    make_gateway().send(
        to=WORKER,
        body="hello",
        status_callback="https://dispatch.example/webhooks/twilio/status/",
        validity_period=900,
    )

    [message] = fake.messages
    assert message.status_callback == "https://dispatch.example/webhooks/twilio/status/"
    assert message.validity_period == "900"


@pytest.mark.parametrize("validity_period", [0, -5, 36001])
def test_validity_period_outside_twilio_range_is_refused_before_sending(
    fake: FakeTwilio, make_gateway, validity_period: int
) -> None:
    with pytest.raises(ValueError, match="1-36000"):
        make_gateway().send(to=WORKER, body="hello", validity_period=validity_period)
    assert fake.attempts == 0


def test_server_error_is_transient_and_sent_nothing_twice(fake: FakeTwilio, make_gateway) -> None:
    gateway = make_gateway()
    fake.fail_next(status=500)

    error = _send_error(gateway)

    assert error.permanent is False
    assert error.maybe_sent is False
    assert error.status == 500
    # One request reached the server: the client did not retry on its own.
    assert fake.attempts == 1
    assert fake.messages == []

    gateway.send(to=WORKER, body="YES K7Q?")
    assert len(fake.messages) == 1
    assert fake.attempts == 2


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (400, 21610, "Attempt to send to unsubscribed recipient"),
        (400, 21211, "The 'To' number is not a valid phone number."),
        (400, 21614, "'To' number is not a valid mobile number"),
        (400, 21408, "Permission to send an SMS has not been enabled for the region"),
        (400, 21606, "The 'From' phone number provided is not a valid message-capable number"),
        (400, 30006, "Landline or unreachable carrier"),
        (400, 21602, "Message body is required."),
        (404, 20404, "The requested resource was not found"),
    ],
)
def test_permanent_refusals(
    fake: FakeTwilio, make_gateway, status: int, code: int, message: str
) -> None:
    fake.fail_next(status=status, code=code, message=message)

    error = _send_error(make_gateway())

    assert error.permanent is True
    assert (error.status, error.code) == (status, code)
    assert message in str(error)
    assert fake.messages == []


@pytest.mark.parametrize(
    ("status", "code"),
    [(429, 20429), (429, None), (500, None), (502, None), (503, 20503), (400, 21611),
     (400, 30001)],
)
def test_transient_refusals(fake: FakeTwilio, make_gateway, status: int, code: int | None) -> None:
    fake.fail_next(status=status, code=code)

    error = _send_error(make_gateway())

    assert error.permanent is False
    assert error.status == status
    assert fake.attempts == 1


def test_opted_out_recipient_is_permanent_and_flagged(fake: FakeTwilio, make_gateway) -> None:
    fake.blocked_numbers.add(WORKER)

    error = _send_error(make_gateway())

    assert error.permanent is True
    assert error.code == 21610
    assert error.recipient_opted_out is True
    assert fake.messages == []


def test_invalid_number_is_permanent(fake: FakeTwilio, make_gateway) -> None:
    error = _send_error(make_gateway(), to="12345")

    assert (error.permanent, error.code, error.recipient_opted_out) == (True, 21211, False)


def test_scripted_failures_are_served_in_order(fake: FakeTwilio, make_gateway) -> None:
    gateway = make_gateway()
    fake.fail_next(status=429, code=20429)
    fake.fail_next(status=400, code=21610, message="Attempt to send to unsubscribed recipient")

    assert _send_error(gateway).code == 20429
    assert _send_error(gateway).code == 21610
    assert gateway.send(to=WORKER, body="third time").status == "queued"


def test_bad_credentials_are_permanent_with_a_clear_message(fake: FakeTwilio, make_gateway) -> None:
    error = _send_error(make_gateway(auth_token="wrong"))

    assert error.permanent is True
    assert error.status == 401
    assert "credentials" in str(error)
    assert "auth token" in str(error)
    assert fake.messages == []


def test_connection_refused_is_transient_and_not_sent(make_gateway, fake: FakeTwilio) -> None:
    gateway = make_gateway()
    fake.stop()

    error = _send_error(gateway)

    assert error.permanent is False
    assert error.maybe_sent is False
    assert error.status is None


def test_timeout_is_transient_but_may_have_been_sent(fake: FakeTwilio, make_gateway) -> None:
    gateway = make_gateway(timeout=0.3)
    fake.stall_next(1.0)

    error = _send_error(gateway)

    assert error.permanent is False
    # Twilio accepted it before the answer was lost: a blind retry would send it twice.
    assert error.maybe_sent is True
    assert len(fake.messages) == 1
    assert fake.attempts == 1


def test_the_http_client_never_retries_by_itself(make_gateway) -> None:
    session = make_gateway().http_client.session
    for url in ("http://127.0.0.1:1/", "https://api.twilio.com/"):
        retry = session.get_adapter(url).max_retries
        assert retry.total == 0
        assert retry.read is False


def test_without_api_base_requests_go_to_twilio() -> None:
    gateway = TwilioGateway(ACCOUNT_SID, AUTH_TOKEN, from_number=SENDER)
    assert gateway.http_client.api_base is None


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"account_sid": "", "auth_token": AUTH_TOKEN, "from_number": SENDER}, "account SID"),
        ({"account_sid": ACCOUNT_SID, "auth_token": "", "from_number": SENDER}, "auth token"),
        ({"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN}, "from_number"),
        ({"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "from_number": SENDER,
          "timeout": 0}, "timeout"),
    ],
)
def test_twilio_gateway_configuration_errors(config: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TwilioGateway(**config)  # type: ignore[arg-type]


def test_console_gateway_prints_and_returns_a_twilio_shaped_sid() -> None:
    stream = io.StringIO()

    result = ConsoleGateway(stream=stream).send(to=WORKER, body="Заказ K7Q: ДА K7Q")

    assert re.fullmatch(r"SMcon[0-9a-f]{29}", result.provider_sid)
    assert len(result.provider_sid) == 34
    assert result.status == "delivered"
    assert result.segments == 1
    printed = stream.getvalue()
    assert WORKER in printed
    assert "Заказ K7Q: ДА K7Q" in printed
    assert "UCS-2" in printed


def test_console_gateway_defaults_to_the_current_stdout(capsys) -> None:
    ConsoleGateway().send(to=WORKER, body="hello")
    assert "hello" in capsys.readouterr().out


def test_simulator_gateway_sends_nothing(capsys) -> None:
    first = SimulatorGateway().send(to=WORKER, body="a" * 161)
    second = SimulatorGateway().send(to=WORKER, body="hello")

    assert re.fullmatch(r"SMsim[0-9a-f]{29}", first.provider_sid)
    assert first.provider_sid != second.provider_sid
    assert (first.status, first.segments) == ("delivered", 2)
    assert capsys.readouterr() == ("", "")


def test_every_backend_satisfies_the_protocol() -> None:
    backends = [
        SimulatorGateway(),
        ConsoleGateway(),
        TwilioGateway(ACCOUNT_SID, AUTH_TOKEN, from_number=SENDER),
    ]
    assert all(isinstance(backend, SmsGateway) for backend in backends)


def test_build_gateway_by_name() -> None:
    twilio_settings = {
        "account_sid": ACCOUNT_SID,
        "auth_token": AUTH_TOKEN,
        "from_number": SENDER,
        "messaging_service_sid": None,
        "api_base": None,
        "timeout": None,
    }
    assert isinstance(build_gateway("simulator"), SimulatorGateway)
    assert isinstance(build_gateway(" Console "), ConsoleGateway)
    # The same settings serve every backend: the simulator ignores the Twilio ones.
    assert isinstance(build_gateway("simulator", **twilio_settings), SimulatorGateway)
    gateway = build_gateway("twilio", **twilio_settings)
    assert isinstance(gateway, TwilioGateway)
    assert gateway.http_client.timeout == 10


def test_build_gateway_rejects_unknown_names_and_settings() -> None:
    with pytest.raises(ValueError, match=r"unknown SMS backend 'smtp'.*console, simulator, twilio"):
        build_gateway("smtp")
    with pytest.raises(ValueError, match="auth_tokn"):
        build_gateway("simulator", auth_tokn="x")
    with pytest.raises(ValueError, match="twilio SMS backend needs: account_sid, auth_token"):
        build_gateway("twilio", account_sid=None)
    with pytest.raises(ValueError, match="from_number"):
        build_gateway("twilio", account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN)


def test_messaging_cores_import_nothing_from_django() -> None:
    probe = (
        "import sys, messaging.gateways, messaging.grammar, messaging.segments;"
        "sys.exit(any(name.split('.')[0] == 'django' for name in sys.modules))"
    )
    root = Path(__file__).resolve().parents[2]
    assert subprocess.run([sys.executable, "-c", probe], cwd=root, check=False).returncode == 0


@pytest.mark.parametrize(
    ("status", "code", "permanent"),
    [
        (400, 21610, True),
        (400, 21211, True),
        (400, 21614, True),
        (403, 21408, True),
        (400, 30006, True),
        (400, 21606, True),
        (401, 20003, True),
        (400, 12345, True),
        (500, None, False),
        (503, 20503, False),
        (429, 20429, False),
        (400, 21611, False),
        (400, 30001, False),
        (408, None, False),
        (None, None, False),
        (None, 30006, True),  # a status callback's ErrorCode
        (None, 30003, False),
    ],
)
def test_failure_classification(status: int | None, code: int | None, permanent: bool) -> None:
    assert is_permanent_failure(status, code) is permanent
