"""The benchmark report reads the network in a fixed number of queries, however many
franchises it has (the network runs about 450)."""

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.selectors import benchmark_rows
from franchises.models import Franchise
from franchises.services import franchise_save


def _queries(period: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        rows = benchmark_rows(period=period)
    assert rows
    return len(captured)


def _brands(count: int, zone: str) -> None:
    for index in range(count):
        franchise_save(franchise=Franchise(
            name=f"Brand {zone} {index}", kind=Franchise.Kind.BRAND_FRANCHISE, timezone=zone,
        ))


@pytest.mark.django_db
def test_more_franchises_in_the_same_time_zones_cost_no_more_queries(spb: Any, nsk: Any) -> None:
    few = _queries("2026-11")
    _brands(6, spb.timezone)
    _brands(6, nsk.timezone)
    assert _queries("2026-11") == few
