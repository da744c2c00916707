"""`/api/v1/clients/`, `/api/v1/sites/` and `/api/v1/leads/` as operators use them."""

from datetime import timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from clients.models import Client, GeocodeCache, Lead, LeadHop, Site
from clients.services import client_create
from core import clock
from dispatch.models import Order

CLIENTS = "/api/v1/clients/"
SITES = "/api/v1/sites/"
LEADS = "/api/v1/leads/"


def _results(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


@pytest.mark.django_db
class TestClients:
    def test_franchise_user_creates_a_client_for_its_own_franchise(
        self, spb_api: APIClient, spb: Any
    ) -> None:
        response = spb_api.post(
            CLIENTS,
            {"name": "Hoff", "phone": "8 (812) 555-02-02", "email": "ops@hoff.example"},
            format="json",
        )
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["phone"] == "+78125550202"
        assert body["franchise"] == spb.id
        assert Client.objects.get(pk=body["id"]).franchise == spb

    def test_hq_creates_a_client_for_any_franchise_or_none(
        self, hq_api: APIClient, nsk: Any
    ) -> None:
        for_nsk = hq_api.post(CLIENTS, {"name": "Metro", "franchise": nsk.id}, format="json")
        assert for_nsk.status_code == 201
        assert for_nsk.json()["franchise"] == nsk.id
        own = hq_api.post(CLIENTS, {"name": "HQ direct"}, format="json")
        assert own.status_code == 201
        assert own.json()["franchise"] is None

    def test_hq_franchise_is_not_a_client_holder(
        self, hq_api: APIClient, hq_franchise: Any
    ) -> None:
        response = hq_api.post(
            CLIENTS, {"name": "Metro", "franchise": hq_franchise.id}, format="json"
        )
        assert response.status_code == 400
        assert "franchise" in response.json()

    @pytest.mark.parametrize(
        "phone", ["+78125550101", "8 (812) 555-01-01", "+7 812 555 01 01", "88125550101",
                  "8-812-555-0101"],
    )
    def test_filter_by_phone_in_any_format(
        self, hq_api: APIClient, spb_client: Any, spb: Any, phone: str
    ) -> None:
        client_create(name="Other", franchise=spb, phone="+78125559999")
        rows = _results(hq_api.get(CLIENTS, {"phone": phone}))
        assert [row["id"] for row in rows] == [spb_client.id]

    def test_filter_by_unparseable_phone_finds_nothing(
        self, hq_api: APIClient, spb_client: Any
    ) -> None:
        assert _results(hq_api.get(CLIENTS, {"phone": "not a phone"})) == []

    def test_filter_by_franchise(
        self, hq_api: APIClient, spb_client: Any, nsk: Any
    ) -> None:
        nsk_client = client_create(name="Sibir", franchise=nsk)
        rows = _results(hq_api.get(CLIENTS, {"franchise": nsk.id}))
        assert [row["id"] for row in rows] == [nsk_client.id]

    @pytest.mark.parametrize("term", ["lenta", "LENTA ware", "555-01", "8 812 555-01-01"])
    def test_search_by_name_or_phone(
        self, hq_api: APIClient, spb_client: Any, spb: Any, term: str
    ) -> None:
        client_create(name="Magnit", franchise=spb, phone="+78125557777")
        rows = _results(hq_api.get(CLIENTS, {"search": term}))
        assert [row["id"] for row in rows] == [spb_client.id]

    def test_search_by_email(self, hq_api: APIClient, spb: Any) -> None:
        found = client_create(name="Petrovich", franchise=spb, email="buyer@petrovich.example")
        client_create(name="Other", franchise=spb)
        rows = _results(hq_api.get(CLIENTS, {"search": "petrovich.exa"}))
        assert [row["id"] for row in rows] == [found.id]

    def test_invalid_phone_is_a_field_error(self, spb_api: APIClient) -> None:
        response = spb_api.post(CLIENTS, {"name": "X", "phone": "12"}, format="json")
        assert response.status_code == 400
        assert "phone" in response.json()

    def test_name_is_required(self, spb_api: APIClient) -> None:
        response = spb_api.post(CLIENTS, {"phone": "+78125550303"}, format="json")
        assert response.status_code == 400
        assert "name" in response.json()

    def test_update(self, spb_api: APIClient, spb_client: Any) -> None:
        response = spb_api.patch(
            f"{CLIENTS}{spb_client.id}/", {"notes": "Gate 3", "phone": "8 812 555 04 04"},
            format="json",
        )
        assert response.status_code == 200
        spb_client.refresh_from_db()
        assert spb_client.notes == "Gate 3"
        assert str(spb_client.phone) == "+78125550404"

    def test_franchise_user_cannot_move_a_client_to_another_franchise(
        self, spb_api: APIClient, spb_client: Any, spb: Any, nsk: Any
    ) -> None:
        response = spb_api.patch(
            f"{CLIENTS}{spb_client.id}/", {"franchise": nsk.id}, format="json"
        )
        assert response.status_code == 400
        assert "franchise" in response.json()
        spb_client.refresh_from_db()
        assert spb_client.franchise == spb


@pytest.mark.django_db
class TestSites:
    def test_create_with_coordinates(self, spb_api: APIClient, spb_client: Any) -> None:
        response = spb_api.post(
            SITES,
            {"client": spb_client.id, "address": "Somewhere private", "lat": 59.9,
             "lng": 30.2, "conditions": "outdoor"},
            format="json",
        )
        assert response.status_code == 201, response.content
        body = response.json()
        assert (body["lat"], body["lng"]) == (59.9, 30.2)
        assert body["conditions"] == "outdoor"
        assert not GeocodeCache.objects.exists()

    def test_create_without_coordinates_is_geocoded_offline(
        self, spb_api: APIClient, spb_client: Any
    ) -> None:
        response = spb_api.post(
            SITES, {"client": spb_client.id, "address": "Kupchino, Saint Petersburg"},
            format="json",
        )
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["lat"] == pytest.approx(59.83)
        assert body["lng"] == pytest.approx(30.38)
        assert body["conditions"] == "warm_indoor"

    def test_geocoding_understands_russian(self, spb_api: APIClient, spb_client: Any) -> None:
        response = spb_api.post(
            SITES, {"client": spb_client.id, "address": "Купчино, Санкт-Петербург"},
            format="json",
        )
        assert response.status_code == 201, response.content
        assert response.json()["lat"] == pytest.approx(59.83)

    def test_unknown_address_without_coordinates_is_an_address_error(
        self, spb_api: APIClient, spb_client: Any
    ) -> None:
        response = spb_api.post(
            SITES, {"client": spb_client.id, "address": "Nowhere street 1, Atlantis"},
            format="json",
        )
        assert response.status_code == 400
        errors = response.json()
        assert set(errors) == {"address"}
        assert "lat" in errors["address"][0]
        assert not Site.objects.filter(client=spb_client).exists()

    def test_address_that_is_a_coordinate_pair(self, spb_api: APIClient, spb_client: Any) -> None:
        response = spb_api.post(
            SITES, {"client": spb_client.id, "address": "59.95, 30.25"}, format="json"
        )
        assert response.status_code == 201
        assert (response.json()["lat"], response.json()["lng"]) == (59.95, 30.25)

    def test_impossible_coordinate_pair_is_not_called_an_outage(
        self, spb_api: APIClient, spb_client: Any
    ) -> None:
        response = spb_api.post(
            SITES, {"client": spb_client.id, "address": "95.5, 30.25"}, format="json"
        )
        assert response.status_code == 400
        message = " ".join(response.json()["address"])
        assert "unavailable" not in message
        assert "lat" in message

    @pytest.mark.parametrize(("given", "missing"), [({"lat": 59.9}, "lng"), ({"lng": 30.2}, "lat")])
    def test_only_one_coordinate_is_a_field_error(
        self, spb_api: APIClient, spb_client: Any, given: dict[str, float], missing: str
    ) -> None:
        response = spb_api.post(
            SITES, {"client": spb_client.id, "address": "Kupchino, Saint Petersburg", **given},
            format="json",
        )
        assert response.status_code == 400
        assert missing in response.json()
        assert not Site.objects.filter(client=spb_client).exists()

    @pytest.mark.parametrize(("field", "value"), [("lat", 91), ("lat", -90.5), ("lng", 181)])
    def test_coordinates_out_of_range(
        self, spb_api: APIClient, spb_client: Any, field: str, value: float
    ) -> None:
        body = {"client": spb_client.id, "address": "X", "lat": 59.9, "lng": 30.2, field: value}
        response = spb_api.post(SITES, body, format="json")
        assert response.status_code == 400
        assert field in response.json()

    def test_changing_the_address_geocodes_again(
        self, spb_api: APIClient, spb_site: Any
    ) -> None:
        response = spb_api.patch(
            f"{SITES}{spb_site.id}/", {"address": "Avtovo, Saint Petersburg"}, format="json"
        )
        assert response.status_code == 200, response.content
        spb_site.refresh_from_db()
        assert (spb_site.lat, spb_site.lng) != (59.87, 30.42)
        assert spb_site.address == "Avtovo, Saint Petersburg"

    def test_changing_notes_keeps_the_point(self, spb_api: APIClient, spb_site: Any) -> None:
        response = spb_api.patch(f"{SITES}{spb_site.id}/", {"notes": "Ramp B"}, format="json")
        assert response.status_code == 200
        spb_site.refresh_from_db()
        assert (spb_site.lat, spb_site.lng) == (59.87, 30.42)

    def test_filter_by_client(self, spb_api: APIClient, spb_site: Any, spb: Any) -> None:
        other = client_create(name="Other", franchise=spb)
        Site.objects.create(client=other, address="Y", lat=59.9, lng=30.3)
        rows = _results(spb_api.get(SITES, {"client": spb_site.client_id}))
        assert [row["id"] for row in rows] == [spb_site.id]


def _lead(**overrides: Any) -> dict[str, Any]:
    return {
        "contact_name": "Anna Smirnova",
        "phone": "8 921 555-11-22",
        "address": "Sofiyskaya 6, Saint Petersburg",
        "lat": 59.87,
        "lng": 30.42,
        "work_type": "loading",
        "headcount": 8,
        "start": (clock.now() + timedelta(days=2)).isoformat(),
        "hours": "6",
        **overrides,
    }


@pytest.mark.django_db
class TestLeads:
    def test_a_lead_in_a_territory_goes_to_its_office(
        self, hq_api: APIClient, spb: Any, nsk: Any
    ) -> None:
        response = hq_api.post(LEADS, _lead(), format="json")
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["franchise"] == spb.id
        assert body["status"] == "offered"
        assert body["phone"] == "+79215551122"
        assert body["routed_at"] is not None
        assert body["order"] is None
        hop = LeadHop.objects.get(lead_id=body["id"])
        assert hop.franchise == spb

    def test_a_lead_geocoded_from_its_address_is_routed(
        self, hq_api: APIClient, spb: Any
    ) -> None:
        data = _lead(address="Kupchino, Saint Petersburg")
        del data["lat"], data["lng"]
        response = hq_api.post(LEADS, data, format="json")
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["lat"] == pytest.approx(59.83)
        assert body["franchise"] == spb.id

    def test_a_lead_outside_every_territory_stays_with_hq(
        self, hq_api: APIClient, spb: Any, nsk: Any
    ) -> None:
        response = hq_api.post(LEADS, _lead(lat=43.1, lng=131.9), format="json")
        assert response.status_code == 201
        body = response.json()
        assert body["franchise"] is None
        assert body["status"] == "new"

    def test_a_paused_office_is_skipped(self, hq_api: APIClient, spb: Any) -> None:
        spb.leads_paused_until = clock.now() + timedelta(days=1)
        spb.save()
        response = hq_api.post(LEADS, _lead(), format="json")
        assert response.json()["franchise"] is None

    def test_list_and_read(self, hq_api: APIClient, spb_api: APIClient, spb: Any) -> None:
        created = hq_api.post(LEADS, _lead(), format="json").json()
        hq_api.post(LEADS, _lead(lat=43.1, lng=131.9), format="json")
        assert len(_results(hq_api.get(LEADS))) == 2
        mine = _results(spb_api.get(LEADS))
        assert [row["id"] for row in mine] == [created["id"]]
        detail = spb_api.get(f"{LEADS}{created['id']}/")
        assert detail.status_code == 200
        assert detail.json()["contact_name"] == "Anna Smirnova"

    def test_filter_by_status(self, hq_api: APIClient, spb: Any) -> None:
        hq_api.post(LEADS, _lead(), format="json")
        held = hq_api.post(LEADS, _lead(lat=43.1, lng=131.9), format="json").json()
        rows = _results(hq_api.get(LEADS, {"status": "new"}))
        assert [row["id"] for row in rows] == [held["id"]]

    def test_start_in_the_past_is_a_field_error(self, hq_api: APIClient, spb: Any) -> None:
        past = (clock.now() - timedelta(minutes=5)).isoformat()
        response = hq_api.post(LEADS, _lead(start=past), format="json")
        assert response.status_code == 400
        assert "start" in response.json()
        assert not Lead.objects.exists()

    def test_routing_fields_are_read_only(self, hq_api: APIClient, spb: Any, nsk: Any) -> None:
        response = hq_api.post(
            LEADS, _lead(franchise=nsk.id, status="accepted"), format="json"
        )
        assert response.status_code == 201
        assert response.json()["franchise"] == spb.id
        assert response.json()["status"] == "offered"

    @pytest.mark.parametrize(
        ("field", "value"),
        [("headcount", 0), ("hours", "0"), ("hours", "25"), ("work_type", "juggling"),
         ("phone", "123"), ("lat", 95), ("start", "tomorrow")],
    )
    def test_bad_fields(self, hq_api: APIClient, spb: Any, field: str, value: Any) -> None:
        response = hq_api.post(LEADS, _lead(**{field: value}), format="json")
        assert response.status_code == 400
        assert field in response.json()

    def test_the_holder_accepts_once_and_one_order_is_made(
        self, hq_api: APIClient, spb_api: APIClient, spb: Any
    ) -> None:
        lead = hq_api.post(LEADS, _lead(), format="json").json()
        first = spb_api.post(f"{LEADS}{lead['id']}/accept/")
        assert first.status_code == 201, first.content
        order = first.json()
        assert order["franchise"] == spb.id
        assert order["headcount"] == 8
        again = spb_api.post(f"{LEADS}{lead['id']}/accept/")
        assert again.status_code in (200, 201)
        assert again.json()["id"] == order["id"]
        assert Order.objects.filter(lead_id=lead["id"]).count() == 1
        detail = spb_api.get(f"{LEADS}{lead['id']}/").json()
        assert detail["status"] == "accepted"
        assert detail["order"] == order["id"]

    def test_a_rejected_lead_moves_on_and_keeps_the_hop(
        self, hq_api: APIClient, spb_api: APIClient, spb: Any
    ) -> None:
        lead = hq_api.post(LEADS, _lead(), format="json").json()
        response = spb_api.post(f"{LEADS}{lead['id']}/reject/", {"reason": "fully booked"},
                                format="json")
        assert response.status_code == 200, response.content
        assert response.json()["franchise"] is None
        hops = LeadHop.objects.filter(lead_id=lead["id"]).order_by("id")
        assert [hop.franchise_id for hop in hops] == [spb.id, None]
        assert hops[0].outcome == LeadHop.Outcome.REJECTED
        assert spb_api.get(f"{LEADS}{lead['id']}/").status_code == 404

    def test_leads_cannot_be_edited_or_deleted(self, hq_api: APIClient, spb: Any) -> None:
        lead = hq_api.post(LEADS, _lead(), format="json").json()
        assert hq_api.patch(f"{LEADS}{lead['id']}/", {"headcount": 3}).status_code == 405
        assert hq_api.delete(f"{LEADS}{lead['id']}/").status_code == 405
