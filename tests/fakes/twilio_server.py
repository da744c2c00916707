"""A local stand-in for Twilio's Messages API, for tests that drive the real ``twilio`` client.

    with FakeTwilio() as fake:
        gateway = TwilioGateway("AC...", "token", from_number="+1500...", api_base=fake.base_url)
        gateway.send(to="+79001234567", body="YES K7Q")
        assert fake.messages[0].body == "YES K7Q"

It answers ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` as Twilio does: HTTP basic
auth with the account SID and auth token, form-encoded fields, a 201 JSON message resource, and
Twilio's error shape ``{"code", "message", "more_info", "status"}`` for refusals. Failures can be
scripted in order with ``fail_next``; ``blocked_numbers`` answer 21610 (opted out). A message
sent through a Messaging Service is ``accepted`` with ``num_segments`` "0" and no ``from``, as
Twilio answers before it has chosen a sender; otherwise it is ``queued``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

from twilio.request_validator import RequestValidator

from messaging.segments import count_segments

API_VERSION = "2010-04-01"
MAX_BODY_CHARS = 1600
_MESSAGES_PATH = re.compile(rf"^/{API_VERSION}/Accounts/(?P<account>[^/]+)/Messages\.json$")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


@dataclass(frozen=True, slots=True)
class FakeMessage:
    """One message the fake accepted: its SID and the form fields as posted."""

    sid: str
    form: dict[str, str]

    @property
    def to(self) -> str | None:
        return self.form.get("To")

    @property
    def from_(self) -> str | None:
        return self.form.get("From")

    @property
    def messaging_service_sid(self) -> str | None:
        return self.form.get("MessagingServiceSid")

    @property
    def body(self) -> str | None:
        return self.form.get("Body")

    @property
    def status_callback(self) -> str | None:
        return self.form.get("StatusCallback")

    @property
    def validity_period(self) -> str | None:
        return self.form.get("ValidityPeriod")


@dataclass(frozen=True, slots=True)
class StatusCallback:
    """A delivery status callback as Twilio posts it: where, the form, and its signature."""

    url: str
    params: dict[str, str]
    signature: str


@dataclass(frozen=True, slots=True)
class _ScriptedFailure:
    status: int
    code: int
    message: str


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    messages: list[FakeMessage] = field(default_factory=list)
    failures: deque[_ScriptedFailure] = field(default_factory=deque)
    stalls: deque[float] = field(default_factory=deque)
    attempts: int = 0


class FakeTwilio:
    """A threaded HTTP server on 127.0.0.1 (ephemeral port) that speaks Twilio's Messages API.

    Thread-safe: ``messages`` and ``attempts`` may be read while requests are served.
    """

    def __init__(self, account_sid: str = "AC" + "0" * 32, auth_token: str = "test-token") -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.blocked_numbers: set[str] = set()
        self._state = _State()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeTwilio:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
            name="fake-twilio",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the port: later requests get "connection refused"."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeTwilio is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # --- scripting and inspection ------------------------------------------------------------

    def fail_next(
        self, status: int = 500, code: int | None = None, message: str | None = None
    ) -> None:
        """Answer the next Messages request (after authentication) with this error instead.
        Calls queue up in order. ``code`` defaults to Twilio's HTTP-mirroring code
        (20000 + status, e.g. 20500, 20429) and ``message`` to the HTTP reason phrase."""
        failure = _ScriptedFailure(
            status=status,
            code=code if code is not None else 20000 + status,
            message=message or HTTPStatus(status).phrase,
        )
        with self._state.lock:
            self._state.failures.append(failure)

    def stall_next(self, seconds: float) -> None:
        """Accept and record the next message normally, but hold the answer for ``seconds``: a
        client that times out meanwhile has had its message sent all the same."""
        with self._state.lock:
            self._state.stalls.append(seconds)

    @property
    def messages(self) -> list[FakeMessage]:
        """A snapshot of every accepted message, oldest first."""
        with self._state.lock:
            return list(self._state.messages)

    @property
    def attempts(self) -> int:
        """How many authenticated Messages requests arrived, accepted or not (a retry by the
        client would show up here)."""
        with self._state.lock:
            return self._state.attempts

    def delivery_report(
        self, sid: str, status: str, error_code: int | None = None
    ) -> StatusCallback:
        """The status callback Twilio would post for message ``sid`` to the StatusCallback URL it
        was sent with: the form fields and their X-Twilio-Signature under the auth token.
        The test posts it to the application (which runs in the test's own process)."""

        sent = next(m for m in self.messages if m.sid == sid)
        if not sent.status_callback:
            raise ValueError(f"message {sid} was sent without a StatusCallback URL")
        params = {
            "AccountSid": self.account_sid, "MessageSid": sid, "SmsSid": sid,
            "MessageStatus": status, "SmsStatus": status, "To": sent.to or "",
            "From": sent.from_ or "", "ApiVersion": API_VERSION,
        }
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        signature = RequestValidator(self.auth_token).compute_signature(
            sent.status_callback, params
        )
        return StatusCallback(sent.status_callback, params, signature)

    def clear(self) -> None:
        with self._state.lock:
            self._state.messages.clear()
            self._state.failures.clear()
            self._state.stalls.clear()
            self._state.attempts = 0

    # --- the API ---------------------------------------------------------------------------------

    def _authorised(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(header[len("Basic "):], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        username, _, password = decoded.partition(":")
        return username == self.account_sid and password == self.auth_token

    def _create_message(self, account: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._state.lock:
            self._state.attempts += 1
            failure = self._state.failures.popleft() if self._state.failures else None
        if failure is not None:
            return _error(failure.status, failure.code, failure.message)
        to = form.get("To", "")
        sender = form.get("From", "")
        service = form.get("MessagingServiceSid", "")
        body = form.get("Body", "")
        # Twilio's checks, first failing one answers.
        refusals = [
            (account != self.account_sid,
             (404, 20404, f"The requested resource /Accounts/{account} was not found")),
            (not to, (400, 21604, "A 'To' phone number is required.")),
            (not sender and not service, (400, 21603, "A 'From' phone number is required.")),
            (not body, (400, 21602, "Message body is required.")),
            (to in self.blocked_numbers, (400, 21610, "Attempt to send to unsubscribed recipient")),
            (not _E164.match(to),
             (400, 21211, f"The 'To' number {to} is not a valid phone number.")),
            (len(body) > MAX_BODY_CHARS,
             (400, 21617, "The concatenated message body exceeds the 1600 character limit.")),
        ]
        for refused, (status, code, message) in refusals:
            if refused:
                return _error(status, code, message)

        sid = "SM" + uuid.uuid4().hex
        with self._state.lock:
            self._state.messages.append(FakeMessage(sid=sid, form=dict(form)))
        now = format_datetime(datetime.now(UTC))
        via_service = bool(service) and not sender
        return 201, {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sender or None,
            "messaging_service_sid": service or None,
            "num_media": "0",
            "num_segments": "0" if via_service else str(count_segments(body).segments),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if via_service else "queued",
            "subresource_uris": {
                "media": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}/Media.json"
            },
            "to": to,
            "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}.json",
        }

    def _take_stall(self) -> float:
        with self._state.lock:
            return self._state.stalls.popleft() if self._state.stalls else 0.0


def _error(status: int, code: int, message: str) -> tuple[int, dict[str, Any]]:
    return status, {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeTwilio

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a timeout test) breaks the pipe; that is expected, not news.
        return


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "FakeTwilio/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _read_form(self) -> dict[str, str]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", errors="replace") if length else ""
        return {name: values[0] for name, values in parse_qs(raw, keep_blank_values=True).items()}

    def _answer(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="Twilio API"')
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        form = self._read_form()
        fake = self.server.fake
        match = _MESSAGES_PATH.match(self.path.split("?", 1)[0])
        if match is None:
            self._answer(*_error(404, 20404, f"The requested resource {self.path} was not found"))
            return
        if not fake._authorised(self.headers.get("Authorization")):
            self._answer(*_error(401, 20003, "Authenticate"))
            return
        status, payload = fake._create_message(match["account"], form)
        if status == 201:
            stall = fake._take_stall()
            if stall:
                time.sleep(stall)
        self._answer(status, payload)

    def _not_found(self) -> None:
        self._read_form()
        self._answer(*_error(404, 20404, f"The requested resource {self.path} was not found"))

    do_GET = do_PUT = do_DELETE = do_PATCH = _not_found
