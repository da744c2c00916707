"""`/api/v1/orders/`: placing, reading, changing and deleting orders."""

import secrets
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from clients.services import client_create, site_create
from core import clock
from dispatch.models import Offer, Order
from dispatch.services import order_place
from franchises.services import user_create
from messaging.grammar import ALPHABET
from workers.models import Worker

URL = "/api/v1/orders/"


def _order_body(client: Any, site: Any, start: Any, **overrides: Any) -> dict[str, Any]:
    return {
        "client": client.id,
        "site": site.id,
        "work_type": "loading",
        "headcount": 10,
        "start": start.isoformat(),
        "hours": "6",
        **overrides,
    }


def _offer(order: Order, phone: str, **fields: Any) -> Offer:
    worker = Worker.objects.create(
        name=f"W{phone[-3:]}", phone=phone, status=Worker.Status.ACTIVE, vetted_at=clock.now(),
        skills=["loading"],
    )
    return Offer.objects.create(
        order=order, worker=worker, sent_at=clock.now(), token=secrets.token_hex(16), **fields
    )


@pytest.mark.django_db
class TestCreate:
    def test_create_in_draft_with_code_and_booking_target(
        self, spb_api: APIClient, spb: Any, spb_client: Any, spb_site: Any, tomorrow_9am: Any
    ) -> None:
        response = spb_api.post(URL, _order_body(spb_client, spb_site, tomorrow_9am),
                                format="json")
        assert response.status_code == 201, response.content
        body = response.json()
        assert 3 <= len(body["code"]) <= 5
        assert set(body["code"]) <= set(ALPHABET)
        assert body["status"] == "draft"
        assert body["overbook_policy"] == "fixed"
        assert body["booking_target"] == 15
        assert body["franchise"] == spb.id
        assert body["counts"] == {
            "invited": 0, "accepted": 0, "confirmed": 0, "standby": 0, "present": 0,
            "no_show": 0,
        }
        # No rates given: priced as a quote for the same terms would be.
        quote = spb_api.post("/api/v1/quotes/", {
            "franchise": spb.id, "work_type": "loading", "conditions": spb_site.conditions,
            "headcount": 10, "hours": "6", "start": tomorrow_9am.isoformat(),
        }, format="json")
        assert quote.status_code == 200, quote.content
        assert (body["bill_rate"], body["pay_rate"]) == (
            quote.json()["bill_rate"], quote.json()["pay_rate"])
        order = Order.objects.get(pk=body["id"])
        assert order.start == tomorrow_9am
        assert order.hours == Decimal(6)

    def test_codes_of_open_orders_differ(
        self, spb_api: APIClient, spb_client: Any, spb_site: Any, tomorrow_9am: Any
    ) -> None:
        codes = {
            spb_api.post(URL, _order_body(spb_client, spb_site, tomorrow_9am),
                         format="json").json()["code"]
            for _ in range(20)
        }
        assert len(codes) == 20

    def test_given_rates_and_booking_ratio_are_used(
        self, spb_api: APIClient, spb: Any, spb_client: Any, spb_site: Any, tomorrow_9am: Any
    ) -> None:
        spb.booking_ratio = Decimal("1.2")
        spb.save()
        response = spb_api.post(
            URL,
            _order_body(spb_client, spb_site, tomorrow_9am, headcount=7, bill_rate="250.00",
                        pay_rate="110.50"),
            format="json",
        )
        assert response.status_code == 201
        body = response.json()
        assert body["booking_target"] == 9  # ceil(1.2 x 7)
        assert (body["bill_rate"], body["pay_rate"]) == ("250.00", "110.50")

    def test_an_urgent_order_minutes_from_now_is_fine(
        self, spb_api: APIClient, spb_client: Any, spb_site: Any
    ) -> None:
        soon = clock.now() + timedelta(minutes=20)
        response = spb_api.post(URL, _order_body(spb_client, spb_site, soon), format="json")
        assert response.status_code == 201

    def test_start_in_the_past_is_a_field_error(
        self, spb_api: APIClient, spb_client: Any, spb_site: Any
    ) -> None:
        past = clock.now() - timedelta(hours=1)
        response = spb_api.post(URL, _order_body(spb_client, spb_site, past), format="json")
        assert response.status_code == 400
        assert "start" in response.json()
        assert not Order.objects.exists()

    def test_site_of_another_client_is_a_field_error(
        self, spb_api: APIClient, spb: Any, spb_client: Any, tomorrow_9am: Any
    ) -> None:
        other = client_create(name="Other", franchise=spb)
        other_site = site_create(client=other, address="X", lat=59.9, lng=30.3)
        response = spb_api.post(URL, _order_body(spb_client, other_site, tomorrow_9am),
                                format="json")
        assert response.status_code == 400
        assert "site" in response.json()

    def test_client_of_another_franchise_does_not_exist(
        self, spb_api: APIClient, nsk: Any, spb_site: Any, tomorrow_9am: Any
    ) -> None:
        nsk_client = client_create(name="Sibir", franchise=nsk)
        nsk_site = site_create(client=nsk_client, address="Y", lat=55.0, lng=82.9)
        response = spb_api.post(URL, _order_body(nsk_client, nsk_site, tomorrow_9am),
                                format="json")
        assert response.status_code == 400
        errors = response.json()
        assert "does not exist" in errors["client"][0]
        assert "does not exist" in errors["site"][0]
        assert not Order.objects.exists()

    def test_hq_cannot_give_a_franchise_another_franchises_client(
        self, hq_api: APIClient, nsk: Any, spb_client: Any, spb_site: Any, tomorrow_9am: Any
    ) -> None:
        response = hq_api.post(
            URL, _order_body(spb_client, spb_site, tomorrow_9am, franchise=nsk.id),
            format="json",
        )
        assert response.status_code == 400
        assert "client" in response.json()

    def test_hq_places_an_order_for_the_clients_franchise(
        self, hq_api: APIClient, spb: Any, spb_client: Any, spb_site: Any, tomorrow_9am: Any
    ) -> None:
        response = hq_api.post(URL, _order_body(spb_client, spb_site, tomorrow_9am),
                               format="json")
        assert response.status_code == 201
        assert response.json()["franchise"] == spb.id

    def test_hq_client_without_franchise_needs_one_named(
        self, hq_api: APIClient, spb: Any, tomorrow_9am: Any
    ) -> None:
        own = client_create(name="HQ direct", franchise=None)
        site = site_create(client=own, address="Z", lat=59.9, lng=30.3)
        missing = hq_api.post(URL, _order_body(own, site, tomorrow_9am), format="json")
        assert missing.status_code == 400
        assert "franchise" in missing.json()
        named = hq_api.post(URL, _order_body(own, site, tomorrow_9am, franchise=spb.id),
                            format="json")
        assert named.status_code == 201

    @pytest.mark.parametrize(
        ("field", "value"),
        [("headcount", 0), ("headcount", -3), ("headcount", 501), ("hours", "0"),
         ("hours", "24.5"), ("hours", "6.25"), ("work_type", "juggling"),
         ("bill_rate", "-1"), ("overbook_policy", "gut"), ("start", "soon")],
    )
    def test_bad_fields(
        self, *, spb_api: APIClient, spb_client: Any, spb_site: Any, tomorrow_9am: Any,
        field: str, value: Any,
    ) -> None:
        body = {**_order_body(spb_client, spb_site, tomorrow_9am), field: value}
        response = spb_api.post(URL, body, format="json")
        assert response.status_code == 400
        assert field in response.json()
        assert not Order.objects.exists()

    def test_more_foremen_than_headcount_is_refused(
        self, spb_api: APIClient, spb_client: Any, spb_site: Any, tomorrow_9am: Any
    ) -> None:
        body = _order_body(spb_client, spb_site, tomorrow_9am, headcount=3, foremen_needed=4)
        response = spb_api.post(URL, body, format="json")
        assert response.status_code == 400
        assert "foremen_needed" in response.json()
        fine = spb_api.post(URL, body | {"foremen_needed": 1}, format="json")
        assert fine.status_code == 201
        assert fine.json()["foremen_needed"] == 1

    def test_read_only_fields_are_ignored(
        self, spb_api: APIClient, spb_client: Any, spb_site: Any, tomorrow_9am: Any
    ) -> None:
        response = spb_api.post(
            URL,
            _order_body(spb_client, spb_site, tomorrow_9am, code="AAA", status="completed",
                        booking_target=1),
            format="json",
        )
        assert response.status_code == 201
        body = response.json()
        assert body["status"] == "draft"
        assert body["booking_target"] == 15


@pytest.mark.django_db
class TestForemanOnTheOrder:
    def test_a_franchise_names_its_own_foreman(
        self, spb_api: APIClient, spb_foreman: Any, spb_client: Any, spb_site: Any,
        tomorrow_9am: Any,
    ) -> None:
        response = spb_api.post(
            URL, _order_body(spb_client, spb_site, tomorrow_9am, foreman=spb_foreman.id),
            format="json",
        )
        assert response.status_code == 201
        assert response.json()["foreman"] == spb_foreman.id

    def test_another_franchises_foreman_is_refused(
        self, *, spb_api: APIClient, hq_api: APIClient, nsk: Any, spb_client: Any, spb_site: Any,
        tomorrow_9am: Any,
    ) -> None:
        stranger = user_create(username="nsk-foreman", password="x", role="foreman",
                               franchise=nsk)
        body = _order_body(spb_client, spb_site, tomorrow_9am, foreman=stranger.id)
        for api in (spb_api, hq_api):
            response = api.post(URL, body, format="json")
            assert response.status_code == 400, response.content
            assert "foreman" in response.json()
        assert not Order.objects.exists()

    def test_a_manager_is_not_a_foreman(
        self, spb_api: APIClient, spb_user: Any, spb_client: Any, spb_site: Any,
        tomorrow_9am: Any,
    ) -> None:
        response = spb_api.post(
            URL, _order_body(spb_client, spb_site, tomorrow_9am, foreman=spb_user.id),
            format="json",
        )
        assert response.status_code == 400
        assert "foreman" in response.json()


@pytest.mark.django_db
class TestListAndRead:
    def test_list_is_paginated(
        self, spb_api: APIClient, spb_client: Any, spb_site: Any, tomorrow_9am: Any
    ) -> None:
        for hours in range(3):
            order_place(client=spb_client, site=spb_site, work_type="loading", headcount=2,
                        start=tomorrow_9am + timedelta(hours=hours), hours=Decimal(4))
        first = spb_api.get(URL, {"page_size": 2}).json()
        assert set(first) >= {"count", "next", "previous", "results"}
        assert first["count"] == 3
        assert len(first["results"]) == 2
        assert first["previous"] is None
        second = spb_api.get(first["next"]).json()
        assert len(second["results"]) == 1
        assert second["next"] is None
        assert second["previous"] is not None
        ids = [row["id"] for row in first["results"] + second["results"]]
        assert len(set(ids)) == 3

    def test_filter_by_status(
        self, spb_api: APIClient, spb_order: Order, spb_client: Any, spb_site: Any,
        tomorrow_9am: Any,
    ) -> None:
        other = order_place(client=spb_client, site=spb_site, work_type="moving", headcount=2,
                            start=tomorrow_9am, hours=Decimal(4))
        Order.objects.filter(pk=other.pk).update(status=Order.Status.CANCELLED)
        drafts = spb_api.get(URL, {"status": "draft"}).json()["results"]
        assert [row["id"] for row in drafts] == [spb_order.id]
        cancelled = spb_api.get(URL, {"status": "cancelled"}).json()["results"]
        assert [row["id"] for row in cancelled] == [other.id]
        assert spb_api.get(URL, {"status": "lost"}).status_code == 400

    def test_filter_by_code(self, spb_api: APIClient, spb_order: Order) -> None:
        rows = spb_api.get(URL, {"code": spb_order.code}).json()["results"]
        assert [row["id"] for row in rows] == [spb_order.id]

    def test_counts_follow_the_offers(self, spb_api: APIClient, spb_order: Order) -> None:
        _offer(spb_order, "+79000000001", response=Offer.Response.ACCEPTED,
               state=Offer.State.CONFIRMED)
        _offer(spb_order, "+79000000002", response=Offer.Response.ACCEPTED,
               state=Offer.State.STANDBY)
        _offer(spb_order, "+79000000003", response=Offer.Response.DECLINED)
        _offer(spb_order, "+79000000004")
        counts = spb_api.get(f"{URL}{spb_order.id}/").json()["counts"]
        assert counts == {"invited": 4, "accepted": 2, "confirmed": 1, "standby": 1,
                          "present": 0, "no_show": 0}
        listed = spb_api.get(URL).json()["results"][0]["counts"]
        assert listed == counts

    def test_offers_are_a_paginated_list(self, spb_api: APIClient, spb_order: Order) -> None:
        first = _offer(spb_order, "+79000000001", response=Offer.Response.ACCEPTED,
                       responded_at=clock.now())
        _offer(spb_order, "+79000000002", wave=2)
        body = spb_api.get(f"{URL}{spb_order.id}/offers/").json()
        assert body["count"] == 2
        assert body["previous"] is None
        row = body["results"][0]
        assert row["worker"] == first.worker_id
        assert row["wave"] == 1
        assert row["response"] == "accepted"
        assert row["state"] == "offered"
        assert row["sent_at"] is not None
        assert body["results"][1]["response"] is None
        assert "token" not in row

    def test_offers_of_an_unseen_order_are_a_404(
        self, nsk_api: APIClient, spb_order: Order
    ) -> None:
        assert nsk_api.get(f"{URL}{spb_order.id}/offers/").status_code == 404


@pytest.mark.django_db
class TestUpdateAndDelete:
    def test_update_a_draft(self, spb_api: APIClient, spb_order: Order) -> None:
        response = spb_api.patch(
            f"{URL}{spb_order.id}/", {"headcount": 4, "notes": "Side gate"}, format="json"
        )
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["headcount"] == 4
        assert body["booking_target"] == 6
        assert body["notes"] == "Side gate"

    def test_moving_a_draft_into_the_past_is_refused(
        self, spb_api: APIClient, spb_order: Order
    ) -> None:
        past = (clock.now() - timedelta(days=1)).isoformat()
        response = spb_api.patch(f"{URL}{spb_order.id}/", {"start": past}, format="json")
        assert response.status_code == 400
        assert "start" in response.json()

    def test_after_the_callout_the_shift_is_frozen(
        self, spb_api: APIClient, spb_order: Order
    ) -> None:
        Order.objects.filter(pk=spb_order.pk).update(status=Order.Status.CALLING)
        later = (spb_order.start + timedelta(hours=2)).isoformat()
        response = spb_api.patch(f"{URL}{spb_order.id}/", {"start": later}, format="json")
        assert response.status_code == 400
        assert "start" in response.json()
        notes = spb_api.patch(f"{URL}{spb_order.id}/", {"notes": "Call Oleg"}, format="json")
        assert notes.status_code == 200

    def test_franchise_user_cannot_move_an_order_to_another_franchise(
        self, spb_api: APIClient, spb_order: Order, spb: Any, nsk: Any
    ) -> None:
        response = spb_api.patch(f"{URL}{spb_order.id}/", {"franchise": nsk.id}, format="json")
        assert response.status_code == 400
        assert "franchise" in response.json()
        spb_order.refresh_from_db()
        assert spb_order.franchise == spb

    def test_delete_a_draft(self, spb_api: APIClient, spb_order: Order) -> None:
        _offer(spb_order, "+79000000001")
        assert spb_api.delete(f"{URL}{spb_order.id}/").status_code == 204
        assert not Order.objects.filter(pk=spb_order.pk).exists()

    def test_a_full_update_of_a_calling_order_with_the_same_shift_is_fine(
        self, spb_api: APIClient, spb_order: Order
    ) -> None:
        Order.objects.filter(pk=spb_order.pk).update(status=Order.Status.CALLING)
        current = spb_api.get(f"{URL}{spb_order.id}/").json()
        writable = ["client", "site", "franchise", "foreman", "work_type", "headcount", "start",
                    "hours", "bill_rate", "pay_rate", "overbook_policy", "foremen_needed"]
        body = {field: current[field] for field in writable} | {"notes": "Gate 4"}
        response = spb_api.put(f"{URL}{spb_order.id}/", body, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["notes"] == "Gate 4"
        more = spb_api.put(f"{URL}{spb_order.id}/", body | {"headcount": 12}, format="json")
        assert more.status_code == 400
        assert "headcount" in more.json()

    def test_a_calling_order_cannot_be_deleted(
        self, spb_api: APIClient, spb_order: Order
    ) -> None:
        Order.objects.filter(pk=spb_order.pk).update(status=Order.Status.CALLING)
        response = spb_api.delete(f"{URL}{spb_order.id}/")
        assert response.status_code == 400
        assert Order.objects.filter(pk=spb_order.pk).exists()


@pytest.mark.django_db
class TestForeman:
    def test_sees_only_orders_he_runs(
        self, *, foreman_api: APIClient, spb_foreman: Any, spb_order: Order, spb_client: Any,
        spb_site: Any, tomorrow_9am: Any,
    ) -> None:
        his = order_place(client=spb_client, site=spb_site, work_type="loading", headcount=3,
                          start=tomorrow_9am, hours=Decimal(5), foreman=spb_foreman)
        rows = foreman_api.get(URL).json()["results"]
        assert [row["id"] for row in rows] == [his.id]
        assert foreman_api.get(f"{URL}{his.id}/").status_code == 200
        assert foreman_api.get(f"{URL}{spb_order.id}/").status_code == 404

    def test_cannot_create_change_or_delete(
        self, foreman_api: APIClient, spb_foreman: Any, spb_client: Any, spb_site: Any,
        tomorrow_9am: Any,
    ) -> None:
        response = foreman_api.post(URL, _order_body(spb_client, spb_site, tomorrow_9am),
                                    format="json")
        assert response.status_code == 403
        his = order_place(client=spb_client, site=spb_site, work_type="loading", headcount=3,
                          start=tomorrow_9am, hours=Decimal(5), foreman=spb_foreman)
        patch = foreman_api.patch(f"{URL}{his.id}/", {"headcount": 50}, format="json")
        assert patch.status_code == 403
        assert foreman_api.delete(f"{URL}{his.id}/").status_code == 403
        his.refresh_from_db()
        assert his.headcount == 3
