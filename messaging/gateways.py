"""Sending one SMS: a small interface and its backends (Twilio, console, simulator).

No Django import: a backend gets its whole configuration as constructor arguments, so it can be
built from settings, from a test, or from a script alike. Every failure surfaces as a
``GatewayError`` that says whether trying again can help.
"""

from __future__ import annotations

import inspect
import sys
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TextIO, runtime_checkable

import requests
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client as TwilioRestClient

from messaging.segments import count_segments

TWILIO_API_ORIGIN = "https://api.twilio.com"
VALIDITY_PERIOD_RANGE = range(1, 36001)  # seconds; Twilio's accepted ValidityPeriod values

# Twilio error codes that no retry will fix, whether Twilio refuses the request (nothing is sent)
# or reports them later as a status callback's ErrorCode (30006).
PERMANENT_TWILIO_CODES = frozenset({
    21211,  # invalid 'To' number
    21408,  # no permission to send to that region
    21606,  # the 'From' number cannot send SMS
    21610,  # recipient replied STOP: Twilio refuses until they reply START
    21614,  # 'To' is not a mobile number
    30006,  # landline or unreachable carrier
})
# Twilio error codes that mean "not now": the same request can succeed later.
TRANSIENT_TWILIO_CODES = frozenset({
    20429,  # too many concurrent requests (HTTP 429)
    21611,  # the sender's queue is full
    30001,  # queue overflow
})
# HTTP statuses worth a retry whatever the code (besides every 5xx): rate limit, request timeout.
TRANSIENT_HTTP_STATUSES = frozenset({408, 429})
AUTHENTICATION_CODE = 20003
OPTED_OUT_CODE = 21610


@dataclass(frozen=True, slots=True)
class SendResult:
    """What the provider answered for an accepted message. ``segments`` is None when the
    provider does not know yet (a Twilio Messaging Service assigns the sender later)."""

    provider_sid: str
    status: str
    segments: int | None


class GatewayError(Exception):
    """Sending failed.

    ``permanent``: retrying the same request cannot succeed (bad number, opted out, bad
    credentials); otherwise it is worth a retry with backoff. ``maybe_sent``: the request may have
    reached the provider and been accepted even though no answer came back (a read timeout, a
    dropped connection); a retry may then deliver the message twice, which the caller weighs.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        code: int | None = None,
        status: int | None = None,
        maybe_sent: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.code = code
        self.status = status
        self.maybe_sent = maybe_sent

    @property
    def recipient_opted_out(self) -> bool:
        """True when the provider refused because the recipient opted out (Twilio 21610)."""
        return self.code == OPTED_OUT_CODE

    def __repr__(self) -> str:
        return (
            f"GatewayError({self.message!r}, permanent={self.permanent}, code={self.code}, "
            f"status={self.status}, maybe_sent={self.maybe_sent})"
        )


@runtime_checkable
class SmsGateway(Protocol):
    def send(
        self,
        *,
        to: str,
        body: str,
        status_callback: str | None = None,
        validity_period: int | None = None,
    ) -> SendResult:
        """Hand one SMS to the provider. Returns once it is accepted; raises GatewayError."""
        ...


def is_permanent_failure(status: int | None, code: int | None) -> bool:
    """Classify a provider refusal: True if retrying cannot help.

    Known transient codes win, then known permanent codes; then HTTP 5xx, 408 and 429 are
    transient and any other 4xx is permanent. No status at all (nothing came back, or a status
    callback's ErrorCode alone) is transient unless the code is a known permanent one.
    """
    if code in TRANSIENT_TWILIO_CODES:
        return False
    if code in PERMANENT_TWILIO_CODES:
        return True
    if status is None or status >= 500 or status in TRANSIENT_HTTP_STATUSES:
        return False
    return 400 <= status < 500


def _validate_validity_period(validity_period: int | None) -> None:
    if validity_period is not None and validity_period not in VALIDITY_PERIOD_RANGE:
        raise ValueError(
            f"validity_period must be 1-36000 seconds, got {validity_period}; "
            "an offer whose useful life is over should not be sent at all"
        )


class _RedirectingHttpClient(TwilioHttpClient):
    """TwilioHttpClient that never retries, and optionally sends to another API origin.

    requests retries nothing by default, but ``max_retries`` or a future default could make the
    adapter re-send a POST whose answer was lost, and Twilio would send the SMS twice. The
    adapters are mounted explicitly with zero retries for both schemes.
    """

    def __init__(self, *, api_base: str | None, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.api_base = api_base.rstrip("/") if api_base else None
        if self.session is not None:
            for scheme in ("http://", "https://"):
                self.session.mount(scheme, HTTPAdapter(max_retries=0))

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if self.api_base and url.startswith(TWILIO_API_ORIGIN):
            url = self.api_base + url[len(TWILIO_API_ORIGIN):]
        return super().request(method, url, *args, **kwargs)


def _may_have_arrived(error: requests.RequestException) -> bool:
    # A refused or timed-out connection never carried the request; anything later might have.
    if isinstance(error, requests.ConnectTimeout):
        return False
    if isinstance(error, requests.ConnectionError):
        reason = getattr(error.args[0], "reason", None) if error.args else None
        text = f"{type(reason).__name__} {reason}" if reason is not None else str(error)
        if "NewConnectionError" in text or "NameResolutionError" in text:
            return False
    return True


def _segments_from(num_segments: object) -> int | None:
    try:
        segments = int(str(num_segments))
    except ValueError:
        return None
    # A Messaging Service answers 0 until it has picked a sender: unknown, not free.
    return segments if segments > 0 else None


class TwilioGateway:
    """Sends through Twilio's Messages API with the official ``twilio`` client.

    ``messaging_service_sid``, when given, is the sender (Twilio picks the number); otherwise
    ``from_number``. ``api_base`` replaces ``https://api.twilio.com`` (a local fake server in
    tests). The client never retries by itself: retries are the caller's, guided by
    ``GatewayError.permanent`` and ``maybe_sent``. Not shared between threads: build one per
    worker process or thread.
    """

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        api_base: str | None = None,
        timeout: float = 10,
    ) -> None:
        if not account_sid or not auth_token:
            raise ValueError("TwilioGateway needs an account SID and an auth token")
        if not from_number and not messaging_service_sid:
            raise ValueError("TwilioGateway needs a from_number or a messaging_service_sid")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.http_client = _RedirectingHttpClient(api_base=api_base, timeout=timeout)
        # environment={} keeps TWILIO_* variables (region, edge) from changing where we send.
        self._rest = TwilioRestClient(
            account_sid, auth_token, http_client=self.http_client, environment={}
        )

    def send(
        self,
        *,
        to: str,
        body: str,
        status_callback: str | None = None,
        validity_period: int | None = None,
    ) -> SendResult:
        """Create one Message. Raises GatewayError (see its flags) on any failure, ValueError
        for a validity_period outside 1-36000 seconds."""
        _validate_validity_period(validity_period)
        sender: dict[str, str] = (
            {"messaging_service_sid": self.messaging_service_sid}
            if self.messaging_service_sid else {"from_": self.from_number or ""}
        )
        optional: dict[str, object] = {}
        if status_callback:
            optional["status_callback"] = status_callback
        if validity_period is not None:
            optional["validity_period"] = validity_period
        try:
            message = self._rest.messages.create(to=to, body=body, **sender, **optional)
        except (TwilioRestException, TwilioServiceException) as error:
            raise self._refusal(error) from error
        except requests.RequestException as error:
            maybe_sent = _may_have_arrived(error)
            raise GatewayError(
                f"Twilio unreachable ({type(error).__name__}): {error}",
                permanent=False,
                maybe_sent=maybe_sent,
            ) from error
        except (TwilioException, ValueError) as error:
            # An accepted request whose answer could not be read: the SMS may well be on its way.
            raise GatewayError(
                f"unreadable answer from Twilio: {error}", permanent=False, maybe_sent=True
            ) from error
        return SendResult(
            provider_sid=str(message.sid),
            status=str(message.status),
            segments=_segments_from(message.num_segments),
        )

    @staticmethod
    def _refusal(error: TwilioRestException | TwilioServiceException) -> GatewayError:
        status = error.status
        code = error.code if isinstance(error.code, int) else None
        if isinstance(error, TwilioServiceException):
            detail = error.detail or error.title
        else:
            detail = error.msg
        if status == 401 or code == AUTHENTICATION_CODE:
            detail = (
                f"Twilio rejected the credentials (check the account SID and auth token): "
                f"{detail}"
            )
        return GatewayError(
            f"Twilio refused the message (HTTP {status}, code {code}): {detail}",
            permanent=is_permanent_failure(status, code),
            code=code,
            status=status,
        )


def _fake_sid(prefix: str) -> str:
    # Twilio message SIDs are "SM" + 32 hex characters: 34 in all.
    return prefix + uuid.uuid4().hex[: 34 - len(prefix)]


class SimulatorGateway:
    """Sends nothing anywhere: the stored Message row is the simulated phone's inbox.

    Returns status ``delivered`` at once (there is no network and no status callback to wait
    for) and the segment count the text would cost.
    """

    def send(
        self,
        *,
        to: str,
        body: str,
        status_callback: str | None = None,
        validity_period: int | None = None,
    ) -> SendResult:
        _validate_validity_period(validity_period)
        return SendResult(_fake_sid("SMsim"), "delivered", count_segments(body).segments)


class ConsoleGateway:
    """The simulator, plus each SMS printed to ``stream`` (standard output by default, looked up
    at send time so captured output works)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def send(
        self,
        *,
        to: str,
        body: str,
        status_callback: str | None = None,
        validity_period: int | None = None,
    ) -> SendResult:
        _validate_validity_period(validity_period)
        info = count_segments(body)
        sid = _fake_sid("SMcon")
        plural = "" if info.segments == 1 else "s"
        stream = self.stream or sys.stdout
        stream.write(
            f"--- SMS {sid} to {to} ({info.encoding}, {info.segments} segment{plural}) ---\n"
            f"{body}\n"
        )
        stream.flush()
        return SendResult(sid, "delivered", info.segments)


_BACKENDS: Mapping[str, Callable[..., SmsGateway]] = {
    "simulator": SimulatorGateway,
    "console": ConsoleGateway,
    "twilio": TwilioGateway,
}


def _parameters(factory: Callable[..., SmsGateway]) -> set[str]:
    return set(inspect.signature(factory).parameters)


def build_gateway(name: str, **config: Any) -> SmsGateway:
    """Build the backend called ``name`` (``simulator``, ``console`` or ``twilio``, any case).

    ``config`` may hold every backend's settings at once: keys another backend takes are ignored
    (``account_sid`` for the simulator), a None value means "use the default", keys no backend
    knows raise ValueError, as does an unknown name and a missing required setting (Twilio's
    credentials). The chosen backend's own checks then apply (Twilio needs a sender).
    """
    key = name.strip().lower()
    if key not in _BACKENDS:
        raise ValueError(
            f"unknown SMS backend {name!r}; expected one of: {', '.join(sorted(_BACKENDS))}"
        )
    known = set().union(*(_parameters(factory) for factory in _BACKENDS.values()))
    unknown = sorted(set(config) - known)
    if unknown:
        raise ValueError(f"unknown SMS gateway setting(s): {', '.join(unknown)}")
    factory = _BACKENDS[key]
    arguments = {
        k: v for k, v in config.items() if k in _parameters(factory) and v is not None
    }
    missing = [
        parameter.name for parameter in inspect.signature(factory).parameters.values()
        if parameter.default is inspect.Parameter.empty and parameter.name not in arguments
    ]
    if missing:
        raise ValueError(f"the {key} SMS backend needs: {', '.join(missing)}")
    return factory(**arguments)
