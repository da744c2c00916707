"""Schemathesis against the API's own OpenAPI schema, as every role.

Every operation of the schema is called with generated requests (positive mode: values the
schema allows), as HQ, a franchise manager, a foreman, a recruiter and an anonymous caller,
through the WSGI application on PostgreSQL. Checked for each answer: no server error, a
status code and content type the operation documents, and a body that matches the
documented schema.

Nothing is excluded: no operation reaches outside the process here (SMS go to the
simulator, addresses to the bundled gazetteer, tasks run eagerly). Logging out revokes the
caller's token, so each request carries a token issued for it.

SCHEMATHESIS_MAX_EXAMPLES (default 6) bounds the requests per operation and role.
"""

import os
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from clients.models import Client, Lead, Site
from clients.services import lead_create
from core import clock
from dispatch.models import Order
from dispatch.services import callout_start
from franchises.auth import issue_token
from franchises.models import Franchise
from franchises.services import user_create
from workers.models import Worker

pytestmark = pytest.mark.postgres

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "6"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
ROLES = ["hq", "franchise", "foreman", "recruiter", "anonymous"]


@pytest.fixture
def network(transactional_db: Any, request: pytest.FixtureRequest) -> dict[str, Any]:
    # Another franchise and its manager too, whose rows the others must not reach.
    hq_user, spb_user, spb_foreman, _, spb_order = (
        request.getfixturevalue(name)
        for name in ("hq_user", "spb_user", "spb_foreman", "nsk_user", "spb_order")
    )
    spb = spb_user.franchise
    spb.reply_channels = ["sms", "link"]
    spb.save()
    recruiter = user_create(
        username="spb-recruiter", password="pw-12345", role="recruiter", franchise=spb
    )
    for number in range(3):
        Worker.objects.create(
            name=f"Worker {number}", phone=f"+7911000200{number}", status="active",
            skills=["loading"], lat=59.87 + number * 0.001, lng=30.42,
            vetted_at=clock.now() - timedelta(days=30),
        )
    callout_start(order=spb_order)
    lead_create(
        contact_name="Anna", phone="+79215551122", address="Sofiyskaya 6", lat=59.87,
        lng=30.42, work_type="loading", headcount=4, start=clock.now() + timedelta(days=2),
        hours=Decimal(6),
    )
    return {
        "hq": hq_user, "franchise": spb_user, "foreman": spb_foreman,
        "recruiter": recruiter, "anonymous": None,
    }


def _known_ids() -> list[int]:
    """Ids of rows that exist, so that generated paths reach them as well as missing ones."""
    ids: set[int] = set()
    for model in (Franchise, Client, Site, Lead, Worker, Order):
        ids.update(model.objects.values_list("id", flat=True))
    return sorted(ids)


def _failure_of(operation: Any, headers: Any) -> str | None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
        suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate],
    )
    def exercise(case: Any) -> None:
        case.call_and_validate(headers=headers(), checks=CHECKS)

    try:
        exercise()
    except (Exception, BaseExceptionGroup) as exc:  # each is reported, then the next operation
        return f"{operation.label}: {type(exc).__name__}: {str(exc)[:1500]}"
    return None


@pytest.mark.parametrize("role", ROLES)
def test_every_operation_keeps_to_the_schema(network: dict[str, Any], role: str) -> None:
    from config.wsgi import application  # noqa: PLC0415 (builds the WSGI app once Django is set up)

    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
    ids = _known_ids()

    @schema.hook
    def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> Any:
        if not path_parameters or "id" not in path_parameters:
            return st.just(path_parameters)
        return st.one_of(
            st.sampled_from(ids).map(lambda row: {**path_parameters, "id": row}),
            st.just(path_parameters),
        )

    user = network[role]

    def headers() -> dict[str, str]:
        if user is None:
            return {}
        return {"Authorization": f"Token {issue_token(user).key}"}

    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 60
    failures = [
        failure for operation in operations
        if (failure := _failure_of(operation, headers)) is not None
    ]
    assert failures == [], "\n\n".join(failures)
