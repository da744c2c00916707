"""A start without a UTC offset is the local time of the franchise that serves it.

The client says "eight in the morning" on the phone; the operator types 08:00. In
Novosibirsk that is 01:00 UTC, in Saint Petersburg 05:00 UTC. A start with an offset is
taken as given (CONTRACT.md §4).
"""

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from clients.services import client_create, site_create
from core import clock
from dispatch.models import Order

MOSCOW = ZoneInfo("Europe/Moscow")
NOVOSIBIRSK = ZoneInfo("Asia/Novosibirsk")


def _tomorrow_at(hour: int, zone: ZoneInfo) -> datetime:
    """Tomorrow's wall time `hour`:00 in `zone`, naive, as an operator types it."""
    day = clock.now().astimezone(zone).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, 0)


@pytest.fixture
def nsk_site(nsk: Any) -> Any:
    client = client_create(name="Holodilnik", franchise=nsk, phone="+73832000001")
    return site_create(client=client, address="Stantsionnaya 30, Novosibirsk",
                       lat=55.03, lng=82.92)


def _order_body(site: Any, start: str) -> dict[str, Any]:
    return {"client": site.client_id, "site": site.id, "work_type": "loading",
            "headcount": 4, "start": start, "hours": "6"}


@pytest.mark.django_db
class TestOrders:
    def test_a_naive_start_is_the_franchises_local_time(
        self, spb_api: APIClient, spb_site: Any
    ) -> None:
        typed = _tomorrow_at(8, MOSCOW)
        response = spb_api.post("/api/v1/orders/", _order_body(spb_site, typed.isoformat()),
                                format="json")
        assert response.status_code == 201, response.content
        order = Order.objects.get(pk=response.json()["id"])
        assert order.start == typed.replace(tzinfo=MOSCOW)
        assert order.start.astimezone(ZoneInfo("UTC")).hour == 5
        assert response.json()["local_start"] == typed.replace(tzinfo=MOSCOW).isoformat()
        assert response.json()["timezone"] == "Europe/Moscow"

    def test_novosibirsk_reads_its_own_zone(self, hq_api: APIClient, nsk_site: Any) -> None:
        typed = _tomorrow_at(8, NOVOSIBIRSK)
        response = hq_api.post("/api/v1/orders/", _order_body(nsk_site, typed.isoformat()),
                               format="json")
        assert response.status_code == 201, response.content
        order = Order.objects.get(pk=response.json()["id"])
        assert order.start.astimezone(NOVOSIBIRSK).replace(tzinfo=None) == typed
        assert order.start.astimezone(ZoneInfo("UTC")).hour == 1

    def test_a_start_with_an_offset_is_taken_as_given(
        self, spb_api: APIClient, spb_site: Any
    ) -> None:
        given_moment = _tomorrow_at(8, MOSCOW).replace(tzinfo=NOVOSIBIRSK)
        response = spb_api.post("/api/v1/orders/",
                                _order_body(spb_site, given_moment.isoformat()), format="json")
        assert response.status_code == 201, response.content
        assert Order.objects.get(pk=response.json()["id"]).start == given_moment

    def test_a_naive_change_of_start_is_local_too(
        self, spb_api: APIClient, spb_order: Any
    ) -> None:
        typed = _tomorrow_at(14, MOSCOW)
        response = spb_api.patch(f"/api/v1/orders/{spb_order.pk}/",
                                 {"start": typed.isoformat()}, format="json")
        assert response.status_code == 200, response.content
        spb_order.refresh_from_db()
        assert spb_order.start == typed.replace(tzinfo=MOSCOW)

    def test_a_naive_start_already_past_locally_is_refused(
        self, nsk_api: APIClient, nsk_site: Any
    ) -> None:
        # An hour ago in Novosibirsk is still "in the future" read as UTC: the check must use
        # the local reading.
        an_hour_ago = (clock.now() - timedelta(hours=1)).astimezone(NOVOSIBIRSK)
        response = nsk_api.post(
            "/api/v1/orders/",
            _order_body(nsk_site, an_hour_ago.replace(tzinfo=None).isoformat()),
            format="json",
        )
        assert response.status_code == 400
        assert "past" in response.json()["start"][0]


@pytest.mark.django_db
class TestLeadsAndQuotes:
    def _lead(self, lat: float, lng: float, start: datetime) -> dict[str, Any]:
        return {"contact_name": "Olga", "phone": "+79130000001", "address": "Some street 1",
                "lat": lat, "lng": lng, "work_type": "loading", "headcount": 3,
                "start": start.isoformat(), "hours": "4"}

    def test_a_leads_naive_start_is_its_franchises_local_time(
        self, hq_api: APIClient, hq_franchise: Any, spb: Any, nsk: Any
    ) -> None:
        typed = _tomorrow_at(9, NOVOSIBIRSK)
        response = hq_api.post("/api/v1/leads/", self._lead(55.03, 82.92, typed), format="json")
        assert response.status_code == 201, response.content
        assert response.json()["franchise"] == nsk.id
        start = datetime.fromisoformat(response.json()["start"].replace("Z", "+00:00"))
        assert start.astimezone(NOVOSIBIRSK).replace(tzinfo=None) == typed

    def test_a_lead_hq_holds_reads_hqs_zone(
        self, hq_api: APIClient, hq_franchise: Any, spb: Any
    ) -> None:
        typed = _tomorrow_at(9, MOSCOW)
        # Nobody covers Yakutsk: HQ holds the lead, and the time is read on HQ's clock.
        response = hq_api.post("/api/v1/leads/", self._lead(62.03, 129.73, typed), format="json")
        assert response.status_code == 201, response.content
        assert response.json()["franchise"] is None
        start = datetime.fromisoformat(response.json()["start"].replace("Z", "+00:00"))
        assert start == typed.replace(tzinfo=MOSCOW)

    def test_a_quotes_night_is_local(self, spb_api: APIClient, spb: Any) -> None:
        def quote(start: datetime) -> Any:
            response = spb_api.post("/api/v1/quotes/", {
                "franchise": spb.id, "work_type": "loading", "conditions": "warm_indoor",
                "headcount": 5, "hours": "4", "start": start.isoformat(),
            }, format="json")
            assert response.status_code == 200, response.content
            return response.json()

        # 20:00 in Moscow is evening and 23:00 night. Read as UTC, both would be night
        # (23:00 and 02:00 MSK) and priced alike.
        evening, night = quote(_tomorrow_at(20, MOSCOW)), quote(_tomorrow_at(23, MOSCOW))
        assert night["bill_rate"] != evening["bill_rate"]
        assert any("night" in line.lower() for line in night["breakdown"])


@given(
    wall=st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2099, 12, 31)),
    zone=st.sampled_from(["Europe/Moscow", "Asia/Novosibirsk", "Asia/Vladivostok",
                          "Europe/Kaliningrad", "Europe/Berlin", "America/New_York"]),
)
@settings(max_examples=300)
def test_in_zone_keeps_the_wall_time(wall: datetime, zone: str) -> None:
    """Whatever the zone, the moment read back in it shows the time that was typed (DST
    gaps aside, where no such wall time exists)."""
    moment = clock.in_zone(wall, zone)
    assert moment.tzinfo is not None
    back = moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    gap = moment.utcoffset() != moment.astimezone(ZoneInfo(zone)).utcoffset()
    assert back == wall or gap
    aware = wall.replace(tzinfo=ZoneInfo("UTC"))
    assert clock.in_zone(aware, zone) is aware
