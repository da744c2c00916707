"""A local stand-in for a Nominatim server, for driving geopy's real client in tests.

    with FakeNominatim({"Kupchino": (59.83, 30.38)}) as fake:
        geocoder = NominatimGeocoder(domain=fake.domain, scheme="http", min_delay_seconds=0)
        geocoder.geocode("Kupchino")
        assert fake.requests[0].params["format"] == "json"

It answers `GET /search` the way Nominatim does for what geopy sends (`q`, `format=json`,
`limit=1`, and optionally `addressdetails`, `accept-language`...): a JSON list of places with `lat`
and `lon` as strings, `[]` when nothing matches. `format=jsonv2` gets `category` instead of `class`.
Every request is recorded (path, parameters, User-Agent, arrival time on `time.monotonic()`), and
failures can be scripted: `fail_next(503)` for outages, `delay` for timeouts.

Listens on 127.0.0.1 on an ephemeral port; one thread per request; silent.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

LICENCE = "Data © OpenStreetMap contributors, ODbL 1.0. http://osm.org/copyright"
_FORMATS = {"json", "jsonv2"}


def _key(query: str) -> str:
    return " ".join(query.casefold().split())


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake saw it."""

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    received_at: float  # time.monotonic() when the request line was read

    @property
    def query(self) -> str | None:
        """The free-text query (`q`), if any."""
        return self.params.get("q")

    @property
    def user_agent(self) -> str:
        return self.headers.get("user-agent", "")


@dataclass(frozen=True)
class _Failure:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class FakeNominatim:
    """A threaded HTTP server that answers like Nominatim's /search from a dict of places.

    `places` maps a query (matched case- and whitespace-insensitively) to either `(lat, lng)` or a
    dict with `lat`, `lng` and optionally `display_name`, `class`, `type`, `importance`, `address`.
    `delay` (seconds, settable at any time) holds every answer back, to provoke client timeouts.
    """

    def __init__(
        self,
        places: Mapping[str, tuple[float, float] | Mapping[str, Any]] | None = None,
        *,
        delay: float = 0.0,
    ) -> None:
        self.delay = delay
        self._places: dict[str, dict[str, Any]] = {}
        self._requests: list[RecordedRequest] = []
        self._failures: deque[_Failure] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        for query, place in (places or {}).items():
            if isinstance(place, Mapping):
                self.add_place(query, **place)
            else:
                self.add_place(query, lat=place[0], lng=place[1])

    # --- scripting ----------------------------------------------------------------------------

    def add_place(
        self,
        query: str,
        *,
        lat: float,
        lng: float,
        display_name: str | None = None,
        importance: float = 0.5,
        address: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        """Make `query` find a place at (lat, lng). `extra` may set `class`, `type`..."""
        with self._lock:
            place_id = 100_000 + len(self._places)
            self._places[_key(query)] = {
                "place_id": place_id,
                "licence": LICENCE,
                "osm_type": "node",
                "osm_id": 900_000 + place_id,
                # Nominatim sends coordinates as strings with 7 decimals; geopy converts them.
                "lat": f"{lat:.7f}",
                "lon": f"{lng:.7f}",
                "class": extra.pop("class", "place"),
                "type": extra.pop("type", "suburb"),
                "place_rank": extra.pop("place_rank", 19),
                "importance": importance,
                "addresstype": extra.pop("addresstype", "suburb"),
                "name": query,
                "display_name": display_name or f"{query}, Россия",
                # [min_lat, max_lat, min_lon, max_lon], strings, as Nominatim orders them.
                "boundingbox": [
                    f"{lat - 0.01:.7f}",
                    f"{lat + 0.01:.7f}",
                    f"{lng - 0.01:.7f}",
                    f"{lng + 0.01:.7f}",
                ],
                "address": dict(address or {"country": "Россия", "country_code": "ru"}),
                **extra,
            }

    def fail_next(
        self,
        status: int = 503,
        *,
        times: int = 1,
        body: str | bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next `times` requests with `status` (and a Nominatim-style JSON error)."""
        if body is None:
            body = json.dumps({"error": {"code": status, "message": f"Scripted failure {status}"}})
        data = body.encode() if isinstance(body, str) else body
        with self._lock:
            self._failures.extend(_Failure(status, data, dict(headers or {})) for _ in range(times))

    # --- what happened ------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def queries(self) -> list[str | None]:
        return [request.query for request in self.requests]

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def domain(self) -> str:
        """`127.0.0.1:PORT`, what NOMINATIM_DOMAIN would hold (use scheme "http")."""
        if self._server is None:
            raise RuntimeError("FakeNominatim is not running; use it as a context manager")
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    @property
    def url(self) -> str:
        return f"http://{self.domain}"

    def start(self) -> FakeNominatim:
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-nominatim",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        if self._server is None:
            return
        self._stopping.set()  # wakes handlers sleeping on `delay`
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeNominatim:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- the answers --------------------------------------------------------------------------

    def _record(self, request: RecordedRequest) -> _Failure | None:
        with self._lock:
            self._requests.append(request)
            return self._failures.popleft() if self._failures else None

    def _wait(self) -> None:
        if self.delay > 0:
            self._stopping.wait(self.delay)

    def _search(self, params: Mapping[str, str]) -> tuple[int, Any]:
        output = params.get("format", "jsonv2")
        if output not in _FORMATS:
            return 400, {"error": {"code": 400, "message": f"Unsupported format {output!r}"}}
        try:
            limit = int(params.get("limit", "10"))
        except ValueError:
            return 400, {"error": {"code": 400, "message": "Parameter 'limit' must be a number."}}
        query = params.get("q", "")
        if not query.strip():
            return 400, {"error": {"code": 400, "message": "Nothing to search for."}}
        with self._lock:
            place = self._places.get(_key(query))
        if place is None or limit < 1:
            return 200, []
        answer = dict(place)
        if params.get("addressdetails") != "1":
            answer.pop("address")
        if output == "jsonv2":
            answer["category"] = answer.pop("class")
        return 200, [answer]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Do not wait for a handler still sleeping on `delay` when the test is over.
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The client gave up (a provoked timeout) and closed the socket: expected, stay quiet.
        pass


def _handler_for(fake: FakeNominatim) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "FakeNominatim/1.0"

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            params = dict(parse_qsl(url.query, keep_blank_values=True))
            failure = fake._record(
                RecordedRequest(
                    method="GET",
                    path=url.path,
                    params=params,
                    headers={name.lower(): value for name, value in self.headers.items()},
                    received_at=time.monotonic(),
                )
            )
            fake._wait()
            if failure is not None:
                self._send(failure.status, failure.body, failure.headers)
            elif url.path in {"/search", "/search.php"}:
                status, payload = fake._search(params)
                self._send_json(status, payload)
            elif url.path in {"/status", "/status.php"}:
                self._send(200, b"OK", {"Content-Type": "text/plain; charset=utf-8"})
            else:
                self._send_json(404, {"error": {"code": 404, "message": "Unknown endpoint."}})

        def _send_json(self, status: int, payload: Any) -> None:
            body = json.dumps(payload, ensure_ascii=False).encode()
            self._send(status, body, {"Content-Type": "application/json; charset=utf-8"})

        def _send(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
            self.send_response(status)
            if not any(name.lower() == "content-type" for name in headers):
                self.send_header("Content-Type", "application/json; charset=utf-8")
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
