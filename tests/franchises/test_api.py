"""`/api/v1/franchises/`: HQ manages the network, a franchise user sees its own row."""

import json
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from franchises.models import Franchise

URL = "/api/v1/franchises/"


def _office(territory: Any, **extra: Any) -> dict[str, Any]:
    return {
        "name": "Kazan office",
        "kind": "official_office",
        "city": "Kazan",
        "timezone": "Europe/Moscow",
        "royalty_rate": "0.1500",
        "monthly_fee": "10000.00",
        "territory": territory,
        **extra,
    }


@pytest.mark.django_db
class TestHQ:
    def test_lists_every_franchise(self, hq_api: APIClient, spb: Any, nsk: Any) -> None:
        response = hq_api.get(URL)
        assert response.status_code == 200
        body = response.json()
        assert body["count"] == 2
        assert {row["name"] for row in body["results"]} == {spb.name, nsk.name}
        row = next(r for r in body["results"] if r["id"] == spb.id)
        assert row["territory"]["type"] == "Polygon"
        assert row["reply_channels"] == ["sms"]
        assert row["kind"] == "official_office"
        assert Decimal(row["royalty_rate"]) == Decimal("0.15")

    def test_creates_with_a_geojson_territory(
        self, hq_api: APIClient, territory_box: Any
    ) -> None:
        territory = territory_box(55.79, 49.12)
        response = hq_api.post(URL, _office(territory), format="json")
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["territory"] == territory
        assert body["reply_channels"] == ["sms"]
        franchise = Franchise.objects.get(pk=body["id"])
        assert franchise.territory == territory
        assert franchise.monthly_fee == Decimal("10000.00")

    def test_creates_with_a_multipolygon(self, hq_api: APIClient, territory_box: Any) -> None:
        first = territory_box(55.79, 49.12, 0.1)["coordinates"]
        second = territory_box(55.60, 49.30, 0.05)["coordinates"]
        territory = {"type": "MultiPolygon", "coordinates": [first, second]}
        response = hq_api.post(URL, _office(territory), format="json")
        assert response.status_code == 201, response.content
        assert response.json()["territory"]["type"] == "MultiPolygon"

    def test_updates_territory_and_channels(
        self, hq_api: APIClient, spb: Any, territory_box: Any
    ) -> None:
        territory = territory_box(59.94, 30.31, 0.5)
        response = hq_api.patch(
            f"{URL}{spb.id}/",
            {"territory": territory, "reply_channels": ["sms", "link"]},
            format="json",
        )
        assert response.status_code == 200, response.content
        spb.refresh_from_db()
        assert spb.territory == territory
        assert spb.reply_channels == ["sms", "link"]

    def test_the_worker_fees_sit_side_by_side(self, hq_api: APIClient, spb: Any) -> None:
        row = hq_api.get(f"{URL}{spb.id}/").json()
        assert (row["standby_fee"], row["show_up_fee"]) == ("300.00", "500.00")
        response = hq_api.patch(f"{URL}{spb.id}/", {"show_up_fee": "650.50"}, format="json")
        assert response.status_code == 200, response.content
        spb.refresh_from_db()
        assert spb.show_up_fee == Decimal("650.50")

    @pytest.mark.parametrize("fee", ["-1", "abc", "12.345"])
    def test_a_bad_show_up_fee_is_a_field_error(self, hq_api: APIClient, spb: Any,
                                                fee: str) -> None:
        response = hq_api.patch(f"{URL}{spb.id}/", {"show_up_fee": fee}, format="json")
        assert response.status_code == 400
        assert "show_up_fee" in response.json()
        spb.refresh_from_db()
        assert spb.show_up_fee == Decimal(500)

    def test_filters_by_kind(self, hq_api: APIClient, spb: Any) -> None:
        Franchise.objects.create(name="Brand", kind=Franchise.Kind.BRAND_FRANCHISE)
        response = hq_api.get(URL, {"kind": "brand_franchise"})
        assert [row["name"] for row in response.json()["results"]] == ["Brand"]

    def test_headquarters_stays_headquarters_and_no_franchise_becomes_it(
        self, hq_api: APIClient, hq_franchise: Any, spb: Any
    ) -> None:
        demoted = hq_api.patch(f"{URL}{hq_franchise.id}/", {"kind": "official_office"},
                               format="json")
        promoted = hq_api.patch(f"{URL}{spb.id}/", {"kind": "hq"}, format="json")
        created = hq_api.post(URL, {"name": "Second HQ", "kind": "hq", "city": "Moscow",
                                    "timezone": "Europe/Moscow"}, format="json")
        assert [r.status_code for r in (demoted, promoted, created)] == [400, 400, 400]
        assert all("kind" in r.json() for r in (demoted, promoted, created))
        assert list(Franchise.objects.filter(kind=Franchise.Kind.HQ)) == [hq_franchise]
        assert Franchise.objects.get(pk=spb.pk).kind == Franchise.Kind.OFFICIAL_OFFICE

    def test_the_managers_phone_is_a_real_number_kept_in_e164(
        self, hq_api: APIClient, spb: Any
    ) -> None:
        bad = hq_api.patch(f"{URL}{spb.id}/", {"manager_phone": "not a phone"}, format="json")
        assert bad.status_code == 400
        assert "manager_phone" in bad.json()
        good = hq_api.patch(f"{URL}{spb.id}/", {"manager_phone": "8 921 123-45-67"},
                            format="json")
        assert good.status_code == 200, good.content
        assert good.json()["manager_phone"] == "+79211234567"

    def test_franchises_cannot_be_deleted_through_the_api(
        self, hq_api: APIClient, spb: Any
    ) -> None:
        assert hq_api.delete(f"{URL}{spb.id}/").status_code == 405
        assert Franchise.objects.filter(pk=spb.pk).exists()


@pytest.mark.django_db
class TestFranchiseUser:
    def test_sees_only_its_own(self, spb_api: APIClient, spb: Any, nsk: Any) -> None:
        body = spb_api.get(URL).json()
        assert body["count"] == 1
        assert body["results"][0]["id"] == spb.id
        assert spb_api.get(f"{URL}{spb.id}/").status_code == 200
        assert spb_api.get(f"{URL}{nsk.id}/").status_code == 404

    def test_cannot_create(self, spb_api: APIClient, territory_box: Any) -> None:
        response = spb_api.post(URL, _office(territory_box(55.79, 49.12)), format="json")
        assert response.status_code == 403
        assert not Franchise.objects.filter(name="Kazan office").exists()

    def test_cannot_change_its_own_terms(self, spb_api: APIClient, spb: Any) -> None:
        response = spb_api.patch(f"{URL}{spb.id}/", {"royalty_rate": "0.01"}, format="json")
        assert response.status_code == 403
        spb.refresh_from_db()
        assert spb.royalty_rate == Decimal("0.15")

    def test_foreman_sees_his_franchise_only(
        self, foreman_api: APIClient, spb: Any, nsk: Any
    ) -> None:
        body = foreman_api.get(URL).json()
        assert [row["id"] for row in body["results"]] == [spb.id]


@pytest.mark.django_db
class TestBadInput:
    def test_territory_as_a_string_is_a_field_error(
        self, hq_api: APIClient, territory_box: Any
    ) -> None:
        as_text = json.dumps(territory_box(55.79, 49.12))
        response = hq_api.post(URL, _office(as_text), format="json")
        assert response.status_code == 400
        assert "territory" in response.json()
        assert not Franchise.objects.exists()

    @pytest.mark.parametrize(
        "territory",
        [
            pytest.param(
                {"type": "Polygon", "coordinates": [[[49, 55], [50, 56], [50, 55], [49, 56],
                                                     [49, 55]]]},
                id="self-intersecting bow tie",
            ),
            pytest.param(
                {"type": "Polygon", "coordinates": [[[49, 55], [50, 55], [50, 56], [49, 56]]]},
                id="ring not closed",
            ),
            pytest.param(
                {"type": "Polygon", "coordinates": [[[49, 55], [50, 55], [49, 55]]]},
                id="too few positions",
            ),
            pytest.param(
                {"type": "Polygon", "coordinates": [[[49, 55], [50, 55], [51, 55], [49, 55]]]},
                id="no area",
            ),
            pytest.param(
                {"type": "Polygon", "coordinates": [[[49, 95], [50, 95], [50, 96], [49, 95]]]},
                id="latitude out of range",
            ),
            pytest.param({"type": "Point", "coordinates": [49, 55]}, id="a point"),
            pytest.param({"type": "Polygon"}, id="no coordinates"),
            pytest.param({"type": "Polygon", "coordinates": "abc"}, id="coordinates a string"),
            pytest.param(
                {"type": "Polygon", "coordinates": [[["49", "55"], ["50", "55"], ["50", "56"],
                                                     ["49", "55"]]]},
                id="coordinates as strings",
            ),
            pytest.param([[49, 55], [50, 55], [50, 56], [49, 55]], id="a bare list"),
        ],
    )
    def test_invalid_territory_is_a_field_error(self, hq_api: APIClient, territory: Any) -> None:
        response = hq_api.post(URL, _office(territory), format="json")
        assert response.status_code == 400, response.content
        assert "territory" in response.json()
        assert not Franchise.objects.exists()

    def test_only_the_geometry_of_a_territory_is_kept(
        self, hq_api: APIClient, territory_box: Any
    ) -> None:
        territory = territory_box(55.79, 49.12)
        extra = {"properties": {"name": "Kazan\x00"}, "crs": {"deep": [[[[["x"]]]]]}}
        response = hq_api.post(URL, _office({**territory, **extra}), format="json")
        assert response.status_code == 201, response.content
        assert response.json()["territory"] == territory
        assert Franchise.objects.get().territory == territory

    @pytest.mark.parametrize("coordinate", [10**400, 1e308, -(10**30)])
    def test_absurd_coordinates_are_a_field_error(
        self, hq_api: APIClient, coordinate: Any
    ) -> None:
        ring = [[coordinate, 55.0], [50.0, 55.0], [50.0, 56.0], [coordinate, 55.0]]
        response = hq_api.post(
            URL, _office({"type": "Polygon", "coordinates": [ring]}), format="json"
        )
        assert response.status_code == 400
        assert "territory" in response.json()

    def test_overlapping_official_offices_are_refused(
        self, hq_api: APIClient, spb: Any, territory_box: Any
    ) -> None:
        overlapping = territory_box(59.94 + 0.2, 30.31 + 0.2)
        response = hq_api.post(URL, _office(overlapping, name="Second SPb"), format="json")
        assert response.status_code == 400
        errors = response.json()["territory"]
        assert spb.name in " ".join(errors)
        assert not Franchise.objects.filter(name="Second SPb").exists()

    def test_moving_an_office_onto_another_is_refused(
        self, hq_api: APIClient, spb: Any, nsk: Any
    ) -> None:
        response = hq_api.patch(
            f"{URL}{nsk.id}/", {"territory": spb.territory}, format="json"
        )
        assert response.status_code == 400
        assert "territory" in response.json()
        nsk.refresh_from_db()
        assert nsk.territory != spb.territory

    def test_offices_sharing_only_a_border_are_fine(self, hq_api: APIClient, spb: Any) -> None:
        ring = spb.territory["coordinates"][0]
        east = max(lng for lng, _ in ring)
        south = min(lat for _, lat in ring)
        north = max(lat for _, lat in ring)
        neighbour = {
            "type": "Polygon",
            "coordinates": [[[east, south], [east + 0.5, south], [east + 0.5, north],
                             [east, north], [east, south]]],
        }
        response = hq_api.post(URL, _office(neighbour, name="Neighbour"), format="json")
        assert response.status_code == 201, response.content

    def test_a_brand_franchise_may_overlap_an_office(
        self, hq_api: APIClient, spb: Any
    ) -> None:
        response = hq_api.post(
            URL,
            _office(spb.territory, name="Nevsky Helpers", kind="brand_franchise"),
            format="json",
        )
        assert response.status_code == 201, response.content

    @pytest.mark.parametrize(
        "channels", [[], ["fax"], ["sms", "sms"], "sms", [1], None, [["sms"]]]
    )
    def test_bad_reply_channels_are_a_field_error(
        self, hq_api: APIClient, spb: Any, channels: Any
    ) -> None:
        response = hq_api.patch(f"{URL}{spb.id}/", {"reply_channels": channels}, format="json")
        assert response.status_code == 400, response.content
        assert "reply_channels" in response.json()
        spb.refresh_from_db()
        assert spb.reply_channels == ["sms"]

    def test_every_reply_channel_together_is_fine(self, hq_api: APIClient, spb: Any) -> None:
        response = hq_api.patch(
            f"{URL}{spb.id}/", {"reply_channels": ["voice", "link", "sms"]}, format="json"
        )
        assert response.status_code == 200
        assert sorted(response.json()["reply_channels"]) == ["link", "sms", "voice"]

    @pytest.mark.parametrize("timezone", ["Mars/Olympus", "MSK+3", "", "europe/moscow "])
    def test_bad_timezone_is_a_field_error(
        self, hq_api: APIClient, territory_box: Any, timezone: str
    ) -> None:
        response = hq_api.post(
            URL, _office(territory_box(55.79, 49.12), timezone=timezone), format="json"
        )
        assert response.status_code == 400
        assert "timezone" in response.json()

    @pytest.mark.parametrize("rate", ["1.5", "-0.1", "abc", "0.123456"])
    def test_bad_royalty_rate_is_a_field_error(
        self, hq_api: APIClient, spb: Any, rate: str
    ) -> None:
        response = hq_api.patch(f"{URL}{spb.id}/", {"royalty_rate": rate}, format="json")
        assert response.status_code == 400
        assert "royalty_rate" in response.json()

    def test_a_second_hq_is_a_400(self, hq_api: APIClient, hq_franchise: Any) -> None:
        response = hq_api.post(
            URL, {"name": "HQ 2", "kind": "hq", "city": "Moscow"}, format="json"
        )
        assert response.status_code == 400
        assert Franchise.objects.filter(kind="hq").count() == 1

    def test_unknown_kind_is_a_field_error(self, hq_api: APIClient) -> None:
        response = hq_api.post(URL, {"name": "X", "kind": "pirate"}, format="json")
        assert response.status_code == 400
        assert "kind" in response.json()
