"""One order's page (`/orders/<id>/`): the order, its live timeline, offers and texts, its
actions through the API's services, and what it billed once completed.

Every test runs on the virtual clock of tests/dispatch: NOW is noon in Saint Petersburg, the
orders start at START, 09:00 local (06:00 UTC) the next morning, for six hours.
"""

import re
import secrets
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client as Browser
from django.test.utils import CaptureQueriesContext

from billing.models import InvoiceLine, PayLine
from clients.services import site_create
from core import clock
from dispatch.models import Offer, Order
from franchises.services import user_create
from messaging.models import Direction, Message
from messaging.services import SmsItem, sms_queue_many
from tests.dispatch.conftest import NOW, START, Desk
from workers.models import Worker

pytestmark = pytest.mark.django_db

END = START + timedelta(hours=6)


@pytest.fixture
def desk(spb: Any, spb_client: Any) -> Iterator[Desk]:
    virtual = clock.VirtualClock(NOW)
    with clock.use_clock(virtual):
        site = site_create(client=spb_client, address="Sofiyskaya 6, Saint Petersburg",
                           lat=59.87, lng=30.42)
        yield Desk(franchise=spb, client=spb_client, site=site, virtual_clock=virtual)


def logged_in(user: Any) -> Browser:
    browser = Browser()
    browser.force_login(user)
    return browser


def url(order: Order, tail: str = "") -> str:
    return f"/orders/{order.pk}/{tail}"


def page(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def crewed(desk: Desk, **fields: Any) -> tuple[Order, list[Worker]]:
    """An order for 2, called out, three workers accepting by SMS and booked (the target)."""
    workers = desk.workers(3, language="en")
    order = desk.book(desk.order(2, **fields), workers)
    return order, workers


class TestAccess:
    def test_anonymous_callers_are_sent_to_log_in(self, desk: Desk, client: Browser) -> None:
        order = desk.order(2)
        for path in (url(order), url(order, "live/"), url(order, "cancel/")):
            response = client.get(path)
            assert response.status_code == 302
            assert response["Location"].startswith("/accounts/login/")
        assert client.post(url(order, "callout/")).status_code == 302
        order.refresh_from_db()
        assert order.status == Order.Status.DRAFT

    def test_hq_and_the_orders_franchise_see_it_and_no_one_else(
        self, desk: Desk, hq_user: Any, spb_user: Any, nsk_user: Any
    ) -> None:
        order = desk.order(2)
        for user in (hq_user, spb_user):
            text = page(logged_in(user).get(url(order)))
            assert f'data-order="{order.code}"' in text
            assert page(logged_in(user).get(url(order, "live/"))).startswith("<div")
        browser = logged_in(nsk_user)
        for path in (url(order), url(order, "live/"), url(order, "cancel/"), "/orders/999999/"):
            assert browser.get(path).status_code == 404
        assert browser.post(url(order, "callout/")).status_code == 404
        assert browser.post(url(order, "cancel/")).status_code == 404
        order.refresh_from_db()
        assert order.status == Order.Status.DRAFT

    def test_a_foreman_is_sent_to_his_crew_page_and_a_recruiter_is_refused(
        self, desk: Desk, spb: Any, spb_foreman: Any
    ) -> None:
        his = desk.order(2, foreman=spb_foreman)
        other = desk.order(2)
        foreman = logged_in(spb_foreman)
        response = foreman.get(url(his))
        assert response.status_code == 302
        assert response["Location"] == f"/crew/{his.pk}/"
        assert foreman.get(url(other)).status_code == 404
        # The office's page and its actions are not his.
        assert foreman.get(url(his, "live/")).status_code == 403
        assert foreman.post(url(his, "callout/")).status_code == 403
        his.refresh_from_db()
        assert his.status == Order.Status.DRAFT

        recruiter = user_create(username="spb-recruiter", password="pw-12345",
                                role="recruiter", franchise=spb)
        assert logged_in(recruiter).get(url(his)).status_code == 403

    def test_actions_need_the_csrf_token(self, desk: Desk, spb_user: Any) -> None:
        desk.workers(3)
        order = desk.order(2)
        browser = Browser(enforce_csrf_checks=True)
        browser.force_login(spb_user)
        assert browser.post(url(order, "callout/")).status_code == 403
        order.refresh_from_db()
        assert order.status == Order.Status.DRAFT
        assert 'name="csrfmiddlewaretoken"' in page(browser.get(url(order)))


class TestTheOrder:
    def test_the_order_reads_in_its_franchises_local_time(
        self, desk: Desk, spb_user: Any
    ) -> None:
        order = desk.order(2, notes="Back entrance, ask for Oleg")
        text = page(logged_in(spb_user).get(url(order)))
        assert "Mon 11 Mar 09:00 MSK" in text
        assert "15:00" in text  # the end
        assert "Europe/Moscow" in text
        for shown in (order.client.name, order.site.address, desk.franchise.name, order.code,
                      "Back entrance, ask for Oleg", "client 220.00 · worker 100.00 RUB",
                      "Fixed ratio"):
            assert shown in text
        assert 'id="order-callout"' in text  # a draft: the call-out can start
        assert 'id="order-assign"' not in text
        assert "No offers yet" in text

    def test_offers_show_each_worker_with_distance_channel_answer_and_state(
        self, desk: Desk, spb_user: Any, settings: Any
    ) -> None:
        desk.franchise.reply_channels = ["sms", "link", "voice"]
        desk.franchise.save(update_fields=["reply_channels"])
        by_sms, by_link, by_voice, silent = desk.workers(4, km=3.0, language="en")
        order = desk.called(2)
        assert desk.offered(order) == {by_sms.pk, by_link.pk, by_voice.pk, silent.pk}
        desk.at(NOW + timedelta(minutes=1))
        desk.accept(by_sms, order)
        anonymous = Browser()
        link_offer = desk.offer(order, by_link)
        assert anonymous.post(f"/o/{link_offer.token}", {"answer": "accept"}).status_code == 200
        voice_offer = desk.offer(order, by_voice)
        answered = anonymous.post(f"/webhooks/twilio/voice/?offer={voice_offer.token}",
                                  {"From": str(by_voice.phone), "Digits": "2",
                                   "CallSid": "CA" + "1" * 32})
        assert answered.status_code == 200

        text = page(logged_in(spb_user).get(url(order)))

        rows = {worker.pk: _row(text, worker) for worker in (by_sms, by_link, by_voice, silent)}
        for worker, row in zip((by_sms, by_link, by_voice, silent), rows.values(), strict=True):
            assert f'href="/workers/{worker.pk}/"' in row
            assert worker.name in row
            assert "3.0 km" in row
            assert "4.00" in row  # the rating
            assert "80 %" in row  # the reliability
        assert ">SMS<" in rows[by_sms.pk]
        assert ">Link<" in rows[by_link.pk]
        assert ">Call-back<" in rows[by_voice.pk]
        assert "SMS with link" in rows[silent.pk]  # not answered: how the offer went out
        assert ">Yes<" in rows[by_sms.pk]
        assert ">Yes<" in rows[by_link.pk]
        assert ">No<" in rows[by_voice.pk]
        assert 'data-state="released"' in rows[by_voice.pk]
        assert 'data-state="offered"' in rows[silent.pk]
        # The worker's text is in the message log, as received.
        assert f"YES {order.code}" in text
        assert "Received" in text
        assert 'id="order-invited">4<' in text
        assert 'id="order-accepted">2<' in text
        # Two yeses wait for the franchise's batch; the next wave is due if still short.
        timeline = _timeline(text)
        assert "PENDING Sun 10 Mar 12:03 MSK · Batch assignment" in timeline
        assert "PENDING Sun 10 Mar 12:10 MSK · Next wave" in timeline

    def test_the_timeline_tells_the_life_so_far_and_what_is_due(
        self, desk: Desk, spb_user: Any
    ) -> None:
        order, _ = crewed(desk)
        text = page(logged_in(spb_user).get(url(order)))
        timeline = _timeline(text)
        for line in (
            "Order placed",  # at the row's creation, which the virtual clock does not move
            "Call-out started, booking target 3",
            "Wave 1: 3 offers, farthest 1.0 km",
            "Assignment: 3 confirmed, 0 on standby, 0 released",
            "Crew booked",
        ):
            assert line in timeline
        assert timeline.splitlines()[0].endswith("· Order placed")
        # Steps still to come, at their local due times, in order.
        pending = [
            "Sun 10 Mar 19:00 MSK · Evening-before reminder",
            "Mon 11 Mar 07:00 MSK · Two-hours-before reminder",
            "Mon 11 Mar 08:00 MSK · Silence check",
            "Mon 11 Mar 09:30 MSK · No-show check",
        ]
        positions = [timeline.index(line) for line in pending]
        assert positions == sorted(positions)
        assert timeline.count("PENDING") == 4

        # The sweeper runs the evening reminder; the timeline says whom it reached.
        desk.sweep(at=NOW + timedelta(hours=7))
        timeline = _timeline(page(logged_in(spb_user).get(url(order))))
        assert "Evening-before reminder sent to 3 workers" in timeline
        assert timeline.count("PENDING") == 3

    def test_check_ins_and_the_no_show_check_join_the_timeline(
        self, desk: Desk, spb_user: Any
    ) -> None:
        order, (first, second, absent) = crewed(desk)
        desk.at(START - timedelta(minutes=10))
        desk.reply(first, f"HERE {order.code}")
        desk.at(START + timedelta(minutes=20))
        desk.reply(second, f"HERE {order.code}")
        desk.sweep(at=START + timedelta(minutes=31))
        text = page(logged_in(spb_user).get(url(order)))
        timeline = _timeline(text)
        assert "Mon 11 Mar 08:50 MSK · Check-ins began: 1 present, 1 late" in timeline
        assert "No-show check: 1 no-shows" in timeline
        # The reminders ran late, after the crew was at work: nobody was texted.
        assert "Two-hours-before reminder: nobody to remind" in timeline
        assert "PENDING" not in timeline
        assert 'data-attendance="no_show"' in _row(text, absent)
        assert 'data-attendance="late"' in _row(text, second)


class TestActions:
    def test_the_call_out_starts_from_the_page(self, desk: Desk, spb_user: Any) -> None:
        desk.workers(4)
        order = desk.order(2)
        browser = logged_in(spb_user)
        response = browser.post(url(order, "callout/"), follow=True)
        text = page(response)
        assert response.redirect_chain[-1][0] == url(order)
        order.refresh_from_db()
        assert order.status == Order.Status.CALLING
        sent = order.offers.count()
        assert sent > 0
        assert f"Call-out started: booking target 3, {sent} offers sent." in text
        assert 'hx-trigger="every 5s"' in text  # an open order's live part polls

        again = page(browser.post(url(order, "callout/"), follow=True))
        assert "The call-out has already started" in again

    def test_a_refused_action_is_a_message_and_changes_nothing(
        self, desk: Desk, spb_user: Any
    ) -> None:
        order = desk.order(2)
        browser = logged_in(spb_user)
        for action, refusal in (("wave", "Another wave goes out only while the order is calling"),
                                ("assign", "Nothing to assign: the order is draft"),
                                ("complete", "A draft order cannot be completed")):
            text = page(browser.post(url(order, f"{action}/"), follow=True))
            assert refusal in text
        order.refresh_from_db()
        assert order.status == Order.Status.DRAFT
        assert not order.offers.exists()
        assert browser.post(url(order, "explode/")).status_code == 404

    def test_another_wave_and_the_assignment_run_through_the_services(
        self, desk: Desk, spb_user: Any
    ) -> None:
        near = desk.workers(3, km=1.0)
        far = desk.workers(6, km=15.0)
        order = desk.called(2)
        assert desk.offered(order) == {w.pk for w in near}
        browser = logged_in(spb_user)
        text = page(browser.post(url(order, "wave/"), follow=True))
        assert "Another wave sent" in text
        assert desk.offered(order) & {w.pk for w in far}
        for worker in near:
            desk.accept(worker, order)
        text = page(browser.post(url(order, "assign/"), follow=True))
        assert "3 confirmed" in text
        order.refresh_from_db()
        assert order.status == Order.Status.FILLED
        assert desk.in_state(order, Offer.State.CONFIRMED) == {w.pk for w in near}

    def test_cancel_first_says_how_many_will_be_texted(
        self, desk: Desk, spb_user: Any
    ) -> None:
        order, crew = crewed(desk)
        browser = logged_in(spb_user)
        confirm = page(browser.get(url(order, "cancel/")))
        assert 'data-texted="3"' in confirm
        assert "3 workers will be texted that the job is off" in confirm
        assert 'id="confirm-cancel"' in confirm
        order.refresh_from_db()
        assert order.status == Order.Status.FILLED  # the question changed nothing

        text = page(browser.post(url(order, "cancel/"), follow=True))
        assert f"Order {order.code} cancelled; 3 workers are being told by SMS." in text
        order.refresh_from_db()
        assert order.status == Order.Status.CANCELLED
        assert desk.told(order, "cancellation") == {w.pk for w in crew}
        assert "Cancelled; 3 workers texted" in text
        assert 'hx-trigger="every 5s"' not in text  # a closed order stops polling
        assert "can no longer be cancelled" in page(browser.get(url(order, "cancel/")))
        again = page(browser.post(url(order, "cancel/"), follow=True))
        assert "already cancelled" in again
        assert desk.told(order, "cancellation") == {w.pk for w in crew}

    def test_completion_writes_the_lines_the_page_then_shows(
        self, desk: Desk, spb_user: Any
    ) -> None:
        order, (full, short, absent) = crewed(desk)
        browser = logged_in(spb_user)
        assert 'id="order-complete"' not in page(browser.get(url(order)))
        desk.at(END)
        crew_page = f"/crew/{order.pk}/"
        browser.post(crew_page, {"worker": full.pk, "status": "present", "hours": ""})
        browser.post(crew_page, {"worker": short.pk, "status": "present", "hours": "4"})
        text = page(browser.get(url(order)))
        assert f'href="{crew_page}"' in text
        assert 'id="order-complete"' in text

        text = page(browser.post(url(order, "complete/"), follow=True))

        assert f"Order {order.code} completed" in text
        order.refresh_from_db()
        assert order.status == Order.Status.COMPLETED
        assert desk.offer(order, absent).attendance == Offer.Attendance.NO_SHOW
        assert InvoiceLine.objects.filter(order=order).count() == 2
        invoice = _section(text, 'id="order-invoice"', "</section>")
        assert "6.0" in invoice
        assert "4.0" in invoice
        assert "1320.00 RUB" in invoice  # 6 h x 220
        assert 'id="invoice-total"><strong>2200.00 RUB' in invoice  # 10 h x 220
        assert 'id="pay-total"><strong>1000.00 RUB' in invoice  # 10 h x 100
        assert PayLine.objects.filter(order=order).count() == 2
        assert 'id="order-complete"' not in text
        assert 'hx-trigger="every 5s"' not in text


class TestQueries:
    @staticmethod
    def _order_with_offers(desk: Desk, count: int) -> Order:
        """A calling order with `count` offers in every state and a text to each worker,
        written as plain rows: what is measured is the page, not the call-out."""
        order = desk.called(2)
        workers = desk.workers(count, km=2.0)
        states = [Offer.State.OFFERED, Offer.State.CONFIRMED, Offer.State.STANDBY,
                  Offer.State.RELEASED]
        Offer.objects.bulk_create([
            Offer(order=order, worker=worker, wave=1 + index % 3, sent_at=NOW,
                  state=states[index % 4], distance_km=2.0, token=secrets.token_hex(11),
                  response=Offer.Response.ACCEPTED if index % 4 else None,
                  channel=Offer.Channel.SMS if index % 4 else "")
            for index, worker in enumerate(workers)
        ])
        sms_queue_many([SmsItem(phone=str(w.phone), body=f"Offer {order.code}",
                                purpose="offer", worker_id=w.pk, order_id=order.pk)
                        for w in workers])
        return order

    def test_the_page_and_its_live_part_read_as_many_queries_for_200_offers_as_for_10(
        self, desk: Desk, hq_user: Any
    ) -> None:
        small = self._order_with_offers(desk, 10)
        big = self._order_with_offers(desk, 200)
        assert Message.objects.filter(order=big, direction=Direction.OUT).count() >= 200
        browser = logged_in(hq_user)
        counts = {}
        for name, order in (("small", small), ("big", big)):
            for path in (url(order), url(order, "live/")):
                browser.get(path)  # warm the session and the franchise's zone
                with CaptureQueriesContext(connection) as queries:
                    text = page(browser.get(path))
                counts[(name, path.endswith("live/"))] = len(queries)
                assert text.count('data-worker="') >= (10 if name == "small" else 200)
        assert counts[("small", False)] == counts[("big", False)]
        assert counts[("small", True)] == counts[("big", True)]
        assert counts[("big", False)] <= 16


def _row(text: str, worker: Worker) -> str:
    return _section(text, f'id="offer-{worker.pk}"', "</tr>")


def _timeline(text: str) -> str:
    """The timeline as it reads: one line per entry, tags dropped, pending ones marked."""
    html = _section(text, 'id="order-timeline"', "</ol>")
    return "\n".join(
        ("PENDING " if pending else "") + " ".join(re.sub(r"<[^>]+>", " ", body).split())
        for pending, body in re.findall(r'<li( class="pending")?[^>]*>(.*?)</li>', html, re.S)
    )


def _section(text: str, start: str, end: str) -> str:
    begin = text.index(start)
    return text[begin:text.index(end, begin)]



class TestForeman:
    """Naming the foreman who checks the crew in, from the order's page."""

    def test_the_franchise_names_one_of_its_foremen_who_then_finds_the_crew(
        self, desk: Desk, spb_user: Any, spb_foreman: Any
    ) -> None:
        order, _ = crewed(desk)
        before = page(logged_in(spb_user).get(url(order)))
        assert 'id="order-foreman"' in before
        assert f'<option value="{spb_foreman.pk}">spb-foreman</option>' in before

        response = logged_in(spb_user).post(url(order, "foreman/"), {"foreman": spb_foreman.pk},
                                            follow=True)

        order.refresh_from_db()
        assert order.foreman == spb_foreman
        assert f"spb-foreman is the foreman of order {order.code}" in page(response)
        assert f'<option value="{spb_foreman.pk}" selected>' in page(response)
        crew = page(logged_in(spb_foreman).get("/crew/"))
        assert order.code in crew

    def test_nobody_clears_the_foreman(
        self, desk: Desk, spb_user: Any, spb_foreman: Any
    ) -> None:
        order, _ = crewed(desk, foreman=spb_foreman)
        response = logged_in(spb_user).post(url(order, "foreman/"), {"foreman": ""},
                                            follow=True)
        order.refresh_from_db()
        assert order.foreman is None
        assert f"Order {order.code} has no foreman now." in page(response)

    def test_only_a_foreman_of_the_orders_franchise_can_be_named(
        self, desk: Desk, spb_user: Any, hq_user: Any, nsk: Any
    ) -> None:
        order, _ = crewed(desk)
        stranger = user_create(username="nsk-foreman", password=secrets.token_hex(8),
                               role="foreman", franchise=nsk)
        for chosen in (stranger.pk, spb_user.pk, hq_user.pk, "x"):
            response = logged_in(spb_user).post(url(order, "foreman/"), {"foreman": chosen},
                                                follow=True)
            assert "Choose one of this franchise&#x27;s foremen." in page(response)
        order.refresh_from_db()
        assert order.foreman is None
        assert f'value="{stranger.pk}"' not in page(logged_in(spb_user).get(url(order)))

    def test_a_foreman_cannot_name_himself_nor_can_another_franchise(
        self, desk: Desk, spb_foreman: Any, nsk_user: Any
    ) -> None:
        order, _ = crewed(desk)
        assert logged_in(spb_foreman).post(url(order, "foreman/"),
                                           {"foreman": spb_foreman.pk}).status_code == 403
        assert logged_in(nsk_user).post(url(order, "foreman/"),
                                        {"foreman": spb_foreman.pk}).status_code == 404
        order.refresh_from_db()
        assert order.foreman is None

    def test_a_finished_order_shows_its_foreman_without_a_form(
        self, desk: Desk, spb_user: Any, spb_foreman: Any
    ) -> None:
        order = desk.order(2, foreman=spb_foreman)
        Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELLED)
        shown = page(logged_in(spb_user).get(url(order)))
        assert 'id="order-foreman"' not in shown
        assert "spb-foreman" in shown
