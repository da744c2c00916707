"""No input makes the API answer 500: every writable endpoint gets hostile bodies.

All fields at once, then each field of a valid body in turn, get values of the wrong type,
absurd sizes, nulls, unicode, NUL characters, lone surrogates and deep nesting; whole bodies
are replaced by things that are not JSON objects at all, and generated JSON is thrown at two
endpoints with hypothesis. A 4xx is the right answer to all of them (a 2xx is fine when
the value happens to be acceptable); a 500 or an exception escaping the view is a bug.
"""

import json
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from clients.services import lead_create
from core import clock
from workers.models import Worker


def _nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


# Every field of every endpoint gets each of these, all fields at once.
HOSTILE_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    10**30,
    10**400,
    1e308,
    0.1,
    "",
    "   ",
    "x" * 20_000,
    "\x00",
    "Sofiyskaya\x006",
    "Ωмега 🚚 ﷽ \u202e\u200b",
    "\ud800",
    "NaN",
    "Infinity",
    "1e999",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "2026-02-30T25:61:00Z",
    "'; DROP TABLE clients_client; --",
    [],
    ["sms", None, 1],
    {},
    {"a": {"b": [None, {"\x00": "\ud800"}]}},
    _nested(200),
]

# And each field, alone in an otherwise valid body, gets these: values that may pass the
# field's own parsing and reach the services and the database.
SHARP_VALUES: list[Any] = [
    None,
    -1,
    10**400,
    "",
    "ß" * 300,
    "Sofiyskaya\x006",
    "9999-12-31T23:00:00Z",
]
SHARP_TERRITORIES: list[Any] = [
    {"type": "Polygon", "coordinates": [[[10**400, 1], [2, 1], [2, 2], [10**400, 1]]]},
    {"type": "Polygon", "coordinates": [[[49, 55], [50, 55], [50, 56], [49, 55]]],
     "properties": {"name": "\x00"}},
    {"type": "Polygon", "coordinates": _nested(300)},
]

RAW_BODIES: list[tuple[bytes, str]] = [
    (b"", "application/json"),
    (b"{not json", "application/json"),
    (b"[" * 10_000 + b"]" * 10_000, "application/json"),
    (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, "application/json"),
    (b"\xff\xfe\x00garbage", "application/json"),
    (b"null", "application/json"),
    (b"[]", "application/json"),
    (b'"just a string"', "application/json"),
    (b"12345", "application/json"),
    (b"1" * 5_000, "application/json"),
    (b'{"headcount": 1' + b"0" * 5_000 + b"}", "application/json"),
    (b'{"lat": NaN, "lng": Infinity}', "application/json"),
    (b'{"lat": 1e999, "lng": -1e999}', "application/json"),
    (b'{"name": "a"}{"name": "b"}', "application/json"),
    (b'{"name": "\\ud800\\u0000"}', "application/json"),
    (b"\x00", "application/json"),
    (b"name=%ZZ&phone=\x00", "application/x-www-form-urlencoded"),
    (b"--x\r\nbroken", "multipart/form-data; boundary=x"),
    (b"--x\r\nbroken", "multipart/form-data"),
    (b'{"name": "x"}', "text/plain"),
    (b'{"name": "x"}', "application/json; charset=no-such-charset"),
]


class Endpoint:
    def __init__(self, method: str, url: str, body: dict[str, Any]) -> None:
        self.method = method
        self.url = url
        self.body = body

    def __repr__(self) -> str:
        return f"{self.method} {self.url}"


ENDPOINTS = [
    "create franchise", "update franchise", "create client", "update client", "create site",
    "update site", "create lead", "create worker", "update worker", "interview",
    "create order", "update order", "token",
]


@pytest.fixture
def endpoints(
    spb: Any, spb_client: Any, spb_site: Any, spb_order: Any, tomorrow_9am: Any
) -> dict[str, Endpoint]:
    worker = Worker.objects.create(
        name="Ivan", phone="+79000000001", status=Worker.Status.APPLICANT
    )
    territory = {
        "type": "Polygon",
        "coordinates": [[[49.0, 55.6], [49.3, 55.6], [49.3, 55.9], [49.0, 55.9], [49.0, 55.6]]],
    }
    franchise = {
        "name": "Kazan", "kind": "brand_franchise", "city": "Kazan", "timezone": "Europe/Moscow",
        "royalty_rate": "0.15", "monthly_fee": "100.00", "territory": territory,
        "reply_channels": ["sms"], "booking_ratio": "1.5", "leads_paused_until": None,
    }
    client = {"name": "Hoff", "phone": "+78125550199", "email": "a@b.example",
              "franchise": spb.id, "notes": ""}
    site = {"client": spb_client.id, "address": "Kupchino, Saint Petersburg", "lat": 59.83,
            "lng": 30.38, "conditions": "outdoor", "notes": ""}
    lead = {"contact_name": "Anna", "phone": "+79215551122", "address": "Saint Petersburg",
            "lat": 59.9, "lng": 30.3, "work_type": "loading", "headcount": 5,
            "start": tomorrow_9am.isoformat(), "hours": "6", "notes": ""}
    new_worker = {"name": "Petr", "phone": "+79000000002", "skills": ["loading"], "lat": 59.9,
                  "lng": 30.3, "language": "ru", "status": "applicant", "home_area": "",
                  "notes": ""}
    order = {"client": spb_client.id, "site": spb_site.id, "work_type": "loading",
             "headcount": 3, "start": tomorrow_9am.isoformat(), "hours": "4",
             "bill_rate": "220.00", "pay_rate": "100.00", "overbook_policy": "fixed",
             "foreman": None, "franchise": spb.id, "notes": ""}
    return {
        "create franchise": Endpoint("post", "/api/v1/franchises/", franchise),
        "update franchise": Endpoint("patch", f"/api/v1/franchises/{spb.id}/", franchise),
        "create client": Endpoint("post", "/api/v1/clients/", client),
        "update client": Endpoint("patch", f"/api/v1/clients/{spb_client.id}/", client),
        "create site": Endpoint("post", "/api/v1/sites/", site),
        "update site": Endpoint("patch", f"/api/v1/sites/{spb_site.id}/", site),
        "create lead": Endpoint("post", "/api/v1/leads/", lead),
        "create worker": Endpoint("post", "/api/v1/workers/", new_worker),
        "update worker": Endpoint("patch", f"/api/v1/workers/{worker.id}/", new_worker),
        "interview": Endpoint("post", f"/api/v1/workers/{worker.id}/interview/",
                              {"outcome": "failed", "notes": ""}),
        "create order": Endpoint("post", "/api/v1/orders/", order),
        "update order": Endpoint("patch", f"/api/v1/orders/{spb_order.id}/", order),
        "token": Endpoint("post", "/api/v1/auth/token/",
                          {"username": "hq", "password": "pw-12345"}),
    }


def _send(api: APIClient, method: str, *args: Any, **kwargs: Any) -> Any:
    """The response, or the exception a 500 would have been."""
    try:
        return getattr(api, method)(*args, **kwargs)
    except Exception as exc:  # the point is to see any error escaping the view
        return exc


def _send_json(api: APIClient, method: str, url: str, body: Any) -> Any:
    """Send `body` as JSON text the way a browser's JSON.stringify would (\\u escapes for
    lone surrogates, which the test client's own renderer cannot encode)."""
    raw = json.dumps(body).encode()
    return _send(api, "generic", method.upper(), url, raw, content_type="application/json")


def _problem(response: Any) -> str | None:
    if isinstance(response, Exception):
        return f"raised {type(response).__name__}: {response}"[:300]
    if response.status_code >= 500:
        return f"status {response.status_code}"
    if response.status_code == 400:
        try:
            body = response.json()
        except ValueError:
            return "400 without a JSON body"
        if not isinstance(body, dict) or not body:
            return f"400 without field errors: {body!r}"[:300]
    return None


def _field_cases(endpoint: Endpoint) -> Iterator[tuple[str, dict[str, Any]]]:
    fields = [*endpoint.body, "unexpected_field"]
    for value in HOSTILE_VALUES:
        yield f"every field={str(value)[:40]!r}", dict.fromkeys(fields, value)
    for field in fields:
        for value in SHARP_VALUES + (SHARP_TERRITORIES if field == "territory" else []):
            yield f"{field}={str(value)[:40]!r}", {**endpoint.body, field: value}


@pytest.mark.django_db
@pytest.mark.parametrize("name", ENDPOINTS)
def test_hostile_field_values_never_give_a_500(
    hq_api: APIClient, endpoints: dict[str, Endpoint], name: str
) -> None:
    endpoint = endpoints[name]
    problems = []
    for label, body in _field_cases(endpoint):
        response = _send_json(hq_api, endpoint.method, endpoint.url, body)
        problem = _problem(response)
        if problem:
            problems.append(f"{endpoint!r} {label}: {problem}")
    assert problems == [], "\n".join(problems)


@pytest.mark.django_db
def test_hostile_bodies_never_give_a_500(
    hq_api: APIClient, endpoints: dict[str, Endpoint]
) -> None:
    problems = []
    for endpoint in endpoints.values():
        for raw, content_type in RAW_BODIES:
            response = _send(
                hq_api, "generic", endpoint.method.upper(), endpoint.url, raw,
                content_type=content_type,
            )
            problem = _problem(response)
            if problem:
                problems.append(f"{endpoint!r} {raw[:30]!r} as {content_type}: {problem}")
    assert problems == [], "\n".join(problems)


@pytest.mark.django_db
def test_deep_nesting_is_a_400_with_a_message(hq_api: APIClient, spb: Any) -> None:
    response = hq_api.generic(
        "POST", "/api/v1/clients/", b"[" * 10_000 + b"]" * 10_000,
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "nested" in response.json()["detail"]


@pytest.mark.django_db
def test_non_json_body_is_a_400_parse_error(hq_api: APIClient, spb: Any) -> None:
    response = hq_api.generic("POST", "/api/v1/clients/", b"{not json",
                              content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


@pytest.mark.django_db
def test_empty_body_lists_the_required_fields(hq_api: APIClient, spb: Any) -> None:
    response = hq_api.generic("POST", "/api/v1/leads/", b"", content_type="application/json")
    assert response.status_code == 400
    assert {"contact_name", "phone", "address", "work_type", "headcount", "start",
            "hours"} <= set(response.json())


@pytest.mark.django_db
def test_nul_characters_are_refused_not_stored(hq_api: APIClient, spb: Any) -> None:
    response = hq_api.post("/api/v1/clients/", {"name": "Lenta\x00"}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/orders/99999999999999999999999/",
        "/api/v1/clients/-1/",
        "/api/v1/workers/abc/",
        "/api/v1/workers/?min_rating=1e400",
        "/api/v1/workers/?min_rating=NaN",
        "/api/v1/workers/?near=1e400,1e400",
        "/api/v1/workers/?near=59.9,30.3&radius_km=1e400",
        "/api/v1/workers/?skill=%00",
        "/api/v1/workers/?ordering=-password",
        "/api/v1/clients/?franchise=99999999999999999999999",
        "/api/v1/clients/?search=%00",
        "/api/v1/clients/?phone=%00",
        "/api/v1/clients/?search=%25%25%5F",
        "/api/v1/orders/?start_after=99999-01-01",
        "/api/v1/orders/?page=99999999999999999999",
        "/api/v1/orders/?page_size=99999999999999999999",
        "/api/v1/orders/?code=%00",
        "/api/v1/leads/?status=%F0%9F%9A%9A",
        "/api/v1/sites/?client=1.5",
    ],
)
def test_hostile_query_strings_never_give_a_500(
    hq_api: APIClient, spb_order: Any, path: str
) -> None:
    response = _send(hq_api, "get", path)
    assert _problem(response) is None
    assert response.status_code in (200, 400, 404)


JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["", "\x00", "loading", "+79215551122", "2030-01-01T09:00:00Z", "6"])
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
LEAD_FIELDS = ["contact_name", "phone", "address", "lat", "lng", "work_type", "headcount",
               "start", "hours", "notes", "status", "franchise", "order"]


def _valid_lead() -> dict[str, Any]:
    return {
        "contact_name": "Anna", "phone": "+79215551122", "address": "Saint Petersburg",
        "lat": 59.9, "lng": 30.3, "work_type": "loading", "headcount": 5,
        "start": (clock.now() + timedelta(days=1)).isoformat(), "hours": "6",
    }


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    changes=st.dictionaries(
        st.sampled_from(LEAD_FIELDS) | st.text(max_size=6), JSON_VALUES, max_size=6
    ),
    drop=st.lists(st.sampled_from(LEAD_FIELDS), max_size=3),
)
def test_generated_lead_bodies_never_give_a_500(
    hq_api: APIClient, spb: Any, changes: dict[str, Any], drop: list[str]
) -> None:
    body = {**_valid_lead(), **changes}
    for field in drop:
        body.pop(field, None)
    response = _send_json(hq_api, "post", "/api/v1/leads/", body)
    assert _problem(response) is None, (body, response)


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=JSON_VALUES)
def test_generated_json_documents_never_give_a_500(hq_api: APIClient, body: Any) -> None:
    response = _send_json(hq_api, "post", "/api/v1/workers/", body)
    assert _problem(response) is None, (body, response)


@pytest.mark.django_db
def test_an_address_that_grows_when_case_folded_is_a_400(
    hq_api: APIClient, spb_client: Any
) -> None:
    response = hq_api.post(
        "/api/v1/sites/", {"client": spb_client.id, "address": "ß" * 300}, format="json"
    )
    assert response.status_code == 400
    assert "address" in response.json()


def _schema_fields(schema: dict[str, Any], node: Any) -> tuple[list[str], bool]:
    """Property names of a request body schema, and whether the body is a list of them."""
    is_list = False
    for _ in range(10):
        if not isinstance(node, dict):
            break
        if "$ref" in node:
            node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
        elif node.get("type") == "array":
            is_list = True
            node = node.get("items")
        else:
            return list(node.get("properties", {})), is_list
    return [], is_list


WHOLE_BODIES: list[Any] = [
    None,
    [],
    [{}],
    "text",
    10**400,
    {"detail": "\ud800"},
    _nested(300),
    [{"worker": "\x00", "status": 10**400, "hours": "1e999", "score": None, "source": []}],
]


# Paths whose fields test_hostile_field_values_never_give_a_500 already sweeps one by one.
SWEPT_FIELD_BY_FIELD = {
    "/api/v1/auth/token/",
    *(f"/api/v1/{resource}/" for resource in
      ("franchises", "clients", "sites", "leads", "workers", "orders")),
    *(f"/api/v1/{resource}/{{id}}/" for resource in
      ("franchises", "clients", "sites", "workers", "orders")),
    "/api/v1/workers/{id}/interview/",
}


@pytest.mark.django_db
def test_every_write_operation_in_the_schema_survives_hostile_bodies(
    hq_api: APIClient, endpoints: dict[str, Endpoint], spb_order: Any, spb_site: Any
) -> None:
    """Every POST/PUT/PATCH the schema publishes, the action routes included, so an endpoint
    added later is covered too. Each gets whole bodies of the wrong shape, then every field of
    its request schema at once set to each hostile value."""
    schema = hq_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    lead = lead_create(contact_name="Anna", phone="+79215551122", address="Saint Petersburg",
                       lat=59.9, lng=30.3, work_type="loading", headcount=2,
                       start=clock.now() + timedelta(days=1), hours=Decimal(4))
    ids = {
        "orders": spb_order.id, "leads": lead.id, "sites": spb_site.id,
        "clients": spb_site.client_id, "franchises": spb_order.franchise_id,
        "workers": Worker.objects.get(phone="+79000000001").id,
    }
    problems = []
    operations = 0
    for path, methods in schema["paths"].items():
        resource = path.removeprefix("/api/v1/").split("/", 1)[0]
        url = path.replace("{id}", str(ids.get(resource, 1)))
        for method, operation in methods.items():
            if method not in ("post", "put", "patch"):
                continue
            operations += 1
            content = operation.get("requestBody", {}).get("content", {})
            keys, is_list = _schema_fields(
                schema, content.get("application/json", {}).get("schema")
            )
            bodies = [*WHOLE_BODIES]
            if path not in SWEPT_FIELD_BY_FIELD:
                for value in HOSTILE_VALUES:
                    fields = dict.fromkeys(keys or ["unexpected_field"], value)
                    bodies.append([fields] if is_list else fields)
            for body in bodies:
                problem = _problem(_send_json(hq_api, method, url, body))
                if problem:
                    problems.append(f"{method.upper()} {url} {str(body)[:60]!r}: {problem}")
    assert operations >= 20
    assert problems == [], "\n".join(problems)


@pytest.mark.django_db
def test_a_lone_surrogate_is_a_parse_error_but_a_pair_is_text(
    hq_api: APIClient, spb: Any
) -> None:
    lone = hq_api.generic("POST", "/api/v1/clients/", b'{"name": "Lenta \\ud800"}',
                          content_type="application/json")
    assert lone.status_code == 400
    assert "surrogate" in lone.json()["detail"]
    pair = hq_api.generic("POST", "/api/v1/clients/", b'{"name": "Lenta \\ud83d\\ude9a"}',
                          content_type="application/json")
    assert pair.status_code == 201
    assert pair.json()["name"] == "Lenta 🚚"
