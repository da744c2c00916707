"""The live board: a day's orders in each franchise's local time, how each fills, orders at
risk, paging through a long day with a flat number of queries, and the dispatcher's actions
through the real services.

Every test runs on the virtual clock of tests/dispatch: NOW is noon in Saint Petersburg
(Sun 10 Mar 2030), orders start at START, 09:00 local the next morning, unless said otherwise.
"""

import re
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client as Browser

from clients.services import client_create, site_create
from core import clock
from dispatch.models import Offer, Order
from dispatch.services import order_place
from dispatch.services.lifecycle import order_cancel
from franchises.services import user_create
from messaging.models import Message
from tests.dispatch.conftest import NOW, START, Desk
from web.board import PAGE_SIZE

pytestmark = pytest.mark.django_db

TODAY = date(2030, 3, 10)
TOMORROW = date(2030, 3, 11)


@pytest.fixture
def desk(spb: Any, spb_client: Any) -> Iterator[Desk]:
    virtual = clock.VirtualClock(NOW)
    with clock.use_clock(virtual):
        site = site_create(client=spb_client, address="Sofiyskaya 6, Saint Petersburg",
                           lat=59.87, lng=30.42)
        yield Desk(franchise=spb, client=spb_client, site=site, virtual_clock=virtual)


@pytest.fixture
def recruiter(spb: Any) -> Any:
    return user_create(username="spb-recruiter", password="pw-12345", role="recruiter",
                       franchise=spb)


def logged_in(user: Any) -> Browser:
    browser = Browser()
    browser.force_login(user)
    return browser


def board(user: Any, **params: Any) -> str:
    response = logged_in(user).get("/board/", params)
    assert response.status_code == 200
    return response.content.decode()


def row(page: str, order: Order) -> str:
    """The board's row of `order` ('' when it is not on the page)."""
    match = re.search(rf'<tr id="order-{order.pk}"[^>]*>.*?</tr>', page, re.S)
    return match.group(0) if match else ""


def count(row_html: str, name: str) -> int:
    match = re.search(rf'data-count="{name}">(\d+)<', row_html)
    assert match, f"no {name} in the row"
    return int(match.group(1))


def nsk_order(nsk: Any, start: Any = START, name: str = "Holiday") -> Order:
    client = client_create(name=name, franchise=nsk, phone="")
    site = site_create(client=client, address=f"{name} site", lat=55.03, lng=82.92)
    return order_place(client=client, site=site, work_type="loading", headcount=2, start=start,
                       hours=Decimal(6))


class TestAccess:
    def test_hq_lands_on_the_board(self, desk: Desk, hq_user: Any) -> None:
        browser = logged_in(hq_user)
        assert browser.get("/").url == "/board/"
        assert browser.get("/board/").status_code == 200

    def test_a_franchise_uses_the_board(self, desk: Desk, spb_user: Any) -> None:
        assert logged_in(spb_user).get("/board/").status_code == 200
        assert logged_in(spb_user).get("/board/rows/").status_code == 200

    def test_foremen_and_recruiters_are_refused(
        self, desk: Desk, spb_foreman: Any, recruiter: Any
    ) -> None:
        order = desk.order(2)
        for user in (spb_foreman, recruiter):
            browser = logged_in(user)
            assert browser.get("/board/").status_code == 403
            assert browser.get("/board/rows/").status_code == 403
            assert browser.get(f"/board/{order.pk}/cancel/").status_code == 403
            assert browser.post(f"/board/{order.pk}/callout/").status_code == 403
        order.refresh_from_db()
        assert order.status == Order.Status.DRAFT

    def test_the_board_needs_a_login(self, client: Browser) -> None:
        response = client.get("/board/")
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")

    def test_the_menu_offers_the_board_to_its_roles_only(
        self, desk: Desk, spb_user: Any, spb_foreman: Any
    ) -> None:
        assert 'href="/board/"' in board(spb_user)
        assert 'href="/board/"' not in logged_in(spb_foreman).get("/crew/").content.decode()


class TestScope:
    @pytest.fixture
    def orders(self, desk: Desk, nsk: Any, spb_foreman: Any) -> dict[str, Order]:
        return {
            "spb": desk.order(2),
            "spb_foreman": desk.order(3, foreman=spb_foreman),
            "nsk": nsk_order(nsk),
        }

    @staticmethod
    def listed(user: Any, orders: dict[str, Order]) -> set[str]:
        page = board(user, day=TOMORROW.isoformat())
        return {key for key, order in orders.items() if row(page, order)}

    def test_each_caller_sees_the_orders_of_their_own_scope(
        self, orders: dict[str, Order], spb_user: Any, nsk_user: Any, hq_user: Any
    ) -> None:
        assert self.listed(spb_user, orders) == {"spb", "spb_foreman"}
        assert self.listed(nsk_user, orders) == {"nsk"}
        assert self.listed(hq_user, orders) == {"spb", "spb_foreman", "nsk"}

    def test_another_franchises_order_is_not_found(
        self, orders: dict[str, Order], nsk_user: Any
    ) -> None:
        browser = logged_in(nsk_user)
        spb_order = orders["spb"]
        assert browser.get(f"/board/{spb_order.pk}/cancel/").status_code == 404
        assert browser.post(f"/board/{spb_order.pk}/cancel/").status_code == 404
        assert browser.post(f"/board/{spb_order.pk}/callout/").status_code == 404
        spb_order.refresh_from_db()
        assert spb_order.status == Order.Status.DRAFT
        assert not spb_order.offers.exists()

    def test_a_franchise_cannot_widen_its_board_with_the_franchise_filter(
        self, orders: dict[str, Order], nsk: Any, spb_user: Any
    ) -> None:
        page = board(spb_user, day=TOMORROW.isoformat(), franchise=nsk.pk)
        assert row(page, orders["spb"])
        assert not row(page, orders["nsk"])
        assert 'name="franchise"' not in page

    def test_hq_filters_by_franchise(
        self, orders: dict[str, Order], nsk: Any, hq_user: Any
    ) -> None:
        page = board(hq_user, day=TOMORROW.isoformat(), franchise=nsk.pk)
        assert row(page, orders["nsk"])
        assert not row(page, orders["spb"])


class TestDays:
    def test_the_board_opens_on_the_viewers_today(self, desk: Desk, spb_user: Any) -> None:
        today = desk.order(2, start=NOW + timedelta(hours=3))
        tomorrow = desk.order(2)
        page = board(spb_user)
        assert row(page, today)
        assert not row(page, tomorrow)
        assert 'value="2030-03-10"' in page

    def test_each_order_shows_its_franchises_local_time(
        self, desk: Desk, nsk: Any, hq_user: Any
    ) -> None:
        moscow = desk.order(2)  # 06:00 UTC
        novosibirsk = nsk_order(nsk)
        page = board(hq_user, day=TOMORROW.isoformat())
        assert "Mon 11 Mar 09:00 MSK" in row(page, moscow)
        assert "Mon 11 Mar 13:00 UTC+07" in row(page, novosibirsk)  # no letters for Novosibirsk
        assert 'title="Asia/Novosibirsk"' in row(page, novosibirsk)
        assert "Novosibirsk office" in row(page, novosibirsk)
        assert f'<a href="/orders/{moscow.pk}/">{moscow.code}</a>' in row(page, moscow)

    def test_an_order_belongs_to_the_day_of_its_local_start(
        self, desk: Desk, nsk: Any, hq_user: Any
    ) -> None:
        # 01:00 on Tuesday in Novosibirsk is still Monday 21:00 in Moscow.
        early = nsk_order(nsk, start=START + timedelta(hours=12))
        assert not row(board(hq_user, day=TOMORROW.isoformat()), early)
        page = board(hq_user, day=(TOMORROW + timedelta(days=1)).isoformat())
        assert "Tue 12 Mar 01:00 UTC+07" in row(page, early)

    def test_a_bad_day_is_a_message_and_the_board_shows_today(
        self, desk: Desk, spb_user: Any
    ) -> None:
        today = desk.order(2, start=NOW + timedelta(hours=3))
        page = board(spb_user, day="2030-02-31")
        assert 'class="errorlist' in page
        assert row(page, today)

    @pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1999-12-31"])
    def test_a_day_out_of_range_is_a_message(
        self, desk: Desk, hq_user: Any, day: str
    ) -> None:
        for path in ("/board/", "/board/rows/"):
            response = logged_in(hq_user).get(path, {"day": day})
            assert response.status_code == 200
        assert "Pick a day between" in board(hq_user, day=day)

    def test_status_filter(self, desk: Desk, spb_user: Any) -> None:
        draft = desk.order(2)
        cancelled = order_cancel(order=desk.order(2))
        day = TOMORROW.isoformat()
        assert row(board(spb_user, day=day), cancelled)  # the day's orders, all of them
        assert 'class="cancelled"' in row(board(spb_user, day=day), cancelled)
        page = board(spb_user, day=day, status="open")
        assert row(page, draft)
        assert not row(page, cancelled)
        page = board(spb_user, day=day, status="cancelled")
        assert row(page, cancelled)
        assert not row(page, draft)


class TestFilling:
    def test_the_counts_and_the_bar_show_how_the_crew_fills(
        self, desk: Desk, spb_user: Any
    ) -> None:
        workers = desk.workers(5)
        order = desk.book(desk.order(2), workers)  # target 3: 3 confirmed, 1 standby
        confirmed = len(desk.in_state(order, Offer.State.CONFIRMED))
        standby = len(desk.in_state(order, Offer.State.STANDBY))
        assert (confirmed, standby) == (3, 1)

        line = row(board(spb_user, day=TOMORROW.isoformat()), order)

        assert count(line, "headcount") == 2
        assert count(line, "target") == 3
        assert count(line, "offered") == order.offers.count()
        assert count(line, "accepted") == 5
        assert count(line, "confirmed") == 3
        assert count(line, "standby") == 1
        assert count(line, "present") == 0
        # The bar: 3 confirmed (enough: not short), 1 standby after them, on a scale of 4.
        assert 'viewBox="0 0 4 10"' in line
        assert '<rect class="fill-ok" x="0" y="0" width="3"' in line
        assert '<rect class="fill-standby" x="3" y="0" width="1"' in line
        assert 'x1="2" x2="2"' in line  # the headcount's mark
        assert "3 of 2 confirmed, 1 standby, 0 present" in line

    def test_a_short_crew_draws_short(self, desk: Desk, spb_user: Any) -> None:
        order = desk.book(desk.order(4), desk.workers(2))
        line = row(board(spb_user, day=TOMORROW.isoformat()), order)
        assert '<rect class="fill-short" x="0" y="0" width="2"' in line


class TestAtRisk:
    def test_a_near_start_with_a_short_crew_is_at_risk(
        self, desk: Desk, spb_user: Any, settings: Any
    ) -> None:
        settings.BOARD_AT_RISK_HOURS = 3
        soon = desk.book(desk.order(4, start=NOW + timedelta(hours=2)), desk.workers(2))
        later = desk.book(desk.order(4, start=NOW + timedelta(hours=5), site=desk.site_at(3)),
                          desk.workers(2, km=3))
        page = board(spb_user)
        assert 'class="at-risk"' in row(page, soon)
        assert "At risk: 2 of 4 confirmed" in row(page, soon)
        assert "at-risk" not in row(page, later)

        settings.BOARD_AT_RISK_HOURS = 6
        assert "At risk: 2 of 4 confirmed" in row(board(spb_user), later)

    def test_a_full_crew_is_not_at_risk(self, desk: Desk, spb_user: Any) -> None:
        order = desk.book(desk.order(2, start=NOW + timedelta(hours=2)), desk.workers(3))
        assert "at-risk" not in row(board(spb_user), order)

    def test_an_order_under_way_with_too_few_on_site_is_at_risk(
        self, desk: Desk, spb_user: Any
    ) -> None:
        order = desk.book(desk.order(2, start=NOW + timedelta(hours=2)), desk.workers(3))
        crew = Offer.objects.filter(order=order, state=Offer.State.CONFIRMED)
        # One checks in (HERE), then the start passes and the order is under way.
        desk.at(order.start - timedelta(minutes=30))
        desk.reply(crew[0].worker, f"HERE {order.code}")
        desk.sweep(order.start + timedelta(minutes=31))
        order.refresh_from_db()
        assert order.status == Order.Status.IN_PROGRESS
        line = row(board(spb_user), order)
        assert count(line, "present") == 1
        assert "At risk: 1 of 2 on site" in line


class TestPaging:
    @staticmethod
    def place(desk: Desk, how_many: int, start: Any = START) -> list[Order]:
        return [desk.order(1, start=start + timedelta(minutes=index))
                for index in range(how_many)]

    def test_a_long_day_is_paged_in_start_order(self, desk: Desk, spb_user: Any) -> None:
        orders = self.place(desk, PAGE_SIZE + 5)
        first = board(spb_user, day=TOMORROW.isoformat())
        second = board(spb_user, day=TOMORROW.isoformat(), page=2)
        assert all(row(first, order) for order in orders[:PAGE_SIZE])
        assert not any(row(first, order) for order in orders[PAGE_SIZE:])
        assert all(row(second, order) for order in orders[PAGE_SIZE:])
        assert f"{PAGE_SIZE + 5} orders" in first
        assert 'id="board-page-next"' in first
        assert "page=2" in first

    def test_the_queries_do_not_grow_with_the_day(
        self, desk: Desk, nsk: Any, hq_user: Any, spb_user: Any,
        django_assert_max_num_queries: Any,
    ) -> None:
        day = {"day": TOMORROW.isoformat()}
        browsers = {user.username: logged_in(user) for user in (hq_user, spb_user)}
        paths = ("/board/", "/board/rows/")
        self.place(desk, 10)
        nsk_order(nsk)
        small = {}
        for name, browser in browsers.items():
            for path in paths:
                browser.get(path, day)  # the session is read once, as on every page
                with django_assert_max_num_queries(20) as captured:
                    assert browser.get(path, day).status_code == 200
                small[name, path] = len(captured)

        self.place(desk, 190, start=START + timedelta(hours=1))

        for (name, path), queries in small.items():
            with django_assert_max_num_queries(queries):
                page = browsers[name].get(path, day).content.decode()
            assert page.count("<tr id=") == PAGE_SIZE


class TestLiveRows:
    def test_the_rows_poll_every_5_seconds_keeping_filters_and_page(
        self, desk: Desk, spb_user: Any
    ) -> None:
        page = board(spb_user, day=TOMORROW.isoformat(), status="open", page=1)
        tbody = re.search(r"<tbody[^>]*>", page).group(0)
        assert 'hx-trigger="every 5s"' in tbody
        assert 'hx-get="/board/rows/?day=2030-03-11&amp;status=open"' in tbody
        fragment = logged_in(spb_user).get(
            "/board/rows/", {"day": TOMORROW.isoformat(), "status": "open"}
        ).content.decode()
        assert fragment.lstrip().startswith('<tbody id="board-rows"')
        assert "<html" not in fragment
        assert 'hx-get="/board/rows/?day=2030-03-11&amp;status=open"' in fragment

    def test_the_rows_show_a_crew_confirmed_since_the_page_was_opened(
        self, desk: Desk, spb_user: Any
    ) -> None:
        workers = desk.workers(3)
        order = desk.called(2)
        rows = {"day": TOMORROW.isoformat()}
        browser = logged_in(spb_user)
        before = row(browser.get("/board/rows/", rows).content.decode(), order)
        assert count(before, "confirmed") == 0

        desk.book(order, workers)

        after = row(browser.get("/board/rows/", rows).content.decode(), order)
        assert count(after, "confirmed") == 3
        assert 'data-status="filled"' in after


class TestActions:
    def test_start_the_call_out(self, desk: Desk, spb_user: Any) -> None:
        desk.workers(6)
        order = desk.order(2)
        back = f"/board/?day={TOMORROW.isoformat()}"
        response = logged_in(spb_user).post(f"/board/{order.pk}/callout/", {"next": back},
                                            follow=True)
        assert response.redirect_chain[-1][0] == back
        order.refresh_from_db()
        assert order.status == Order.Status.CALLING
        offers = order.offers.count()
        assert offers > 0
        assert Message.objects.filter(order=order, purpose="offer").count() == offers
        assert f"call-out started, booking target 3, {offers} offers sent" in (
            response.content.decode())

    def test_a_refusal_is_a_message_not_an_error(self, desk: Desk, spb_user: Any) -> None:
        order = desk.called(2)
        response = logged_in(spb_user).post(f"/board/{order.pk}/callout/", follow=True)
        assert response.status_code == 200
        assert "The call-out has already started" in response.content.decode()
        response = logged_in(spb_user).post(f"/board/{desk.order(2).pk}/assign/", follow=True)
        assert response.status_code == 200
        assert "Nothing to assign" in response.content.decode()

    def test_an_unknown_action_is_not_found(self, desk: Desk, spb_user: Any) -> None:
        order = desk.order(2)
        assert logged_in(spb_user).post(f"/board/{order.pk}/explode/").status_code == 404
        assert logged_in(spb_user).get(f"/board/{order.pk}/callout/").status_code == 405

    def test_run_the_assignment_now(self, desk: Desk, spb_user: Any) -> None:
        workers = desk.workers(3)
        order = desk.called(2)
        for worker in workers:
            desk.accept(worker, order)
        assert not desk.in_state(order, Offer.State.CONFIRMED)
        response = logged_in(spb_user).post(f"/board/{order.pk}/assign/", follow=True)
        assert len(desk.in_state(order, Offer.State.CONFIRMED)) == 3
        assert "3 confirmed" in response.content.decode()

    def test_another_wave(self, desk: Desk, spb_user: Any) -> None:
        desk.workers(40, km=2)
        desk.workers(40, km=15)
        order = desk.called(10)
        first = order.offers.count()
        response = logged_in(spb_user).post(f"/board/{order.pk}/wave/", follow=True)
        order.refresh_from_db()
        assert order.waves_sent == 2
        assert order.offers.count() > first
        assert f"another wave of {order.offers.count() - first} offers sent" in (
            response.content.decode())

    def test_another_wave_only_while_calling(self, desk: Desk, spb_user: Any) -> None:
        order = desk.order(2)
        response = logged_in(spb_user).post(f"/board/{order.pk}/wave/", follow=True)
        assert "only while the order is calling" in response.content.decode()
        assert not order.offers.exists()

    def test_cancel_says_how_many_will_be_texted_before_it_cancels(
        self, desk: Desk, spb_user: Any
    ) -> None:
        order = desk.book(desk.order(2), desk.workers(5))  # 3 confirmed, 1 standby
        browser = logged_in(spb_user)
        back = f"/board/?day={TOMORROW.isoformat()}"

        confirm = browser.get(f"/board/{order.pk}/cancel/", {"next": back}).content.decode()

        assert "4 workers will be texted" in confirm
        assert "(3 confirmed, 1 on standby)" in confirm
        assert 'id="confirm-cancel"' in confirm
        assert f'value="{back}"' in confirm
        order.refresh_from_db()
        assert order.status == Order.Status.FILLED
        assert not desk.told(order, "cancellation")

        response = browser.post(f"/board/{order.pk}/cancel/", {"next": back}, follow=True)

        assert response.redirect_chain[-1][0] == back
        order.refresh_from_db()
        assert order.status == Order.Status.CANCELLED
        assert len(desk.told(order, "cancellation")) == 4
        assert "cancelled; 4 workers are being told by SMS" in response.content.decode()

    def test_cancelling_twice_or_too_late_is_a_message(self, desk: Desk, spb_user: Any) -> None:
        order = order_cancel(order=desk.order(2))
        browser = logged_in(spb_user)
        assert "can no longer be cancelled" in browser.get(
            f"/board/{order.pk}/cancel/").content.decode()
        response = browser.post(f"/board/{order.pk}/cancel/", follow=True)
        assert response.status_code == 200
        assert "already cancelled" in response.content.decode()

    def test_the_way_back_is_only_ever_a_board(self, desk: Desk, spb_user: Any) -> None:
        order = desk.order(2)
        browser = logged_in(spb_user)
        for target in ("https://evil.example/board/", "/admin/", "javascript:alert(1)"):
            response = browser.post(f"/board/{order.pk}/wave/", {"next": target})
            assert response["Location"] == "/board/"
            page = browser.get(f"/board/{order.pk}/cancel/", {"next": target}).content.decode()
            assert target not in page

    def test_each_row_offers_the_actions_its_status_allows(
        self, desk: Desk, spb_user: Any
    ) -> None:
        draft = desk.order(2)
        calling = desk.called(2, site=desk.site_at(2))
        cancelled = order_cancel(order=desk.order(2))
        page = board(spb_user, day=TOMORROW.isoformat())
        assert f'id="callout-{draft.code}"' in row(page, draft)
        assert f'id="cancel-{draft.code}"' in row(page, draft)
        assert f'id="wave-{draft.code}"' not in row(page, draft)
        assert f'id="assign-{calling.code}"' in row(page, calling)
        assert f'id="wave-{calling.code}"' in row(page, calling)
        assert f'id="callout-{calling.code}"' not in row(page, calling)
        assert "<button" not in row(page, cancelled)
