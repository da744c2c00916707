"""The foreman's crew pages (a phone on site), and local times as pages show them.

Every test runs on the virtual clock of tests/dispatch: NOW is noon in Saint Petersburg, the
orders start at START, 09:00 local (06:00 UTC) the next morning, for six hours.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client as Browser

from clients.services import site_create
from core import clock
from dispatch.models import Offer, Order
from dispatch.services.lifecycle import order_cancel
from franchises.services import user_create
from ratings.models import RatingEvent
from tests.dispatch.conftest import NOW, START, Desk
from web.local_time import local_days, local_time, zone_label
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


@pytest.fixture
def other_foreman(spb: Any) -> Any:
    return user_create(username="spb-foreman-2", password="pw-12345", role="foreman",
                       franchise=spb)


def logged_in(user: Any) -> Browser:
    browser = Browser()
    browser.force_login(user)
    return browser


def crewed(desk: Desk, foreman: Any = None, **fields: Any) -> tuple[Order, list[Worker]]:
    """An order for 2 with a crew of three confirmed (the booking target), run by `foreman`."""
    workers = desk.workers(3, language="en")
    order = desk.book(desk.order(2, foreman=foreman, **fields), workers)
    crew = [w for w in workers if w.pk in desk.in_state(order, Offer.State.CONFIRMED)]
    assert len(crew) == 3
    return order, crew


def url(order: Order) -> str:
    return f"/crew/{order.pk}/"


def mark(browser: Browser, order: Order, worker: Worker, status: str, hours: str = "",
         **extra: Any) -> Any:
    return browser.post(url(order), {"worker": worker.pk, "status": status, "hours": hours},
                        **extra)


def page(response: Any) -> str:
    return response.content.decode()


def card_of(text: str, worker: Worker) -> str:
    """The crew page's card of `worker`."""
    begin = text.index(f'id="worker-{worker.pk}"')
    return text[begin:text.index("\n  </li>", begin)]


def rating_kinds(worker: Worker) -> list[str]:
    return list(RatingEvent.objects.filter(worker=worker, reversed_at__isnull=True)
                .order_by("id").values_list("kind", flat=True))


class TestAccess:
    def test_anonymous_callers_are_sent_to_log_in(self, desk: Desk, client: Browser) -> None:
        order, crew = crewed(desk)
        desk.at(START)
        for path in ("/crew/", url(order)):
            response = client.get(path)
            assert response.status_code == 302
            assert response["Location"].startswith("/accounts/login/")
        response = mark(client, order, crew[0], "present")
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
        assert desk.offer(order, crew[0]).attendance is None

    def test_a_foreman_sees_his_orders_and_not_another_foremans(
        self, desk: Desk, spb_foreman: Any, other_foreman: Any
    ) -> None:
        his, crew = crewed(desk, foreman=spb_foreman)
        theirs, _ = crewed(desk, foreman=other_foreman)
        nobodys, _ = crewed(desk)
        browser = logged_in(spb_foreman)

        listing = page(browser.get("/crew/"))
        assert url(his) in listing
        assert url(theirs) not in listing
        assert url(nobodys) not in listing

        detail = browser.get(url(his))
        assert detail.status_code == 200
        text = page(detail)
        assert his.client.name in text
        assert his.site.address in text
        for worker in crew:
            assert worker.name in text
            assert f'href="tel:{worker.phone}"' in text
        assert browser.get(url(theirs)).status_code == 404
        assert browser.get(url(nobodys)).status_code == 404
        assert browser.get("/crew/999999/").status_code == 404

    def test_a_foreman_cannot_write_to_another_foremans_order(
        self, desk: Desk, spb_foreman: Any, other_foreman: Any
    ) -> None:
        theirs, crew = crewed(desk, foreman=other_foreman)
        desk.at(START)
        assert mark(logged_in(spb_foreman), theirs, crew[0], "present").status_code == 404
        assert desk.offer(theirs, crew[0]).attendance is None
        assert not RatingEvent.objects.filter(kind="show").exists()

    def test_another_franchise_sees_nothing_and_the_office_sees_its_crews(
        self, desk: Desk, spb_foreman: Any, spb_user: Any, nsk_user: Any, hq_user: Any
    ) -> None:
        order, _ = crewed(desk, foreman=spb_foreman)
        assert logged_in(nsk_user).get(url(order)).status_code == 404
        assert url(order) not in page(logged_in(nsk_user).get("/crew/"))
        for user in (spb_user, hq_user):
            assert logged_in(user).get(url(order)).status_code == 200
            assert url(order) in page(logged_in(user).get("/crew/"))

    def test_posts_need_the_csrf_token(self, desk: Desk, spb_foreman: Any) -> None:
        order, crew = crewed(desk, foreman=spb_foreman)
        desk.at(START)
        browser = Browser(enforce_csrf_checks=True)
        browser.force_login(spb_foreman)
        assert mark(browser, order, crew[0], "present").status_code == 403
        assert desk.offer(order, crew[0]).attendance is None
        form = page(browser.get(url(order)))
        assert 'name="csrfmiddlewaretoken"' in form


class TestCrewList:
    def test_today_tomorrow_and_in_progress_soonest_first(
        self, desk: Desk, spb_foreman: Any
    ) -> None:
        tomorrow, _ = crewed(desk, foreman=spb_foreman)
        later, _ = crewed(desk, foreman=spb_foreman, start=START + timedelta(days=2))
        today, _ = crewed(desk, foreman=spb_foreman, start=NOW + timedelta(hours=3))
        listing = page(logged_in(spb_foreman).get("/crew/"))
        assert url(later) not in listing
        assert listing.index(url(today)) < listing.index(url(tomorrow))
        assert "Today 15:00 MSK" in listing
        assert "Tomorrow 09:00 MSK" in listing
        assert "Need 2 · present 0" in listing

        # The day after, tomorrow's order is still listed while in progress ("Yesterday").
        desk.at(START + timedelta(minutes=5))
        mark(logged_in(spb_foreman), tomorrow, _first(tomorrow), "present")
        desk.at(START + timedelta(days=1, hours=2))
        listing = page(logged_in(spb_foreman).get("/crew/"))
        assert Order.objects.get(pk=tomorrow.pk).status == Order.Status.IN_PROGRESS
        assert url(tomorrow) in listing
        assert "Yesterday 09:00 MSK" in listing
        assert url(later) in listing  # now tomorrow's


def _first(order: Order) -> Worker:
    return Offer.objects.filter(order=order, state=Offer.State.CONFIRMED).first().worker


class TestAttendance:
    def test_present_late_and_no_show_are_recorded_by_the_service(
        self, desk: Desk, spb_foreman: Any
    ) -> None:
        order, (on_time, late, absent) = crewed(desk, foreman=spb_foreman)
        desk.at(START + timedelta(minutes=40))
        browser = logged_in(spb_foreman)

        response = mark(browser, order, on_time, "present", "6")
        assert response.status_code == 302
        assert response["Location"] == f"{url(order)}#worker-{on_time.pk}"
        mark(browser, order, late, "late", "5,5")  # a Russian phone keyboard's comma
        response = mark(browser, order, absent, "no_show", follow=True)

        assert response.status_code == 200
        assert f"{absent.name}: no-show." in page(response)
        rows = {o.worker_id: (o.attendance, o.hours_worked)
                for o in Offer.objects.filter(order=order)}
        assert rows == {
            on_time.pk: ("present", Decimal("6.0")),
            late.pk: ("late", Decimal("5.5")),
            absent.pk: ("no_show", None),
        }
        assert rating_kinds(on_time) == ["show"]
        assert rating_kinds(late) == ["late"]
        assert rating_kinds(absent) == ["no_show"]  # the rating drops at once
        absent.refresh_from_db()
        assert absent.no_shows == 1
        order.refresh_from_db()
        assert order.status == Order.Status.IN_PROGRESS
        # The page shows where things stand: two came, one did not.
        text = page(browser.get(url(order)))
        assert "present 2" in text
        assert "no-show 1" in text
        assert text.count('aria-pressed="true">✓') == 3

    def test_hours_are_kept_for_present_and_ignored_for_a_no_show(
        self, desk: Desk, spb_foreman: Any
    ) -> None:
        order, (worked, absent, _) = crewed(desk, foreman=spb_foreman)
        desk.at(END)
        browser = logged_in(spb_foreman)

        kept = mark(browser, order, worked, "present", "4.5", follow=True)
        ignored = mark(browser, order, absent, "no_show", "4", follow=True)

        assert f"{worked.name}: present, 4.5 h." in page(kept)
        assert "hours are not kept for a no-show" in page(ignored)
        assert desk.offer(order, worked).hours_worked == Decimal("4.5")
        assert desk.offer(order, absent).hours_worked is None
        assert desk.offer(order, absent).attendance == "no_show"

    def test_a_correction_goes_through_the_service_too(
        self, desk: Desk, spb_foreman: Any
    ) -> None:
        order, (worker, *_) = crewed(desk, foreman=spb_foreman)
        desk.at(START + timedelta(minutes=45))
        browser = logged_in(spb_foreman)
        mark(browser, order, worker, "no_show")
        mark(browser, order, worker, "late", "5")
        assert desk.offer(order, worker).attendance == "late"
        assert rating_kinds(worker) == ["late"]  # the no-show was reversed by the service

    def test_outside_the_window_the_page_says_so_and_writes_nothing(
        self, desk: Desk, spb_foreman: Any
    ) -> None:
        order, (worker, *_) = crewed(desk, foreman=spb_foreman)
        browser = logged_in(spb_foreman)
        for moment in (START - timedelta(minutes=61), END + timedelta(days=7, minutes=1)):
            desk.at(moment)
            response = mark(browser, order, worker, "present", "6")

            assert response.status_code == 200
            text = page(response)
            # The refusal is on the card of the worker it concerns, which the page opens at.
            card = card_of(text, worker)
            assert 'role="alert"' in card
            assert f"{worker.name}: not recorded." in card
            assert "Attendance opens an hour before the start" in card
            assert 'value="6"' in card  # what was typed is kept
            assert text.count('role="alert"') == 1
            assert f'action="{url(order)}#worker-{worker.pk}"' in card
            assert desk.offer(order, worker).attendance is None
            assert not RatingEvent.objects.filter(worker=worker).exists()
        # The window itself is on the page, in local time.
        assert "from Mon 11 Mar 08:00 to Mon 18 Mar 15:00 MSK" in text

    def test_too_many_hours_is_refused_and_nothing_is_written(
        self, desk: Desk, spb_foreman: Any
    ) -> None:
        order, (worker, *_) = crewed(desk, foreman=spb_foreman)
        desk.at(END)
        response = mark(logged_in(spb_foreman), order, worker, "present", "19")
        assert response.status_code == 200
        card = card_of(page(response), worker)
        assert f"{worker.name}: not recorded." in card
        assert ("19 hours is more than this 6-hour shift plus 4 hours of overtime allow "
                "(10 at most)." in card)
        assert 'value="19"' in card
        offer = desk.offer(order, worker)
        assert (offer.attendance, offer.hours_worked) == (None, None)
        assert not RatingEvent.objects.filter(worker=worker).exists()

    @pytest.mark.parametrize(("status", "hours", "message"), [
        ("present", "lots", "Hours: Enter a number."),
        ("present", "-1", "Hours: Ensure this value is greater than or equal to 0."),
        ("arrived", "", "Status: Select a valid choice."),
    ])
    def test_a_malformed_post_is_a_message_not_an_error(
        self, desk: Desk, spb_foreman: Any, status: str, hours: str, message: str
    ) -> None:
        order, (worker, *_) = crewed(desk, foreman=spb_foreman)
        desk.at(START)
        response = mark(logged_in(spb_foreman), order, worker, status, hours)
        assert response.status_code == 200
        assert message in card_of(page(response), worker)
        assert desk.offer(order, worker).attendance is None

    def test_a_worker_not_on_the_crew_is_refused(self, desk: Desk, spb_foreman: Any) -> None:
        order, _ = crewed(desk, foreman=spb_foreman)
        stranger = desk.worker()
        desk.at(START)
        response = mark(logged_in(spb_foreman), order, stranger, "present")
        assert response.status_code == 200
        text = page(response)
        # Nobody's card: the refusal is at the top, naming the worker.
        top = text[text.index('id="refusal"'):text.index("</div>", text.index('id="refusal"'))]
        assert f"{stranger.name}: not recorded, not on this crew" in top
        assert f"Not on this crew: [{stranger.pk}]." in top
        assert text.index('id="refusal"') < text.index('class="card')
        assert not Offer.objects.filter(order=order, attendance__isnull=False).exists()

    def test_no_buttons_on_a_cancelled_order(self, desk: Desk, spb_user: Any) -> None:
        order, _ = crewed(desk)
        order_cancel(order=order)
        text = page(logged_in(spb_user).get(url(order)))
        assert 'name="status"' not in text
        assert "No attendance on a cancelled order." in text


class TestComplete:
    def test_the_office_completes_once_the_start_has_passed(
        self, desk: Desk, spb_user: Any
    ) -> None:
        order, (worker, *_) = crewed(desk)
        browser = logged_in(spb_user)
        desk.at(START - timedelta(minutes=30))
        assert "Complete order" not in page(browser.get(url(order)))
        # A stale page posted too early: the service's refusal, shown on the page.
        early = browser.post(url(order), {"action": "complete"})
        assert early.status_code == 200
        by_the_button = page(early)[page(early).index('id="complete"'):]
        assert "Not completed:" in by_the_button
        assert "An order can be completed once it has started." in by_the_button
        order.refresh_from_db()
        assert order.status == Order.Status.FILLED

        desk.at(END)
        mark(browser, order, worker, "present")
        assert "Complete order" in page(browser.get(url(order)))
        response = browser.post(url(order), {"action": "complete"}, follow=True)

        assert f"Order {order.code} completed" in page(response)
        order.refresh_from_db()
        assert order.status == Order.Status.COMPLETED
        assert desk.offer(order, worker).hours_worked == Decimal("6.0")  # the whole shift
        assert "Complete order" not in page(response)

    def test_a_foreman_records_attendance_but_does_not_complete(
        self, desk: Desk, spb_foreman: Any
    ) -> None:
        order, _ = crewed(desk, foreman=spb_foreman)
        desk.at(END)
        browser = logged_in(spb_foreman)
        assert "Complete order" not in page(browser.get(url(order)))
        assert browser.post(url(order), {"action": "complete"}).status_code == 403
        order.refresh_from_db()
        assert order.status == Order.Status.FILLED


class TestLocalTime:
    def test_zone_labels(self) -> None:
        moment = datetime(2030, 1, 15, 6, 0, tzinfo=UTC)
        assert str(local_time(moment, "Europe/Moscow")) == "Tue 15 Jan 09:00 MSK"
        assert local_time(moment, "Asia/Novosibirsk").zone == "UTC+07"
        assert local_time(moment, "UTC").zone == "UTC"
        assert zone_label(moment.astimezone(ZoneInfo("America/St_Johns"))) == "NST"

    def test_a_local_day_follows_the_clock_change(self) -> None:
        # Berlin moved its clocks on 31 March 2030: that day has 23 hours.
        first, last = local_days(datetime(2030, 3, 31, 12, tzinfo=UTC), "Europe/Berlin", 1)
        assert last.astimezone(UTC) - first.astimezone(UTC) == timedelta(hours=23)
        assert first.astimezone(UTC) == datetime(2030, 3, 30, 23, tzinfo=UTC)

