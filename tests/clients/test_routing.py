"""Where a call-centre lead goes, how it moves on, and how it becomes one order."""

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from clients.models import Client, Lead, LeadHop, Site
from clients.routing import (
    STAFFING_RADIUS_KM,
    Cause,
    HopReason,
    Why,
    hop_reason_read,
    lead_reject,
    lead_route,
    leads_reroute_expired,
    routing_candidates,
)
from clients.services import client_create, lead_create, site_create
from clients.tasks import reroute_expired_leads
from core import clock
from dispatch.models import Order
from dispatch.services.leads import lead_accept
from franchises.models import Franchise
from franchises.services import franchise_save, user_create
from workers.models import Worker
from workers.services import worker_create

LEADS = "/api/v1/leads/"
NOW = datetime(2030, 3, 10, 9, 0, tzinfo=UTC)
SLA = timedelta(minutes=15)
# Points: a site in Saint Petersburg (the official office's city), one in Kazan (no office,
# brand franchises only) and one in Vladivostok (nobody's territory).
SPB_POINT = (59.87, 30.42)
KAZAN = (55.79, 49.12)
VLADIVOSTOK = (43.1, 131.9)

_phones = itertools.count(1)


def _next_phone() -> str:
    return f"+7922{next(_phones) % 10**7:07d}"


@pytest.fixture
def vclock(settings: Any) -> Iterator[clock.VirtualClock]:
    settings.LEAD_SLA_MINUTES = int(SLA.total_seconds() // 60)
    virtual = clock.VirtualClock(NOW)
    with clock.use_clock(virtual):
        yield virtual


def _brand(name: str, point: tuple[float, float], box: Any, **fields: Any) -> Franchise:
    return franchise_save(franchise=Franchise(
        name=name, kind=Franchise.Kind.BRAND_FRANCHISE, territory=box(*point), **fields
    ))


def _lead(point: tuple[float, float] = SPB_POINT, *, phone: str | None = None,
          address: str = "Sofiyskaya 6, Saint Petersburg", headcount: int = 4,
          work_type: str = "loading") -> Lead:
    return lead_create(
        contact_name="Anna Smirnova", phone=phone or _next_phone(), address=address,
        lat=point[0], lng=point[1], work_type=work_type, headcount=headcount,
        start=clock.now() + timedelta(days=2), hours=Decimal(6),
    )


def _api(user: Any) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def _franchise_api(franchise: Franchise) -> APIClient:
    return _api(user_create(username=f"manager-{franchise.pk}", password="pw-12345",
                            role="franchise", franchise=franchise))


def _hops(lead: Lead) -> list[tuple[int | None, str]]:
    return [(hop.franchise_id, hop.outcome) for hop in lead.hops.order_by("offered_at", "id")]


@pytest.fixture
def kazan_brands(db: Any, territory_box: Any) -> tuple[Franchise, Franchise]:
    first = _brand("Kazan Loaders", KAZAN, territory_box)
    second = _brand("Volga Crew", KAZAN, territory_box)
    return first, second


@pytest.fixture
def spb_brand(db: Any, territory_box: Any) -> Franchise:
    """A brand franchise working in Saint Petersburg beside the official office."""
    return _brand("Neva Movers", (59.94, 30.31), territory_box)


@pytest.mark.django_db
@pytest.mark.usefixtures("vclock")
class TestWhoGetsTheLead:
    def test_the_official_office_whose_territory_holds_the_point(
        self, spb: Franchise, nsk: Franchise, spb_brand: Franchise
    ) -> None:
        lead = _lead()
        assert (lead.franchise, lead.status) == (spb, Lead.Status.OFFERED)
        assert lead.routed_at == NOW
        assert lead.respond_by == NOW + SLA
        hop = lead.hops.get()
        assert (hop.franchise, hop.outcome, hop.offered_at) == (spb, "pending", NOW)
        assert "official office" in hop.reason
        assert _lead((55.03, 82.92)).franchise == nsk

    def test_a_brand_franchise_when_no_office_covers_the_point(
        self, spb: Franchise, kazan_brands: tuple[Franchise, Franchise]
    ) -> None:
        lead = _lead(KAZAN, address="Kazan, Baumana 1")
        assert lead.franchise in kazan_brands
        assert lead.status == Lead.Status.OFFERED
        assert "brand franchise" in lead.hops.get().reason

    def test_the_brand_with_fewer_recent_leads_comes_first(
        self, kazan_brands: tuple[Franchise, Franchise]
    ) -> None:
        first, second = kazan_brands
        # A tie goes to the older franchise; after that they take turns.
        assert [_lead(KAZAN).franchise for _ in range(4)] == [first, second, first, second]
        candidates = routing_candidates(lead=_lead(KAZAN))
        assert [franchise for franchise, _ in candidates] == [second]  # first holds it now

    def test_a_brand_that_had_more_leads_waits_its_turn(
        self, kazan_brands: tuple[Franchise, Franchise]
    ) -> None:
        first, second = kazan_brands
        second.leads_paused_until = NOW + timedelta(minutes=5)
        franchise_save(franchise=second)
        assert [_lead(KAZAN).franchise for _ in range(3)] == [first, first, first]
        second.leads_paused_until = None
        franchise_save(franchise=second)
        # Three recent leads against none: the second brand takes the next three.
        assert [_lead(KAZAN).franchise for _ in range(4)] == [second, second, second, first]

    def test_only_recent_leads_count(
        self, vclock: clock.VirtualClock, kazan_brands: tuple[Franchise, Franchise]
    ) -> None:
        first, _ = kazan_brands
        vclock.set(NOW - timedelta(days=40))
        assert _lead(KAZAN).franchise == first
        vclock.set(NOW)
        # The lead of forty days ago is outside the window: a tie again, so the first again.
        assert _lead(KAZAN).franchise == first

    def test_hq_holds_a_lead_nobody_covers(self, spb: Franchise, nsk: Franchise) -> None:
        lead = _lead(VLADIVOSTOK, address="Vladivostok, Svetlanskaya 1")
        assert lead.franchise is None
        assert lead.status == Lead.Status.NEW
        assert lead.respond_by is None
        hop = lead.hops.get()
        assert (hop.franchise, hop.outcome) == (None, "pending")
        assert "HQ holds it" in hop.reason

    def test_the_franchise_that_served_the_client_comes_first(
        self, spb: Franchise, spb_brand: Franchise
    ) -> None:
        client_create(name="Old customer", franchise=spb_brand, phone="+78125550199")
        lead = _lead(phone="8 (812) 555-01-99")
        assert lead.franchise == spb_brand
        assert "served this client before" in lead.hops.get().reason
        # Turned down there, it goes to the office, then to HQ.
        lead = lead_reject(lead=lead)
        assert lead.franchise == spb
        lead = lead_reject(lead=lead)
        assert (lead.franchise, lead.status) == (None, Lead.Status.REJECTED)

    def test_every_reason_routing_writes_is_read_back_in_parts(
        self, vclock: clock.VirtualClock, spb: Franchise, spb_brand: Franchise
    ) -> None:
        """The journey's words come apart again (pages say them in the reader's language): a
        franchise's own reason kept whole, brackets and colons in it included."""
        client_create(name="Old customer", franchise=spb_brand, phone="+78125550198")
        lead = _lead(phone="+78125550198")
        lead = lead_reject(lead=lead, reason="too far (Kolpino): no crew")
        vclock.set(NOW + SLA + timedelta(seconds=1))
        assert leads_reroute_expired() == 1
        reasons = [hop.reason for hop in lead.hops.order_by("offered_at", "id")]
        assert [hop_reason_read(reason) for reason in reasons] == [
            HopReason(cause=Cause.NEW, why=Why.SERVED_BEFORE),
            HopReason(cause=Cause.REJECTED, said="too far (Kolpino): no crew",
                      why=Why.OFFICIAL_OFFICE),
            HopReason(cause=Cause.EXPIRED, why=Why.NOBODY_LEFT, held_by_hq=True),
        ]
        assert hop_reason_read("handed on by HQ (hq-desk)") == HopReason(handed_by="hq-desk")
        assert hop_reason_read("typed by hand") is None

    def test_a_previous_franchise_outside_the_point_still_comes_first(
        self, spb: Franchise, nsk: Franchise
    ) -> None:
        client_create(name="Moved east", franchise=nsk, phone="+78125550177")
        assert _lead(phone="+78125550177").franchise == nsk

    def test_a_paused_franchise_is_skipped(
        self, vclock: clock.VirtualClock, spb: Franchise, spb_brand: Franchise
    ) -> None:
        spb.leads_paused_until = NOW + timedelta(days=3)
        franchise_save(franchise=spb)
        assert _lead().franchise == spb_brand
        spb_brand.leads_paused_until = NOW + timedelta(hours=1)
        franchise_save(franchise=spb_brand)
        assert _lead().franchise is None
        # A pause that has ended no longer counts.
        vclock.set(NOW + timedelta(hours=2))
        assert _lead().franchise == spb_brand

    def test_a_paused_previous_franchise_is_skipped(
        self, spb: Franchise, spb_brand: Franchise
    ) -> None:
        client_create(name="Old customer", franchise=spb_brand, phone="+78125550199")
        spb_brand.leads_paused_until = NOW + timedelta(days=1)
        franchise_save(franchise=spb_brand)
        assert _lead(phone="+78125550199").franchise == spb

    def test_an_inactive_franchise_is_skipped(
        self, spb: Franchise, spb_brand: Franchise
    ) -> None:
        spb.is_active = False
        franchise_save(franchise=spb)
        assert _lead().franchise == spb_brand
        spb_brand.is_active = False
        franchise_save(franchise=spb_brand)
        assert _lead().franchise is None

    def test_the_hq_franchise_never_holds_a_lead_as_a_candidate(
        self, hq_franchise: Franchise, spb: Franchise, territory_box: Any
    ) -> None:
        hq_franchise.territory = territory_box(*VLADIVOSTOK)
        franchise_save(franchise=hq_franchise)
        assert _lead(VLADIVOSTOK).franchise is None


@pytest.mark.django_db
class TestSla:
    def test_an_unanswered_lead_moves_on_and_the_hops_keep_every_step(
        self, vclock: clock.VirtualClock, spb: Franchise, spb_brand: Franchise,
        hq_api: APIClient,
    ) -> None:
        lead = _lead()
        assert lead.franchise == spb
        vclock.set(NOW + SLA)
        assert leads_reroute_expired() == 0  # due, not yet past
        vclock.set(NOW + SLA + timedelta(seconds=1))
        assert leads_reroute_expired() == 1
        lead.refresh_from_db()
        assert (lead.franchise, lead.status) == (spb_brand, Lead.Status.OFFERED)
        assert lead.respond_by == NOW + SLA + timedelta(seconds=1) + SLA
        assert _hops(lead) == [(spb.pk, "timed_out"), (spb_brand.pk, "pending")]
        assert leads_reroute_expired() == 0  # the new holder has its own time

        vclock.set(lead.respond_by + timedelta(minutes=1))
        assert leads_reroute_expired() == 1
        lead.refresh_from_db()
        assert lead.franchise is None
        assert lead.status == Lead.Status.EXPIRED
        assert "no other franchise left" in lead.hops.order_by("offered_at", "id").last().reason
        assert lead.respond_by is None
        assert leads_reroute_expired() == 0
        assert _hops(lead) == [
            (spb.pk, "timed_out"), (spb_brand.pk, "timed_out"), (None, "pending"),
        ]
        answered = [hop.answered_at for hop in lead.hops.order_by("offered_at", "id")]
        assert answered == [NOW + SLA + timedelta(seconds=1), lead.routed_at, None]

        body = hq_api.get(f"{LEADS}{lead.pk}/hops/").json()
        assert [(row["franchise"], row["outcome"]) for row in body] == [
            (spb.pk, "timed_out"), (spb_brand.pk, "timed_out"), (None, "pending"),
        ]
        assert all(row["reason"] for row in body)

    def test_the_periodic_task_moves_expired_leads(
        self, vclock: clock.VirtualClock, spb: Franchise, spb_brand: Franchise
    ) -> None:
        lead = _lead()
        vclock.set(NOW + timedelta(hours=1))
        reroute_expired_leads.delay()
        lead.refresh_from_db()
        assert lead.franchise == spb_brand

    def test_a_held_lead_is_not_routed_over_its_holder(
        self, spb: Franchise, spb_brand: Franchise
    ) -> None:
        lead = _lead()
        with pytest.raises(ValidationError, match="held until its holder answers"):
            lead_route(lead=lead, reason="routed again")
        held_by_hq = _lead(VLADIVOSTOK)
        with pytest.raises(ValidationError, match="held until its holder answers"):
            lead_route(lead=held_by_hq, reason="routed again")
        lead.refresh_from_db()
        assert lead.franchise == spb
        assert _hops(lead) == [(spb.pk, "pending")]
        assert _hops(held_by_hq) == [(None, "pending")]

    def test_an_accepted_lead_is_not_routed_again(
        self, spb: Franchise, spb_brand: Franchise, hq_user: Any
    ) -> None:
        lead = _lead()
        order = lead_accept(lead=lead, user=hq_user)
        with pytest.raises(ValidationError, match="accepted lead"):
            lead_route(lead=lead, reason="routed again")
        lead.refresh_from_db()
        assert (lead.franchise, lead.status, lead.order) == (spb, Lead.Status.ACCEPTED, order)
        assert _hops(lead) == [(spb.pk, "accepted")]

    def test_an_accepted_lead_does_not_move(
        self, vclock: clock.VirtualClock, spb: Franchise, spb_brand: Franchise, hq_user: Any
    ) -> None:
        lead = _lead()
        lead_accept(lead=lead, user=hq_user)
        vclock.set(NOW + timedelta(hours=1))
        assert leads_reroute_expired() == 0
        lead.refresh_from_db()
        assert (lead.franchise, lead.status) == (spb, Lead.Status.ACCEPTED)
        assert _hops(lead) == [(spb.pk, "accepted")]


@pytest.mark.django_db
@pytest.mark.usefixtures("vclock")
class TestRejectViaApi:
    def test_reject_offers_it_to_the_next_candidate_then_hq(
        self, spb: Franchise, spb_brand: Franchise, spb_api: APIClient, hq_api: APIClient
    ) -> None:
        lead = _lead()
        response = spb_api.post(f"{LEADS}{lead.pk}/reject/", {"reason": "fully booked"},
                                format="json")
        assert response.status_code == 200, response.content
        assert response.json()["franchise"] == spb_brand.pk
        assert response.json()["status"] == "offered"
        # The office no longer holds it, so no longer sees it.
        assert spb_api.get(f"{LEADS}{lead.pk}/").status_code == 404
        brand_api = _franchise_api(spb_brand)
        assert brand_api.get(f"{LEADS}{lead.pk}/").status_code == 200

        response = brand_api.post(f"{LEADS}{lead.pk}/reject/", {}, format="json")
        assert response.status_code == 200, response.content
        body = response.json()
        assert (body["status"], body["franchise"]) == ("rejected", None)
        lead.refresh_from_db()
        assert (lead.status, lead.franchise) == (Lead.Status.REJECTED, None)
        assert _hops(lead) == [
            (spb.pk, "rejected"), (spb_brand.pk, "rejected"), (None, "pending"),
        ]
        assert "fully booked" in lead.hops.order_by("offered_at", "id")[1].reason
        assert brand_api.get(f"{LEADS}{lead.pk}/").status_code == 404

        # Nobody is left to turn it down again, nor to accept it.
        again = hq_api.post(f"{LEADS}{lead.pk}/reject/", {}, format="json")
        assert again.status_code == 400
        assert hq_api.post(f"{LEADS}{lead.pk}/accept/").status_code == 400
        assert not Order.objects.exists()

    def test_reject_with_a_single_candidate_leaves_it_to_hq(
        self, spb: Franchise, spb_api: APIClient
    ) -> None:
        lead = _lead()
        response = spb_api.post(f"{LEADS}{lead.pk}/reject/", {}, format="json")
        assert response.status_code == 200
        assert (response.json()["status"], response.json()["franchise"]) == ("rejected", None)
        lead.refresh_from_db()
        assert _hops(lead) == [(spb.pk, "rejected"), (None, "pending")]

    def test_hq_hands_a_lead_every_candidate_turned_down_to_a_franchise_it_chooses(
        self, spb: Franchise, spb_api: APIClient, hq_api: APIClient, hq_user: Any
    ) -> None:
        lead = _lead()
        spb_api.post(f"{LEADS}{lead.pk}/reject/", {"reason": "fully booked"}, format="json")

        response = hq_api.post(f"{LEADS}{lead.pk}/hand-on/", {"franchise": spb.pk},
                               format="json")

        assert response.status_code == 200, response.content
        assert (response.json()["status"], response.json()["franchise"]) == ("offered", spb.pk)
        lead.refresh_from_db()
        assert lead.respond_by == NOW + SLA
        assert _hops(lead) == [(spb.pk, "rejected"), (None, "handed_on"), (spb.pk, "pending")]
        assert hq_user.username in lead.hops.order_by("offered_at", "id").last().reason
        accepted = spb_api.post(f"{LEADS}{lead.pk}/accept/")
        assert accepted.status_code == 201, accepted.content
        assert Order.objects.get().franchise == spb

    def test_hq_hands_on_a_lead_nobody_covers(
        self, spb: Franchise, nsk: Franchise, hq_api: APIClient
    ) -> None:
        lead = _lead(VLADIVOSTOK)
        response = hq_api.post(f"{LEADS}{lead.pk}/hand-on/", {"franchise": nsk.pk},
                               format="json")
        assert response.status_code == 200, response.content
        assert _hops(Lead.objects.get(pk=lead.pk)) == [(None, "handed_on"), (nsk.pk, "pending")]

    def test_only_a_lead_hq_holds_is_handed_on_and_only_by_hq(
        self, spb: Franchise, nsk: Franchise, spb_api: APIClient, hq_api: APIClient,
        hq_franchise: Franchise,
    ) -> None:
        offered = _lead()
        held = _lead(VLADIVOSTOK)
        refused = hq_api.post(f"{LEADS}{offered.pk}/hand-on/", {"franchise": nsk.pk},
                              format="json")
        assert refused.status_code == 400
        assert "status" in refused.json()
        own = spb_api.post(f"{LEADS}{offered.pk}/hand-on/", {"franchise": spb.pk},
                           format="json")
        assert own.status_code == 403
        assert spb_api.post(f"{LEADS}{held.pk}/hand-on/", {"franchise": spb.pk},
                            format="json").status_code == 404
        for body in ({}, {"franchise": hq_franchise.pk}, {"franchise": 987654}):
            response = hq_api.post(f"{LEADS}{held.pk}/hand-on/", body, format="json")
            assert response.status_code == 400, body
            assert "franchise" in response.json()
        assert _hops(Lead.objects.get(pk=held.pk)) == [(None, "pending")]
        assert _hops(Lead.objects.get(pk=offered.pk)) == [(spb.pk, "pending")]

    def test_a_rejected_franchise_is_not_offered_the_lead_again(
        self, spb: Franchise, spb_brand: Franchise, spb_api: APIClient
    ) -> None:
        lead = _lead()
        spb_api.post(f"{LEADS}{lead.pk}/reject/", {}, format="json")
        assert [f for f, _ in routing_candidates(lead=Lead.objects.get(pk=lead.pk))] == []

    def test_a_bad_reason_is_a_field_error(self, spb: Franchise, spb_api: APIClient) -> None:
        lead = _lead()
        response = spb_api.post(f"{LEADS}{lead.pk}/reject/", {"reason": "x" * 201},
                                format="json")
        assert response.status_code == 400
        assert "reason" in response.json()
        lead.refresh_from_db()
        assert lead.franchise == spb


@pytest.mark.django_db
@pytest.mark.usefixtures("vclock")
class TestAcceptViaApi:
    def test_accept_makes_exactly_one_order(
        self, spb: Franchise, spb_api: APIClient, hq_api: APIClient
    ) -> None:
        lead = _lead(headcount=5, work_type="moving")
        response = spb_api.post(f"{LEADS}{lead.pk}/accept/")
        assert response.status_code == 201, response.content
        body = response.json()
        order = Order.objects.get()
        assert body["id"] == order.pk
        assert (order.franchise, order.lead_id) == (spb, lead.pk)
        assert (order.work_type, order.headcount, order.hours) == ("moving", 5, Decimal(6))
        assert order.start == lead.start
        assert order.status == Order.Status.DRAFT
        client = order.client
        assert (client.name, str(client.phone), client.franchise) == (
            "Anna Smirnova", str(lead.phone), spb)
        assert (order.site.address, order.site.lat, order.site.lng) == (
            lead.address, lead.lat, lead.lng)

        second = spb_api.post(f"{LEADS}{lead.pk}/accept/")
        assert second.status_code in (200, 201)
        assert second.json()["id"] == order.pk
        third = hq_api.post(f"{LEADS}{lead.pk}/accept/")
        assert third.json()["id"] == order.pk
        assert Order.objects.count() == 1
        assert Client.objects.count() == 1
        assert Site.objects.count() == 1

        lead.refresh_from_db()
        assert lead.status == Lead.Status.ACCEPTED
        assert _hops(lead) == [(spb.pk, "accepted")]
        detail = spb_api.get(f"{LEADS}{lead.pk}/").json()
        assert (detail["status"], detail["order"]) == ("accepted", order.pk)
        # An accepted lead is settled: it cannot be turned down any more.
        assert spb_api.post(f"{LEADS}{lead.pk}/reject/", {}, format="json").status_code == 400

    def test_an_existing_client_and_site_are_reused(
        self, spb: Franchise, nsk: Franchise, spb_api: APIClient
    ) -> None:
        # The same phone at another franchise is that franchise's customer, not this one's.
        client_create(name="Someone at nsk", franchise=nsk, phone="+78125550101")
        client = client_create(name="Lenta warehouse", franchise=spb, phone="+78125550101")
        site = site_create(client=client, address="Sofiyskaya 6, Saint Petersburg",
                           lat=59.8705, lng=30.4213)
        lead = _lead(phone="+7 812 555 01 01", address="  sofiyskaya 6, saint petersburg ")
        assert lead.franchise == spb
        response = spb_api.post(f"{LEADS}{lead.pk}/accept/")
        assert response.status_code == 201, response.content
        order = Order.objects.get()
        assert order.client == client
        assert order.site == site
        assert Client.objects.count() == 2
        assert Site.objects.count() == 1

    def test_a_site_at_another_address_is_a_new_site_of_the_same_client(
        self, spb: Franchise, spb_api: APIClient
    ) -> None:
        client = client_create(name="Lenta warehouse", franchise=spb, phone="+78125550101")
        far = site_create(client=client, address="Nevsky 1, Saint Petersburg", lat=59.936,
                          lng=30.315)
        lead = _lead(phone="+78125550101")
        spb_api.post(f"{LEADS}{lead.pk}/accept/")
        order = Order.objects.get()
        assert order.client == client
        assert order.site != far
        assert (order.site.client, order.site.address) == (client, lead.address)

    def test_accepting_a_lead_hq_holds_is_refused(
        self, spb: Franchise, hq_api: APIClient
    ) -> None:
        lead = _lead(VLADIVOSTOK)
        response = hq_api.post(f"{LEADS}{lead.pk}/accept/")
        assert response.status_code == 400
        assert not Order.objects.exists()
        assert not Client.objects.exists()

    def test_accepting_after_the_start_has_passed_is_refused(
        self, vclock: clock.VirtualClock, spb: Franchise, spb_api: APIClient
    ) -> None:
        lead = _lead()
        vclock.set(lead.start + timedelta(minutes=1))
        response = spb_api.post(f"{LEADS}{lead.pk}/accept/")
        assert response.status_code == 400
        assert not Order.objects.exists()
        assert not Client.objects.exists()
        lead.refresh_from_db()
        assert lead.status == Lead.Status.OFFERED

    def test_the_order_is_priced_from_the_rate_card(
        self, spb: Franchise, spb_api: APIClient, hq_api: APIClient
    ) -> None:
        lead = _lead(headcount=3)
        order = spb_api.post(f"{LEADS}{lead.pk}/accept/").json()
        quote = hq_api.post("/api/v1/quotes/", {
            "franchise": spb.pk, "work_type": "loading", "conditions": "warm_indoor",
            "headcount": 3, "hours": "6", "start": lead.start.isoformat(),
        }, format="json").json()
        assert (order["bill_rate"], order["pay_rate"]) == (quote["bill_rate"], quote["pay_rate"])


@pytest.mark.django_db
@pytest.mark.usefixtures("vclock")
class TestFranchiseScope:
    def test_another_franchise_cannot_see_or_answer_the_lead(
        self, spb: Franchise, nsk: Franchise, nsk_api: APIClient, spb_api: APIClient
    ) -> None:
        lead = _lead()
        mine = _lead((55.03, 82.92), address="Novosibirsk, Lenina 1")
        url = f"{LEADS}{lead.pk}/"
        assert nsk_api.get(url).status_code == 404
        assert nsk_api.get(f"{url}hops/").status_code == 404
        assert nsk_api.post(f"{url}accept/").status_code == 404
        assert nsk_api.post(f"{url}reject/", {}, format="json").status_code == 404
        listed = nsk_api.get(LEADS).json()["results"]
        assert [row["id"] for row in listed] == [mine.pk]
        assert spb_api.get(f"{LEADS}{mine.pk}/").status_code == 404
        lead.refresh_from_db()
        assert (lead.franchise, lead.status) == (spb, Lead.Status.OFFERED)
        assert not Order.objects.exists()

    def test_the_service_refuses_a_user_of_another_franchise(
        self, spb: Franchise, nsk_user: Any
    ) -> None:
        lead = _lead()
        with pytest.raises(ValidationError, match="another franchise"):
            lead_accept(lead=lead, user=nsk_user)
        assert not Order.objects.exists()

    def test_a_lead_that_moved_on_is_out_of_the_old_holders_reach(
        self, spb: Franchise, spb_brand: Franchise, spb_api: APIClient
    ) -> None:
        lead = lead_reject(lead=_lead())
        assert lead.franchise == spb_brand
        assert spb_api.post(f"{LEADS}{lead.pk}/accept/").status_code == 404
        assert not Order.objects.exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("vclock")
class TestStaffing:
    def _worker(self, hq_user: Any, lat: float, lng: float, *, skills: tuple[str, ...] = (
            "loading",), status: str = Worker.Status.ACTIVE) -> Worker:
        return worker_create(name="Ivan", phone=_next_phone(), skills=list(skills), lat=lat,
                             lng=lng, status=status, created_by=hq_user)

    @pytest.fixture
    def pool(self, hq_user: Any) -> list[Worker]:
        lat, lng = SPB_POINT
        near = [self._worker(hq_user, lat + 0.01 * i, lng) for i in range(4)]
        near.append(self._worker(hq_user, lat, lng + 0.05, skills=("general",)))
        self._worker(hq_user, lat + 1.0, lng)  # about 111 km away
        self._worker(hq_user, lat, lng, skills=("roofing",))
        self._worker(hq_user, lat, lng, status=Worker.Status.APPLICANT)
        return near

    def test_workers_in_reach_are_counted_when_routed(
        self, spb: Franchise, pool: list[Worker], spb_api: APIClient
    ) -> None:
        lead = _lead(headcount=1)
        assert lead.workers_in_reach == 5
        assert lead.staffing_note == ""
        body = spb_api.get(f"{LEADS}{lead.pk}/").json()
        assert (body["workers_in_reach"], body["staffing_note"]) == (5, "")

    def test_a_thin_pool_is_noted(self, spb: Franchise, pool: list[Worker]) -> None:
        tight = _lead(headcount=2)
        assert tight.workers_in_reach == 5
        assert tight.staffing_note.startswith("Tight: 5 suitable workers")
        short = _lead(headcount=6)
        assert short.staffing_note == (
            f"Not enough: 5 suitable workers within {STAFFING_RADIUS_KM:.0f} km for 6 places."
        )

    def test_only_workers_with_the_skill_count(self, spb: Franchise, pool: list[Worker]) -> None:
        assert _lead(work_type="roofing", headcount=1).workers_in_reach == 1

    def test_hq_leads_are_probed_too(self, spb: Franchise, pool: list[Worker]) -> None:
        assert _lead(VLADIVOSTOK).workers_in_reach == 0

    def test_rerouting_refreshes_the_count(
        self, spb: Franchise, spb_brand: Franchise, pool: list[Worker], hq_user: Any
    ) -> None:
        lead = _lead(headcount=1)
        self._worker(hq_user, *SPB_POINT)
        lead = lead_reject(lead=lead)
        assert lead.workers_in_reach == 6


# --- one holder at a time, whatever happens ----------------------------------------------

OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("new"), st.sampled_from(["spb", "kazan", "far"]),
                  st.integers(0, 2)),
        st.tuples(st.just("reject"), st.integers(0, 9)),
        st.tuples(st.just("accept"), st.integers(0, 9)),
        st.tuples(st.just("route"), st.integers(0, 9)),
        st.tuples(st.just("wait"), st.integers(1, 40)),
        st.tuples(st.just("pause"), st.integers(0, 3), st.booleans()),
    ),
    min_size=1,
    max_size=10,
)
POINTS = {"spb": SPB_POINT, "kazan": KAZAN, "far": VLADIVOSTOK}


def _check_one_holder(lead: Lead) -> None:
    lead.refresh_from_db()
    hops = list(lead.hops.order_by("offered_at", "id"))
    pending = [hop for hop in hops if hop.outcome == LeadHop.Outcome.PENDING]
    assert len(pending) <= 1, hops
    offered_to = [hop.franchise_id for hop in hops if hop.franchise_id is not None]
    assert len(offered_to) == len(set(offered_to)), "a franchise was offered the lead twice"
    if lead.status == Lead.Status.OFFERED:
        assert lead.franchise is not None
        assert len(pending) == 1
        assert pending[0].franchise_id == lead.franchise_id
        assert lead.respond_by is not None
    elif lead.status == Lead.Status.ACCEPTED:
        assert not pending
        assert hops[-1].outcome == LeadHop.Outcome.ACCEPTED
        assert hops[-1].franchise_id == lead.franchise_id
        assert Order.objects.filter(lead=lead).count() == 1
    else:
        assert lead.franchise is None
        assert [hop.franchise_id for hop in pending] in ([], [None])
    if lead.status != Lead.Status.ACCEPTED:
        assert not Order.objects.filter(lead=lead).exists()


def _apply(operation: tuple[Any, ...], *, leads: list[Lead], network: list[Franchise],
           virtual: clock.VirtualClock, user: Any) -> None:
    """One step of the random story, checking that refused steps are refused."""
    kind = operation[0]
    if kind == "new":
        leads.append(_lead(POINTS[operation[1]], phone=f"+7933000000{operation[2]}"))
        return
    if kind == "wait":
        virtual.advance(timedelta(minutes=operation[1]))
        leads_reroute_expired()
        return
    if kind == "pause":
        franchise = Franchise.objects.get(pk=network[operation[1]].pk)
        franchise.leads_paused_until = virtual() + timedelta(days=1) if operation[2] else None
        franchise_save(franchise=franchise)
        return
    if not leads:
        return
    lead = Lead.objects.get(pk=leads[operation[1] % len(leads)].pk)
    if kind == "reject":
        allowed = lead.status == Lead.Status.OFFERED
        action = partial(lead_reject, lead=lead)
    elif kind == "accept":
        allowed = lead.status in (Lead.Status.OFFERED, Lead.Status.ACCEPTED)
        action = partial(lead_accept, lead=lead, user=user)
    else:
        allowed = lead.status != Lead.Status.ACCEPTED and not lead.hops.filter(
            outcome=LeadHop.Outcome.PENDING
        ).exists()
        action = partial(lead_route, lead=lead, reason="routed again")
    if allowed:
        action()
    else:
        with pytest.raises(ValidationError):
            action()


@pytest.mark.django_db
@hsettings(max_examples=25, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture,
                                  HealthCheck.too_slow])
@given(operations=OPERATIONS)
def test_a_lead_is_never_held_by_two_franchises(
    operations: list[tuple[Any, ...]], spb: Franchise, territory_box: Any, hq_user: Any
) -> None:
    with transaction.atomic(), clock.use_clock(clock.VirtualClock(NOW)) as virtual:
        network = [
            spb,
            _brand("Neva Movers", (59.94, 30.31), territory_box),
            _brand("Kazan Loaders", KAZAN, territory_box),
            _brand("Volga Crew", KAZAN, territory_box),
        ]
        leads: list[Lead] = []
        for operation in operations:
            _apply(operation, leads=leads, network=network, virtual=virtual, user=hq_user)
            for lead in leads:
                _check_one_holder(lead)
        transaction.set_rollback(True)
