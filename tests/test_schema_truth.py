"""The OpenAPI schema says what the API does: optional fields, types, lists, CSV, errors;
and a filter or page size given without a usable value is a 400 naming it."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from clients.services import lead_create
from core import clock
from workers.models import Worker

HTTP_METHODS = {"get", "put", "post", "patch", "delete"}


@pytest.fixture(scope="module")
def schema(django_db_blocker: Any) -> dict[str, Any]:
    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def _response_schema(schema: dict[str, Any], path: str, method: str, code: str) -> Any:
    content = schema["paths"][path][method]["responses"][code]["content"]
    return content


@pytest.fixture
def worker(db: Any) -> Worker:
    return Worker.objects.create(
        name="Ivan", phone="+79110000001", status="active", skills=["loading"],
        lat=59.9, lng=30.3, vetted_at=clock.now() - timedelta(days=3),
    )


class TestSchemaSaysWhatAnswersHold:
    def test_distance_is_only_in_lists_asked_near_a_place(
        self, schema: dict[str, Any], hq_api: APIClient, worker: Worker
    ) -> None:
        component = schema["components"]["schemas"]["Worker"]
        assert "distance_km" in component["properties"]
        assert "distance_km" not in component["required"]
        assert "name" in component["required"]

        plain = hq_api.get("/api/v1/workers/").json()["results"][0]
        assert "distance_km" not in plain
        near = hq_api.get("/api/v1/workers/", {"near": "59.9,30.3"}).json()["results"][0]
        assert near["distance_km"] == 0.0

    def test_history_hours_are_a_decimal_string_as_documented(
        self, schema: dict[str, Any], hq_api: APIClient, worker: Worker
    ) -> None:
        hours = schema["components"]["schemas"]["WorkerHistory"]["properties"]["hours"]
        assert hours["type"] == "string"
        assert hours["format"] == "decimal"
        answer = hq_api.get(f"/api/v1/workers/{worker.id}/history/")
        assert answer.status_code == 200
        assert answer.json()["hours"] == "0.00"

    def test_a_leads_hops_are_a_plain_list(
        self, schema: dict[str, Any], hq_api: APIClient, hq_franchise: Any
    ) -> None:
        documented = _response_schema(schema, "/api/v1/leads/{id}/hops/", "get", "200")
        assert documented["application/json"]["schema"]["type"] == "array"
        parameters = schema["paths"]["/api/v1/leads/{id}/hops/"]["get"]["parameters"]
        assert [parameter["name"] for parameter in parameters] == ["id"]

        lead = lead_create(
            contact_name="Anna", phone="+79215551122", address="Sofiyskaya 6", lat=59.87,
            lng=30.42, work_type="loading", headcount=4, start=clock.now() + timedelta(days=2),
            hours=Decimal(6),
        )
        answer = hq_api.get(f"/api/v1/leads/{lead.id}/hops/")
        assert answer.status_code == 200
        assert isinstance(answer.json(), list)

    @pytest.mark.parametrize("path", ["/api/v1/invoice-lines/export/", "/api/v1/pay-lines/export/"])
    def test_exports_are_documented_as_csv(
        self, schema: dict[str, Any], hq_api: APIClient, path: str
    ) -> None:
        documented = _response_schema(schema, path, "get", "200")
        assert list(documented) == ["text/csv"]
        names = {parameter["name"] for parameter in schema["paths"][path]["get"]["parameters"]}
        assert {"period", "franchise", "worker"} <= names
        answer = hq_api.get(path)
        assert answer.status_code == 200
        assert answer["Content-Type"].startswith("text/csv")

    def test_every_operation_documents_its_error_answers(self, schema: dict[str, Any]) -> None:
        missing = []
        for path, method, operation in _operations(schema):
            responses = operation["responses"]
            public = not operation.get("security")
            expected = {"400"} if ("requestBody" in operation or any(
                parameter["in"] == "query" for parameter in operation.get("parameters", [])
            )) else set()
            if not public:
                expected |= {"401", "403"}
            if not public and "{" in path:
                expected.add("404")
            for code in sorted(expected - set(responses)):
                missing.append(f"{method.upper()} {path} {code}")
            for code in expected:
                body = responses[code]["content"]["application/json"]["schema"]["$ref"]
                assert body.endswith("/FieldErrors" if code == "400" else "/ErrorDetail")
        assert missing == []

    def test_the_token_exchange_is_public_and_documents_the_lock_out(
        self, schema: dict[str, Any]
    ) -> None:
        operation = schema["paths"]["/api/v1/auth/token/"]["post"]
        assert not operation.get("security")
        assert {"200", "400", "429"} <= set(operation["responses"])
        assert "401" not in operation["responses"]


@pytest.mark.django_db
class TestFiltersNeedValues:
    @pytest.mark.parametrize(
        ("path", "query", "field"),
        [
            ("/api/v1/orders/", "status=", "status"),
            ("/api/v1/orders/", "start_after=", "start_after"),
            ("/api/v1/orders/", "start_before=&status=calling", "start_before"),
            ("/api/v1/franchises/", "is_active=", "is_active"),
            ("/api/v1/workers/", "skill=", "skill"),
            ("/api/v1/leads/", "status=", "status"),
            ("/api/v1/invoice-lines/export/", "period=", "period"),
        ],
    )
    def test_an_empty_filter_is_a_field_error(
        self, hq_api: APIClient, path: str, query: str, field: str
    ) -> None:
        answer = hq_api.get(f"{path}?{query}")
        assert answer.status_code == 400
        assert list(answer.json()) == [field]
        assert "value" in answer.json()[field][0]

    @pytest.mark.parametrize("size", ["true", "0", "-3", "", "1.5", "²"])
    def test_a_page_size_that_is_not_a_whole_number_from_1_is_a_field_error(
        self, hq_api: APIClient, size: str
    ) -> None:
        answer = hq_api.get("/api/v1/orders/", {"page_size": size})
        assert answer.status_code == 400
        assert list(answer.json()) == ["page_size"]

    def test_good_values_still_filter_and_page(self, hq_api: APIClient, worker: Worker) -> None:
        assert hq_api.get("/api/v1/orders/", {"status": "calling"}).status_code == 200
        listed = hq_api.get("/api/v1/workers/", {"page_size": "1", "skill": "loading"})
        assert listed.status_code == 200
        assert [row["id"] for row in listed.json()["results"]] == [worker.id]
        big = hq_api.get("/api/v1/workers/", {"page_size": "100000"})
        assert big.status_code == 200
