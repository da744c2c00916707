"""Leads in the console (`/leads/`): a franchise's inbox with the time left to answer, accept
and reject through the routing services, HQ's view of every lead and its hand-on, and each
lead's journey (`/leads/<id>/`).

The clock is virtual: NOW is noon in Saint Petersburg; leads are for 09:00 local tomorrow.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test import Client as Browser
from django.test.utils import CaptureQueriesContext
from django.urls import resolve
from django.utils import translation

from clients.models import Lead, LeadHop
from clients.routing import leads_reroute_expired
from clients.services import lead_create
from core import clock
from dispatch.models import Order
from franchises.models import Franchise
from franchises.services import user_create
from messaging.models import Message
from tests.dispatch.conftest import point_near
from web.leads import hop_reason_shown
from workers.models import Worker

pytestmark = pytest.mark.django_db

NOW = datetime(2030, 3, 10, 9, 0, tzinfo=UTC)  # 12:00 in Saint Petersburg
TOMORROW_9AM = datetime(2030, 3, 11, 9, 0)  # naive: the local time the client said
SITE = (59.87, 30.42)  # inside the Saint Petersburg office's territory


@pytest.fixture
def vclock() -> Iterator[clock.VirtualClock]:
    virtual = clock.VirtualClock(NOW)
    with clock.use_clock(virtual):
        yield virtual


@pytest.fixture
def office(spb: Franchise, hq_franchise: Franchise) -> Franchise:
    spb.manager_phone = "+79110009999"
    spb.save(update_fields=["manager_phone"])
    return spb


def logged_in(user: Any) -> Browser:
    browser = Browser()
    browser.force_login(user)
    return browser


def page(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def a_lead(headcount: int = 4, *, at: tuple[float, float] = SITE, **fields: Any) -> Lead:
    values = {
        "contact_name": "Anna Smirnova", "phone": "+79215550000",
        "address": "Sofiyskaya 6, Saint Petersburg", "work_type": "loading",
        "headcount": headcount, "start": TOMORROW_9AM, "hours": Decimal(6),
        "lat": at[0], "lng": at[1], **fields,
    }
    return lead_create(**values)


def workers_near(count: int) -> None:
    lat, lng = point_near(*SITE, 2.0)
    Worker.objects.bulk_create([
        Worker(name=f"Worker {i}", phone=f"+7911200{i:04d}", status=Worker.Status.ACTIVE,
               vetted_at=NOW - timedelta(days=30), lat=lat, lng=lng, skills=["loading"])
        for i in range(count)
    ])


class TestAccess:
    def test_anonymous_callers_are_sent_to_log_in(self, vclock: Any, office: Any,
                                                  client: Browser) -> None:
        lead = a_lead()
        for path in ("/leads/", "/leads/live/", f"/leads/{lead.pk}/"):
            response = client.get(path)
            assert response.status_code == 302
            assert response["Location"].startswith("/accounts/login/")
        assert client.post(f"/leads/{lead.pk}/accept/").status_code == 302
        assert not Order.objects.exists()

    def test_foremen_and_recruiters_have_no_leads(self, vclock: Any, office: Any,
                                                  spb_foreman: Any) -> None:
        lead = a_lead()
        recruiter = user_create(username="spb-recruiter", password="pw-12345",
                                role="recruiter", franchise=office)
        for user in (spb_foreman, recruiter):
            browser = logged_in(user)
            assert browser.get("/leads/").status_code == 403
            assert browser.get(f"/leads/{lead.pk}/").status_code == 403
            assert browser.post(f"/leads/{lead.pk}/accept/").status_code == 403
            assert 'href="/leads/"' not in page(browser.get("/ratings/rules/"))
        assert not Order.objects.exists()

    def test_another_franchise_sees_nothing_of_the_lead(
        self, vclock: Any, office: Any, nsk_user: Any
    ) -> None:
        lead = a_lead()
        browser = logged_in(nsk_user)
        assert f'data-lead="{lead.pk}"' not in page(browser.get("/leads/"))
        for path in (f"/leads/{lead.pk}/", "/leads/999999/"):
            assert browser.get(path).status_code == 404
        assert browser.post(f"/leads/{lead.pk}/accept/").status_code == 404
        assert browser.post(f"/leads/{lead.pk}/reject/", {"reason": "x"}).status_code == 404
        lead.refresh_from_db()
        assert (lead.status, lead.franchise_id) == (Lead.Status.OFFERED, office.pk)


class TestInbox:
    def test_the_manager_sees_the_lead_with_its_countdown_and_staffing(
        self, vclock: Any, office: Any, spb_user: Any
    ) -> None:
        workers_near(5)
        lead = a_lead(4)
        text = page(logged_in(spb_user).get("/leads/"))
        assert 'href="/leads/"' in text  # the menu has the inbox
        row = _section(text, f'id="lead-{lead.pk}"', "</tr>")
        # The SLA: 15 minutes from noon, counted down by console.js from this moment.
        assert ('<time data-countdown datetime="2030-03-10T12:15:00+03:00"' in row)
        assert ">15:00</time>" in row
        assert "by 12:15 MSK" in row
        assert "Mon 11 Mar 09:00 MSK" in row  # the start, local
        assert "4 × Loading, 6.0 h" in row
        assert "Anna Smirnova" in row
        assert ">5<" in row  # workers in reach
        assert "Tight: 5 suitable workers within 35 km for 4 places." in row
        assert f'id="accept-lead-{lead.pk}"' in row
        # Later, the time left is less; the poll fragment carries the same row.
        vclock.set(NOW + timedelta(minutes=10, seconds=30))
        live = page(logged_in(spb_user).get("/leads/live/"))
        assert ">4:30</time>" in _section(live, f'id="lead-{lead.pk}"', "</tr>")
        assert 'hx-trigger="every 10s"' in live

    def test_accepting_makes_the_order_and_opens_it(
        self, vclock: Any, office: Any, spb_user: Any
    ) -> None:
        lead = a_lead(4)
        browser = logged_in(spb_user)
        response = browser.post(f"/leads/{lead.pk}/accept/")

        order = Order.objects.get(lead=lead)
        assert response.status_code == 302
        assert response["Location"] == f"/orders/{order.pk}/"
        assert (order.franchise, order.headcount, order.status) == (office, 4,
                                                                   Order.Status.DRAFT)
        assert order.start == datetime(2030, 3, 11, 6, 0, tzinfo=UTC)  # 09:00 MSK
        lead.refresh_from_db()
        assert lead.status == Lead.Status.ACCEPTED
        assert lead.hops.get().outcome == LeadHop.Outcome.ACCEPTED
        text = page(browser.get(response["Location"]))
        assert f"Lead #{lead.pk} accepted: order {order.code}" in text
        assert f'href="/leads/{lead.pk}/"' in text

        # A second tap makes no second order; the inbox lists it as answered.
        assert browser.post(f"/leads/{lead.pk}/accept/")["Location"] == f"/orders/{order.pk}/"
        assert Order.objects.count() == 1
        inbox = page(browser.get("/leads/"))
        assert f'id="accept-lead-{lead.pk}"' not in inbox
        answered = _section(inbox, 'id="leads-answered"', "</table>")
        assert "Accepted" in answered
        assert f'href="/orders/{order.pk}/"' in answered
        # A stale page's reject after the accept is told why, and changes nothing.
        stale = page(browser.post(f"/leads/{lead.pk}/reject/", {"reason": "too far"},
                                  follow=True))
        assert "not rejected: Only an offered lead can be rejected (accepted)." in stale
        lead.refresh_from_db()
        assert lead.status == Lead.Status.ACCEPTED

    def test_a_refused_accept_is_a_message_on_the_leads_page(
        self, vclock: Any, office: Any, spb_user: Any
    ) -> None:
        lead = a_lead(start=datetime(2030, 3, 10, 12, 10))  # an urgent lead: 12:10 today
        vclock.set(NOW + timedelta(minutes=12))  # still within its time to answer
        response = logged_in(spb_user).post(f"/leads/{lead.pk}/accept/", follow=True)
        text = page(response)
        assert response.redirect_chain[-1][0] == f"/leads/{lead.pk}/"
        assert f"Lead #{lead.pk} not accepted: The lead" in text
        assert "start has passed; agree a new time first." in text
        assert not Order.objects.exists()
        lead.refresh_from_db()
        assert lead.status == Lead.Status.OFFERED

    def test_rejecting_needs_a_reason_and_then_moves_the_lead_on(
        self, vclock: Any, office: Any, spb_user: Any, hq_user: Any
    ) -> None:
        lead = a_lead()
        browser = logged_in(spb_user)
        refused = browser.post(f"/leads/{lead.pk}/reject/", {"reason": "  "})
        text = page(refused)
        form = _section(text, 'id="reject"', "</form>")
        assert 'class="field invalid"' in form
        assert "This field is required." in form
        lead.refresh_from_db()
        assert (lead.status, lead.franchise_id) == (Lead.Status.OFFERED, office.pk)
        assert lead.hops.get().outcome == LeadHop.Outcome.PENDING

        too_long = page(browser.post(f"/leads/{lead.pk}/reject/", {"reason": "x" * 201}))
        assert "at most 200 characters" in too_long
        assert 'value="' + "x" * 201 + '"' in too_long  # what was typed is kept

        response = browser.post(f"/leads/{lead.pk}/reject/",
                                {"reason": "no crew free that morning"})
        assert response.status_code == 302
        assert response["Location"] == "/leads/"
        lead.refresh_from_db()
        # Nobody else covers the point: HQ holds it.
        assert (lead.status, lead.franchise) == (Lead.Status.REJECTED, None)
        hop = lead.hops.get(franchise=office)
        assert hop.outcome == LeadHop.Outcome.REJECTED
        inbox = page(browser.get("/leads/"))
        answered = _section(inbox, 'id="leads-answered"', "</table>")
        assert "Rejected" in answered
        assert f'href="/leads/{lead.pk}/"' not in answered  # no longer ours to open
        assert browser.get(f"/leads/{lead.pk}/").status_code == 404
        journey = page(logged_in(hq_user).get(f"/leads/{lead.pk}/"))
        assert ("rejected (“no crew free that morning”): no other franchise left to ask; HQ "
                "holds it") in journey

    def test_a_timed_out_lead_is_listed_as_not_answered_in_time(
        self, vclock: Any, office: Any, spb_user: Any
    ) -> None:
        lead = a_lead()
        vclock.set(NOW + timedelta(minutes=16))
        assert leads_reroute_expired() == 1
        text = page(logged_in(spb_user).get("/leads/"))
        assert f'id="lead-{lead.pk}"' not in text
        assert "No lead is waiting" in text
        answered = _section(text, 'id="leads-answered"', "</table>")
        assert "Not answered in time" in answered
        assert "Sun 10 Mar 12:16 MSK" in answered

    def test_the_managers_sms_links_to_the_leads_page(
        self, vclock: Any, office: Any, spb_user: Any, settings: Any
    ) -> None:
        settings.OFFER_LINK_BASE = "https://console.example.org"
        lead = a_lead()
        sms = Message.objects.get(phone="+79110009999", purpose="lead")
        link = f"https://console.example.org/leads/{lead.pk}/"
        assert sms.body.endswith(f"Accept within 15 min: {link}")
        path = urlsplit(link).path
        assert resolve(path).url_name == "lead"
        text = page(logged_in(spb_user).get(path))
        assert 'id="accept-lead"' in text
        assert 'id="reject"' in text


class TestHq:
    def test_hq_sees_every_lead_and_filters_them(
        self, vclock: Any, office: Any, hq_user: Any
    ) -> None:
        offered = a_lead()
        held = a_lead(at=(43.1, 131.9), address="Vladivostok port")  # nobody covers it
        assert held.franchise is None
        browser = logged_in(hq_user)
        text = page(browser.get("/leads/"))
        assert f'id="lead-{held.pk}"' in _section(text, 'id="leads-held"', "</table>")
        every = _section(text, 'id="leads-all"', "</table>")
        assert f'data-lead="{offered.pk}"' in every
        assert f'data-lead="{held.pk}"' in every
        assert office.name in every

        only_held = _section(page(browser.get("/leads/", {"held": "on"})),
                             'id="leads-all"', "</table>")
        assert f'data-lead="{held.pk}"' in only_held
        assert f'data-lead="{offered.pk}"' not in only_held
        only_offered = _section(page(browser.get("/leads/", {"status": "offered"})),
                                'id="leads-all"', "</table>")
        assert f'data-lead="{offered.pk}"' in only_offered
        assert f'data-lead="{held.pk}"' not in only_offered
        bad = page(browser.get("/leads/", {"status": "lost"}))
        assert "Select a valid choice" in _section(bad, 'id="leads-filter"', "</form>")

    def test_hq_hands_a_held_lead_on_to_the_franchise_it_picks(
        self, vclock: Any, office: Any, nsk: Any, hq_user: Any, nsk_user: Any
    ) -> None:
        held = a_lead(at=(43.1, 131.9), address="Vladivostok port")
        browser = logged_in(hq_user)
        text = page(browser.get(f"/leads/{held.pk}/"))
        assert 'id="hand-on"' in text
        assert "no franchise covers this point; HQ holds it" in text
        assert "Held by HQ" in _section(text, 'id="lead-journey"', "</table>")

        missing = page(browser.post(f"/leads/{held.pk}/hand-on/", {"franchise": ""}))
        assert "This field is required." in _section(missing, 'id="hand-on"', "</form>")
        held.refresh_from_db()
        assert held.franchise is None

        response = browser.post(f"/leads/{held.pk}/hand-on/", {"franchise": nsk.pk},
                                follow=True)
        text = page(response)
        assert f"Lead #{held.pk} handed on to {nsk.name}." in text
        held.refresh_from_db()
        assert (held.status, held.franchise) == (Lead.Status.OFFERED, nsk)
        journey = _section(text, 'id="lead-journey"', "</table>")
        assert "Handed on by HQ" in journey
        assert "handed on by HQ (hq)" in journey
        assert "Waiting for an answer" in journey
        # Novosibirsk now has it in its inbox, in its own time.
        inbox = page(logged_in(nsk_user).get("/leads/"))
        assert f'id="accept-lead-{held.pk}"' in inbox
        assert "UTC+07" in _section(inbox, f'id="lead-{held.pk}"', "</tr>")

    def test_only_hq_hands_on_and_only_a_held_lead(
        self, vclock: Any, office: Any, nsk: Any, hq_user: Any, spb_user: Any
    ) -> None:
        offered = a_lead()
        assert logged_in(spb_user).post(f"/leads/{offered.pk}/hand-on/",
                                        {"franchise": nsk.pk}).status_code == 403
        refused = page(logged_in(hq_user).post(f"/leads/{offered.pk}/hand-on/",
                                               {"franchise": nsk.pk}, follow=True))
        assert "not handed on: Only a lead HQ holds can be handed on" in refused
        offered.refresh_from_db()
        assert offered.franchise == office

    def test_the_lists_read_as_many_queries_for_many_leads_as_for_few(
        self, vclock: Any, office: Any, hq_user: Any, spb_user: Any
    ) -> None:
        def counted(user: Any) -> int:
            browser = logged_in(user)
            browser.get("/leads/")
            with CaptureQueriesContext(connection) as queries:
                page(browser.get("/leads/"))
            return len(queries)

        for _ in range(3):
            a_lead()
            a_lead(at=(43.1, 131.9), address="Vladivostok port")
        few = (counted(hq_user), counted(spb_user))
        for _ in range(30):
            lead = a_lead()
            a_lead(at=(43.1, 131.9), address="Vladivostok port")
        logged_in(spb_user).post(f"/leads/{lead.pk}/accept/")
        many = (counted(hq_user), counted(spb_user))
        assert few == many


def _section(text: str, start: str, end: str) -> str:
    begin = text.index(start)
    return text[begin:text.index(end, begin)]


@pytest.mark.parametrize(("stored", "english", "russian"), [
    ("new lead: official office for this territory",
     "new lead: official office for this territory",
     "новый лид: официальный офис этой территории"),
    ("not accepted in time: brand franchise covering this point",
     "not accepted in time: brand franchise covering this point",
     "не принят в срок: франчайзи бренда, чья территория включает это место"),
    ("rejected (too far: no crew): served this client before",
     "rejected (“too far: no crew”): served this client before",
     "отклонён («too far: no crew»): уже работал с этим клиентом"),
    ("new lead: no franchise covers this point, HQ holds it",
     "new lead: no franchise covers this point; HQ holds it",
     "новый лид: это место не входит ни в одну территорию; лид у центрального офиса"),
    ("handed on by HQ (Ivan)", "handed on by HQ (Ivan)",
     "передан центральным офисом (Ivan)"),
    ("something else entirely", "something else entirely", "something else entirely"),
])
def test_a_hops_reason_reads_in_the_readers_language(stored: str, english: str,
                                                     russian: str) -> None:
    """Routing writes why a lead went where it went in one language; the journey reads it in
    the reader's, keeping a franchise's own words (why it rejected) as typed."""
    with translation.override("en"):
        assert hop_reason_shown(stored) == english
    with translation.override("ru"):
        assert hop_reason_shown(stored) == russian
