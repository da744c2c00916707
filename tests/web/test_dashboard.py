"""The franchise dashboard: crews of today and tomorrow as they check in, the month's turnover
and royalty (the figures the statement will carry), invoices per client, credits and the
benchmark. Data is made by the real services; the clock is the project's virtual one."""

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from xml.etree import ElementTree

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client as Browser
from django.test.utils import CaptureQueriesContext

from billing.models import Credit, RoyaltyStatement
from billing.selectors import client_invoices, month_to_date
from billing.services import credit_give, royalty_statements_issue
from clients.services import client_create, site_create
from core import clock
from dispatch.models import Offer
from dispatch.services.lifecycle import order_cancel
from dispatch.services.onsite import AttendanceEntry, attendance_record, order_complete
from franchises.models import Franchise
from franchises.services import franchise_save, user_create
from tests.billing.conftest import LATE, NO_SHOW, PRESENT, Books
from tests.dispatch.conftest import NOW, START, Desk

pytestmark = pytest.mark.django_db

# 20:00 in Saint Petersburg on 31 October, for 8 hours: completed after the month turned.
OCTOBER_NIGHT = datetime(2026, 10, 31, 17, 0, tzinfo=UTC)
NOVEMBER_DAY = datetime(2026, 11, 10, 6, 0, tzinfo=UTC)  # 09:00 in Saint Petersburg
MID_NOVEMBER = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
NOVEMBER_OVER = datetime(2026, 12, 1, 0, 10, tzinfo=UTC)  # 03:10 on 1 December in Moscow


# --- helpers shared by the money pages' tests ---------------------------------------------------


def logged_in(user: Any) -> Browser:
    browser = Browser()
    browser.force_login(user)
    return browser


def text(response: Any) -> str:
    return response.content.decode()


def tag(page: str, element_id: str) -> str:
    """The opening tag of the element with this id."""
    match = re.search(rf'<[a-z0-9]+\s[^>]*\bid="{re.escape(element_id)}"[^>]*>', page)
    assert match, f"no element #{element_id}"
    return match.group(0)


def attribute(page: str, element_id: str, name: str) -> str:
    match = re.search(rf'\b{re.escape(name)}="([^"]*)"', tag(page, element_id))
    assert match, f"#{element_id} has no {name}"
    return match.group(1)


def amount(page: str, element_id: str) -> Decimal:
    return Decimal(attribute(page, element_id, "data-amount"))


def assert_no_inline_code(page: str) -> None:
    """The Content-Security-Policy allows no inline script, style or handler."""
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
    assert not re.search(r"\sstyle=", page)
    assert not re.search(r"\son[a-z]+=", page)
    assert "hx-on" not in page


def svg_charts(page: str) -> list[ElementTree.Element]:
    return [ElementTree.fromstring(markup)
            for markup in re.findall(r"<svg\b.*?</svg>", page, re.DOTALL)]


def money_books(hq_user: Any, virtual: clock.VirtualClock, *franchises: Franchise) -> Books:
    """The billing tests' month builder; the offices book exactly the headcount, so a crew
    that accepts fills its order."""
    for franchise in franchises:
        franchise.booking_ratio = Decimal(1)
        franchise_save(franchise=franchise)
    return Books(hq_user=hq_user, virtual_clock=virtual)


@pytest.fixture
def virtual() -> Iterator[clock.VirtualClock]:
    moment = clock.VirtualClock(datetime(2026, 10, 1, 9, 0, tzinfo=UTC))
    with clock.use_clock(moment):
        yield moment


@pytest.fixture
def recruiter(spb: Franchise) -> Any:
    return user_create(username="spb-recruiter", password="pw-12345", role="recruiter",
                       franchise=spb)


# --- who sees which dashboard --------------------------------------------------------------


class TestAccess:
    def test_a_franchise_login_lands_on_its_own_dashboard(self, spb_user: Any) -> None:
        browser = logged_in(spb_user)
        assert browser.get("/")["Location"] == "/dashboard/"
        page = text(browser.get("/dashboard/"))
        assert "<h1>Saint Petersburg office</h1>" in page
        assert 'href="/dashboard/"' in page  # in the menu
        assert 'href="/network/"' not in page
        assert 'href="/books/"' not in page

    def test_another_franchises_dashboard_is_not_found(self, spb_user: Any,
                                                       nsk: Franchise, spb: Franchise) -> None:
        browser = logged_in(spb_user)
        assert browser.get(f"/dashboard/?franchise={nsk.pk}").status_code == 404
        assert browser.get(f"/dashboard/crews/?franchise={nsk.pk}").status_code == 404
        assert browser.get("/dashboard/?franchise=999999").status_code == 404
        assert browser.get(f"/dashboard/?franchise={spb.pk}").status_code == 200

    @pytest.mark.parametrize("role", ["spb_foreman", "recruiter"])
    def test_foremen_and_recruiters_are_refused(self, role: str, request: Any,
                                                spb: Franchise) -> None:
        browser = logged_in(request.getfixturevalue(role))
        for url in ("/dashboard/", f"/dashboard/?franchise={spb.pk}", "/dashboard/crews/",
                    "/network/", "/books/"):
            assert browser.get(url).status_code == 403, url

    def test_a_visitor_is_sent_to_log_in(self, client: Browser) -> None:
        response = client.get("/dashboard/")
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")

    def test_hq_picks_any_franchise(self, hq_user: Any, hq_franchise: Franchise,
                                    spb: Franchise, nsk: Franchise) -> None:
        browser = logged_in(hq_user)
        picker = text(browser.get("/dashboard/"))
        assert f'<option value="{spb.pk}">' in picker
        assert f'<option value="{nsk.pk}">' in picker
        assert f'<option value="{hq_franchise.pk}">' not in picker
        page = text(browser.get(f"/dashboard/?franchise={nsk.pk}"))
        assert "<h1>Novosibirsk office</h1>" in page
        assert browser.get(f"/dashboard/?franchise={hq_franchise.pk}").status_code == 404
        assert browser.get("/dashboard/?franchise=abc").status_code == 404


# --- the month to date is what the statement will say -------------------------------------


def _november(books: Books, spb: Franchise, hq_user: Any) -> dict[str, Any]:
    """Saint Petersburg's autumn, hand-computed.

    October: a night shift starting at 20:00 on the 31st for 8 hours, 2 workers at 200/h,
    completed after October's statement was issued: 3,200.00 of October's turnover that the
    November statement carries. November: 233.33/h, 7.5 h and 6 h (late) worked and one
    no-show -> 1,749.98 + 1,399.98 = 3,149.96, less a credit of 99.90 given on the page.
    Turnover 6,250.06; royalty 15 % = 937.509 -> 937.51; with the 5,000 fee, 5,937.51.
    """
    spb.monthly_fee = Decimal(5000)
    franchise_save(franchise=spb)
    client = books.client(spb)
    night, crew = books.staffed(client, start=OCTOBER_NIGHT, headcount=2, hours=8,
                                bill_rate="200", pay_rate="100")
    books.clock.set(night.start + timedelta(minutes=10))
    attendance_record(order=night, entries=[AttendanceEntry(w.pk, PRESENT) for w in crew])
    books.clock.set(datetime(2026, 11, 1, 0, 10, tzinfo=UTC))
    royalty_statements_issue(period="2026-10")
    books.clock.set(night.ends_at + timedelta(minutes=30))
    order_complete(order=night)
    day, day_crew = books.staffed(client, start=NOVEMBER_DAY, headcount=3, hours=8,
                                  bill_rate="233.33", pay_rate="101.11")
    return {"client": client, "day": day, "day_crew": day_crew}


class TestMonthToDate:
    def test_turnover_and_royalty_are_what_the_statement_then_says(
        self, virtual: clock.VirtualClock, hq_user: Any, spb: Franchise, spb_user: Any,
        spb_api: Any,
    ) -> None:
        books = money_books(hq_user, virtual, spb)
        autumn = _november(books, spb, hq_user)
        browser = logged_in(spb_user)
        books.clock.set(NOVEMBER_DAY - timedelta(hours=2))
        before = text(browser.get("/dashboard/"))
        assert attribute(before, "month-to-date", "data-period") == "2026-11"
        assert amount(before, "mtd-turnover") == Decimal("3200.00")  # carried from October

        day, crew = autumn["day"], autumn["day_crew"]
        books.complete(day, [(crew[0], PRESENT, "7.5"), (crew[1], LATE, "6"),
                             (crew[2], NO_SHOW, None)])
        response = logged_in(hq_user).post("/credits/new/", {
            "franchise": spb.pk, "credit-client": autumn["client"].pk,
            "credit-period": "2026-11", "credit-amount": "99,90",
            "credit-reason": "a broken pallet",
        })
        assert response.status_code == 302

        books.clock.set(MID_NOVEMBER)
        page = text(browser.get("/dashboard/"))
        figures = {name: amount(page, f"mtd-{name}")
                   for name in ("turnover", "royalty", "fee", "total")}
        assert figures == {"turnover": Decimal("6250.06"), "royalty": Decimal("937.51"),
                           "fee": Decimal("5000.00"), "total": Decimal("5937.51")}
        assert "Royalty at 15 %" in page

        books.clock.set(NOVEMBER_OVER)
        call_command("issue_royalty_statements", "--period", "2026-11")
        statement = RoyaltyStatement.objects.get(franchise=spb, period="2026-11")
        assert (statement.turnover, statement.royalty, statement.monthly_fee,
                statement.total) == (figures["turnover"], figures["royalty"], figures["fee"],
                                     figures["total"])
        assert statement.adjustment == Decimal("3200.00")
        api = spb_api.get("/api/v1/royalty-statements/?period=2026-11").json()["results"][0]
        assert (Decimal(api["turnover"]), Decimal(api["royalty"]), Decimal(api["total"])) == (
            figures["turnover"], figures["royalty"], figures["total"])

    def test_the_month_is_the_franchises_own(self, virtual: clock.VirtualClock, hq_user: Any,
                                             nsk: Franchise, nsk_user: Any) -> None:
        """23:00 UTC on 30 November is already 1 December in Novosibirsk: its November is
        over, and the dashboard reads December."""
        books = money_books(hq_user, virtual, nsk)
        client = books.client(nsk)
        books.worked(client, start=datetime(2026, 11, 30, 2, 0, tzinfo=UTC), hours=4,
                     bill_rate="300", pay_rate="120", attendance=[(PRESENT, None)])
        books.clock.set(datetime(2026, 11, 30, 16, 0, tzinfo=UTC))  # 23:00 there
        page = text(logged_in(nsk_user).get("/dashboard/"))
        assert attribute(page, "month-to-date", "data-period") == "2026-11"
        assert amount(page, "mtd-turnover") == Decimal("1200.00")
        books.clock.set(datetime(2026, 11, 30, 18, 0, tzinfo=UTC))  # 01:00 on 1 December
        page = text(logged_in(nsk_user).get("/dashboard/"))
        assert attribute(page, "month-to-date", "data-period") == "2026-12"
        assert amount(page, "mtd-turnover") == Decimal("0.00")

    def test_the_reading_takes_a_fixed_number_of_queries(
        self, virtual: clock.VirtualClock, hq_user: Any, spb: Franchise,
    ) -> None:
        """Earlier statements are read at once, however many months there are."""
        books = money_books(hq_user, virtual, spb)
        client = books.client(spb)
        books.worked(client, start=datetime(2026, 3, 10, 6, 0, tzinfo=UTC), hours=1,
                     bill_rate="100", pay_rate="50", attendance=[(PRESENT, None)])
        counts = []
        for month in range(3, 9):
            books.clock.set(datetime(2026, month + 1, 2, 9, 0, tzinfo=UTC))
            royalty_statements_issue(period=f"2026-{month:02d}")
            with CaptureQueriesContext(connection) as reading:
                draft = month_to_date(franchise=spb, now=books.clock())
            counts.append(len(reading))
        # Five for the month and the restated months, one for credit statements to carry.
        assert counts == [6] * 6
        # A credit on March after its statement: carried into the month to date.
        credit_give(franchise=spb, client=client, period="2026-03", amount=Decimal(30),
                    reason="x")
        draft = month_to_date(franchise=spb, now=books.clock())
        assert (draft.period, draft.adjustment) == ("2026-09", Decimal(-30))
        assert draft.turnover == Decimal(-30)


# --- crews of today and tomorrow ----------------------------------------------------------------


@pytest.fixture
def desk(spb: Franchise, spb_client: Any) -> Iterator[Desk]:
    moment = clock.VirtualClock(NOW)  # noon in Saint Petersburg
    with clock.use_clock(moment):
        site = site_create(client=spb_client, address="Sofiyskaya 6, Saint Petersburg",
                           lat=59.87, lng=30.42)
        yield Desk(franchise=spb, client=spb_client, site=site, virtual_clock=moment)


class TestCrews:
    def test_todays_and_tomorrows_crews_with_their_check_ins(self, desk: Desk,
                                                              spb_user: Any) -> None:
        now_order = desk.book(desk.order(2, start=NOW + timedelta(minutes=30)),
                              desk.workers(3, language="en"))
        tomorrow = desk.order(4)  # START: 09:00 tomorrow, nobody asked yet
        # 23:30 tomorrow in Saint Petersburg is still tomorrow; 00:30 the day after is not,
        # though both fall on the same UTC date.
        late_evening = desk.order(1, start=datetime(2030, 3, 11, 20, 30, tzinfo=UTC))
        after = desk.order(1, start=datetime(2030, 3, 11, 21, 30, tzinfo=UTC))
        cancelled = desk.order(1, start=START + timedelta(hours=1))
        order_cancel(order=cancelled)
        crew = list(now_order.offers.filter(state=Offer.State.CONFIRMED)
                    .order_by("worker_id").values_list("worker_id", flat=True))
        desk.at(now_order.start + timedelta(minutes=20))
        attendance_record(order=now_order, entries=[
            AttendanceEntry(crew[0], PRESENT), AttendanceEntry(crew[1], LATE),
            AttendanceEntry(crew[2], NO_SHOW)])

        browser = logged_in(spb_user)
        for page in (text(browser.get("/dashboard/")),
                     text(browser.get("/dashboard/crews/", HTTP_HX_REQUEST="true"))):
            listed = re.findall(r'id="crew-(\d+)"', page)
            assert listed == [str(o.pk) for o in (now_order, tomorrow, late_evening)]
            row = tag(page, f"crew-{now_order.pk}")
            assert 'data-present="1"' in row
            assert 'data-late="1"' in row
            assert 'data-no-show="1"' in row
            assert f'href="/crew/{now_order.pk}/"' in page
            assert f'href="/orders/{now_order.pk}/"' in page
            assert "Tomorrow 09:00 MSK" in page
            assert str(after.pk) not in listed
            assert str(cancelled.pk) not in listed

    def test_the_crews_panel_refreshes_itself(self, desk: Desk, spb_user: Any,
                                              spb: Franchise) -> None:
        page = text(logged_in(spb_user).get("/dashboard/"))
        crews = tag(page, "crews")
        assert f'hx-get="/dashboard/crews/?franchise={spb.pk}"' in crews
        assert 'hx-trigger="every 10s"' in crews
        fragment = text(logged_in(spb_user).get(f"/dashboard/crews/?franchise={spb.pk}"))
        assert "<html" not in fragment
        assert "No orders today or tomorrow." in fragment

    def test_crews_cost_the_same_queries_however_many(self, desk: Desk,
                                                      spb_user: Any) -> None:
        browser = logged_in(spb_user)
        desk.order(2)
        browser.get("/dashboard/crews/")
        with CaptureQueriesContext(connection) as few:
            browser.get("/dashboard/crews/")
        for index in range(10):
            desk.book(desk.order(2, start=START + timedelta(minutes=index)),
                      desk.workers(1, language="en"))
        with CaptureQueriesContext(connection) as many:
            page = text(browser.get("/dashboard/crews/"))
        assert len(re.findall(r'id="crew-\d+"', page)) == 11
        assert len(many) == len(few)


# --- invoices per client, exports, credits ---------------------------------------------------


class TestInvoices:
    def test_totals_per_client_lines_on_demand_and_the_exports(
        self, virtual: clock.VirtualClock, hq_user: Any, spb: Franchise, nsk: Franchise,
        spb_user: Any,
    ) -> None:
        books = money_books(hq_user, virtual, spb, nsk)
        lenta = books.client(spb, "Lenta")
        ikea = books.client(spb, "IKEA Parnas")
        books.worked(lenta, start=NOVEMBER_DAY, hours=4, bill_rate="200", pay_rate="100",
                     attendance=[(PRESENT, None), (PRESENT, "3")])
        books.worked(ikea, start=NOVEMBER_DAY + timedelta(days=1), hours=5, bill_rate="300",
                     pay_rate="120", attendance=[(PRESENT, None)])
        siberian = books.client(nsk, "Siberian furniture")
        books.worked(siberian, start=NOVEMBER_DAY, hours=4, bill_rate="999",
                     pay_rate="120", attendance=[(PRESENT, None)])
        credit_give(franchise=spb, client=lenta, period="2026-11", amount=Decimal("40"),
                    reason="late start")
        books.clock.set(MID_NOVEMBER)
        browser = logged_in(spb_user)
        page = text(browser.get("/dashboard/?month=2026-11"))

        assert attribute(page, f"invoice-client-{ikea.pk}", "data-net") == "1500.00"
        assert attribute(page, f"invoice-client-{lenta.pk}", "data-net") == "1360.00"
        assert amount(page, "invoices-net") == Decimal("2860.00")
        assert siberian.name not in page
        assert page.index(f"invoice-client-{ikea.pk}") < page.index(f"invoice-client-{lenta.pk}")

        lines_url = attribute(page, f"show-lines-{lenta.pk}", "hx-get").replace("&amp;", "&")
        fragment = text(browser.get(lines_url, HTTP_HX_REQUEST="true"))
        assert "<html" not in fragment
        assert len(re.findall(r'data-line="\d+"', fragment)) == 2
        assert 'data-amount="1400.00"' in fragment
        assert "<html" in text(browser.get(lines_url))  # without htmx: a page of its own

        export = attribute(page, "export-invoice-lines", "href").replace("&amp;", "&")
        assert export == f"/api/v1/invoice-lines/export/?period=2026-11&franchise={spb.pk}"
        csv_text = text(browser.get(export))
        assert csv_text.count("Lenta") == 2
        assert csv_text.count("IKEA Parnas") == 1
        assert "Siberian" not in csv_text
        pay_export = attribute(page, "export-pay-lines", "href").replace("&amp;", "&")
        assert browser.get(pay_export).status_code == 200

        # Another franchise's client, by its id: not found.
        assert browser.get(f"/dashboard/clients/{siberian.pk}/lines/").status_code == 404

    def test_a_bad_month_is_said_next_to_the_picker(self, spb_user: Any, virtual: Any) -> None:
        response = logged_in(spb_user).get("/dashboard/?month=2026-13")
        assert response.status_code == 200
        page = text(response)
        assert 'class="field invalid"' in page
        assert "Pick a month" in page
        assert 'value="2026-13"' in page  # what was typed is kept
        assert "Invoices for October 2026" in page  # the current month is shown instead

    def test_invoices_per_client_in_two_queries(
        self, virtual: clock.VirtualClock, hq_user: Any, spb: Franchise,
    ) -> None:
        books = money_books(hq_user, virtual, spb)
        clients = [books.client(spb, f"Client {index}") for index in range(3)]
        for index, client in enumerate(clients):
            books.worked(client, start=NOVEMBER_DAY + timedelta(days=index), hours=2,
                         bill_rate="100", pay_rate="50",
                         attendance=[(PRESENT, None)] * (index + 1))
        books.clock.set(MID_NOVEMBER)
        credit_give(franchise=spb, client=clients[0], period="2026-11", amount=Decimal(50),
                    reason="x")
        with CaptureQueriesContext(connection) as reading:
            invoices = client_invoices(franchise=spb, period="2026-11")
        assert len(reading) == 2
        assert [(i.name, i.orders, i.hours, i.invoiced, i.credits) for i in invoices] == [
            ("Client 2", 1, Decimal("6.0"), Decimal("600.00"), Decimal(0)),
            ("Client 1", 1, Decimal("4.0"), Decimal("400.00"), Decimal(0)),
            ("Client 0", 1, Decimal("2.0"), Decimal("200.00"), Decimal("50.00")),
        ]


class TestCredits:
    def _setup(self, virtual: clock.VirtualClock, hq_user: Any, spb: Franchise) -> Any:
        books = money_books(hq_user, virtual, spb)
        client = books.client(spb, "Lenta")
        books.worked(client, start=NOVEMBER_DAY, hours=4, bill_rate="200", pay_rate="100",
                     attendance=[(PRESENT, None)])
        books.clock.set(MID_NOVEMBER)
        return client

    def test_hq_gives_a_credit_from_the_dashboard(self, virtual: Any, hq_user: Any,
                                                  spb: Franchise) -> None:
        client = self._setup(virtual, hq_user, spb)
        browser = logged_in(hq_user)
        page = text(browser.get(f"/dashboard/?franchise={spb.pk}"))
        assert amount(page, "mtd-turnover") == Decimal("800.00")
        assert 'id="credit-form"' in page
        response = browser.post("/credits/new/", {
            "franchise": spb.pk, "credit-client": client.pk, "credit-period": "2026-11",
            "credit-amount": "1 00,50", "credit-reason": "a broken pallet",
            "credit-next": f"/dashboard/?franchise={spb.pk}",
        }, follow=True)
        page = text(response)
        assert "Credit of 100.50 RUB given to Lenta for November 2026." in page
        assert amount(page, "mtd-turnover") == Decimal("699.50")
        credit = Credit.objects.get()
        assert f'id="credit-{credit.pk}"' in page

    @pytest.mark.parametrize(("field", "value", "message"), [
        ("credit-amount", "900", "at most 800.00 can be credited"),
        ("credit-amount", "-5", "greater than or equal to 0.01"),
        ("credit-amount", "lots", "Enter a number"),
        ("credit-period", "2026-12", "has not started yet"),
        ("credit-period", "2026/11", "Give the period as YYYY-MM"),
        ("credit-reason", "", "This field is required"),
    ])
    def test_a_refused_credit_is_said_next_to_its_field_and_nothing_is_written(
        self, *, virtual: Any, hq_user: Any, spb: Franchise, field: str, value: str,
        message: str,
    ) -> None:
        client = self._setup(virtual, hq_user, spb)
        data = {"franchise": spb.pk, "credit-client": client.pk, "credit-period": "2026-11",
                "credit-amount": "10", "credit-reason": "goodwill", field: value}
        for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
            response = logged_in(hq_user).post("/credits/new/", data, **headers)
            assert response.status_code == 200
            page = text(response)
            assert message in tag_and_after(page, f"{field}-error")
            assert f'value="{value}"' in page or field == "credit-reason"
        assert not Credit.objects.exists()

    def test_another_franchises_client_is_refused(self, virtual: Any, hq_user: Any,
                                                  spb: Franchise, nsk: Franchise) -> None:
        self._setup(virtual, hq_user, spb)
        stranger = client_create(name="Siberian", franchise=nsk)
        response = logged_in(hq_user).post("/credits/new/", {
            "franchise": spb.pk, "credit-client": stranger.pk, "credit-period": "2026-11",
            "credit-amount": "10", "credit-reason": "x"})
        assert "Select a valid choice" in tag_and_after(text(response), "credit-client-error")
        assert not Credit.objects.exists()

    def test_a_franchise_login_neither_gives_nor_withdraws(self, virtual: Any, hq_user: Any,
                                                           spb: Franchise,
                                                           spb_user: Any) -> None:
        client = self._setup(virtual, hq_user, spb)
        credit = credit_give(franchise=spb, client=client, period="2026-11",
                             amount=Decimal(5), reason="x")
        browser = logged_in(spb_user)
        page = text(browser.get("/dashboard/"))
        assert f'id="credit-{credit.pk}"' in page
        assert 'id="credit-form"' not in page
        assert f'id="withdraw-credit-{credit.pk}"' not in page
        assert browser.post("/credits/new/", {
            "franchise": spb.pk, "credit-client": client.pk, "credit-period": "2026-11",
            "credit-amount": "10", "credit-reason": "x"}).status_code == 403
        assert browser.post(f"/credits/{credit.pk}/withdraw/").status_code == 403
        assert list(Credit.objects.values_list("amount", flat=True)) == [Decimal(5)]

    def test_hq_withdraws_a_credit_after_reading_what_changes(
        self, virtual: Any, hq_user: Any, spb: Franchise,
    ) -> None:
        client = self._setup(virtual, hq_user, spb)
        credit = credit_give(franchise=spb, client=client, period="2026-11",
                             amount=Decimal("12.50"), reason="x")
        browser = logged_in(hq_user)
        page = text(browser.get(f"/dashboard/?franchise={spb.pk}"))
        confirm_url = attribute(page, f"withdraw-credit-{credit.pk}", "href")
        confirm = text(browser.get(confirm_url.replace("&amp;", "&")))
        assert "The credit of 12.50 RUB to Lenta for November 2026" in confirm
        assert Credit.objects.exists()  # reading the confirmation withdraws nothing
        response = browser.post(f"/credits/{credit.pk}/withdraw/",
                                {"next": f"/dashboard/?franchise={spb.pk}"}, follow=True)
        assert "withdrawn" in text(response)
        assert amount(text(response), "mtd-turnover") == Decimal("800.00")
        assert not Credit.objects.exists()
        assert browser.get(f"/credits/{credit.pk}/withdraw/").status_code == 404


def tag_and_after(page: str, element_id: str, length: int = 400) -> str:
    """The element with this id and what follows it: an error list next to its field."""
    start = page.index(tag(page, element_id))
    return page[start:start + length]


# --- the benchmark -----------------------------------------------------------------------------


class TestBenchmark:
    def test_own_figures_against_the_network_median_as_the_api_gives_them(
        self, *, virtual: clock.VirtualClock, hq_user: Any, spb: Franchise,
        nsk: Franchise, spb_user: Any, spb_api: Any,
    ) -> None:
        books = money_books(hq_user, virtual, spb, nsk)
        books.worked(books.client(spb), start=NOVEMBER_DAY, hours=4, bill_rate="200",
                     pay_rate="100", attendance=[(PRESENT, None), (NO_SHOW, None)])
        books.worked(books.client(nsk), start=NOVEMBER_DAY, hours=4, bill_rate="300",
                     pay_rate="100", attendance=[(PRESENT, None), (PRESENT, None)])
        books.clock.set(MID_NOVEMBER)
        page = text(logged_in(spb_user).get("/dashboard/?month=2026-11"))
        report = spb_api.get("/api/v1/reports/benchmark/?period=2026-11").json()
        own = report["results"][0]
        for metric in ("orders", "slots", "fill_rate", "no_show_rate", "revenue", "royalty"):
            row = page[page.index(f'data-metric="{metric}"'):]
            values = re.findall(r'data-value="([^"]*)"', row)[:2]
            assert [Decimal(v) for v in values] == [
                Decimal(str(own[metric])).quantize(Decimal(values[0])),
                Decimal(str(report["network_median"][metric])).quantize(Decimal(values[1])),
            ], metric
        charts = svg_charts(page)
        titles = [chart.find("{http://www.w3.org/2000/svg}title").text for chart in charts]
        assert titles == ["Fill rate", "No-show rate", "Revenue", "Average rating",
                          "Minutes to fill (median)"]
        revenue = charts[2]
        bars = revenue.findall(".//{http://www.w3.org/2000/svg}rect")
        assert [bar.get("class") for bar in bars] == ["bar", "bar median"]
        # Saint Petersburg's 800 against the median of 800 and 2,400: half the width.
        widths = [float(bar.get("width")) for bar in bars]
        assert widths[0] == pytest.approx(widths[1] / 2, rel=0.01)


# --- the page as a whole -------------------------------------------------------------------------


class TestPage:
    def test_no_inline_script_or_style_anywhere(self, virtual: Any, hq_user: Any,
                                                spb: Franchise, spb_user: Any) -> None:
        books = money_books(hq_user, virtual, spb)
        client = books.client(spb)
        books.worked(client, start=NOVEMBER_DAY, hours=4, bill_rate="200", pay_rate="100",
                     attendance=[(PRESENT, None)])
        books.clock.set(NOVEMBER_OVER)
        royalty_statements_issue(period="2026-11")
        credit_give(franchise=spb, client=client, period="2026-11", amount=Decimal(1),
                    reason="x")
        for browser, url in ((logged_in(spb_user), "/dashboard/?month=2026-11"),
                             (logged_in(hq_user), f"/dashboard/?franchise={spb.pk}"
                                                  "&month=2026-11")):
            page = text(browser.get(url))
            assert 'id="pay-' in page
            assert 'id="credit-' in page
            assert_no_inline_code(page)

    def test_the_whole_dashboard_costs_the_same_queries_as_the_books_grow(
        self, virtual: clock.VirtualClock, hq_user: Any, spb: Franchise, spb_user: Any,
    ) -> None:
        books = money_books(hq_user, virtual, spb)
        browser = logged_in(spb_user)
        clients = [books.client(spb, f"Client {index}") for index in range(4)]

        def month_of_work(month: int, clients: list[Any]) -> None:
            for index, client in enumerate(clients):
                books.worked(client, start=datetime(2026, month, 10 + index, 6, 0, tzinfo=UTC),
                             hours=2, bill_rate="100", pay_rate="50",
                             attendance=[(PRESENT, None)])

        def read() -> tuple[int, str]:
            books.clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
            browser.get("/dashboard/?month=2026-11")
            with CaptureQueriesContext(connection) as reading:
                page = text(browser.get("/dashboard/?month=2026-11"))
            return len(reading), page

        month_of_work(11, clients[:1])
        books.clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
        royalty_statements_issue(period="2026-11")
        few, page = read()
        assert len(re.findall(r'id="statement-\d+"', page)) == 1

        month_of_work(10, clients)
        books.clock.set(datetime(2026, 11, 1, 9, 0, tzinfo=UTC))
        royalty_statements_issue(period="2026-10")
        month_of_work(11, clients[1:])
        credit_give(franchise=spb, client=clients[1], period="2026-11", amount=Decimal(1),
                    reason="x")
        for index, client in enumerate(clients):
            books.staffed(client, start=datetime(2026, 12, 3, 6, index, tzinfo=UTC),
                          headcount=1, hours=2)
        many, page = read()
        assert len(re.findall(r'id="invoice-client-\d+"', page)) == 4
        assert len(re.findall(r'id="statement-\d+"', page)) == 2
        assert len(re.findall(r'id="crew-\d+"', page)) == 4
        assert many == few


def test_hq_sees_the_franchises_own_zone(hq_user: Any, nsk: Franchise) -> None:
    at = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
    with clock.use_clock(lambda: at):
        page = text(logged_in(hq_user).get(f"/dashboard/?franchise={nsk.pk}"))
    assert "local time Tue 1 Dec 01:00 UTC+07" in page
