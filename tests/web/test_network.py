"""HQ's network view: every franchise's month as a sortable table and charts (the benchmark
report's own figures), overdue statements, and how the month's leads were routed."""

import itertools
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.services import royalty_statements_issue, statement_pay, statements_mark_overdue
from clients.models import Lead
from clients.routing import lead_hand_on, lead_reject, leads_reroute_expired
from clients.selectors import FranchiseLeads, lead_routing
from clients.services import lead_create
from core import clock
from dispatch.services.leads import lead_accept
from franchises.models import Franchise
from franchises.services import franchise_save
from tests.billing.conftest import NO_SHOW, PRESENT, Books

from .test_dashboard import (
    assert_no_inline_code,
    logged_in,
    money_books,
    svg_charts,
    tag,
    text,
)

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"
NOVEMBER_DAY = datetime(2026, 11, 10, 6, 0, tzinfo=UTC)
MID_NOVEMBER = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
SPB_POINT = (59.93, 30.33)
MOSCOW_POINT = (55.75, 37.62)  # no franchise's territory
_phones = itertools.count(1)


@pytest.fixture
def virtual() -> Iterator[clock.VirtualClock]:
    moment = clock.VirtualClock(datetime(2026, 11, 1, 9, 0, tzinfo=UTC))
    with clock.use_clock(moment):
        yield moment


@pytest.fixture
def neva(spb: Franchise, territory_box: Any) -> Franchise:
    """A brand franchise covering Saint Petersburg too, with no work this month."""
    return franchise_save(franchise=Franchise(
        name="Neva Movers", kind=Franchise.Kind.BRAND_FRANCHISE, city="Saint Petersburg",
        territory=territory_box(59.94, 30.31)))


@pytest.fixture
def month(*, virtual: clock.VirtualClock, hq_user: Any, hq_franchise: Franchise,
          spb: Franchise, nsk: Franchise, neva: Franchise) -> Books:
    """November: Saint Petersburg 800.00 (one of two came), Novosibirsk 2,400.00 (both
    came), Neva Movers nothing."""
    books = money_books(hq_user, virtual, spb, nsk, neva)
    books.worked(books.client(spb), start=NOVEMBER_DAY, hours=4, bill_rate="200",
                 pay_rate="100", attendance=[(PRESENT, None), (NO_SHOW, None)])
    books.worked(books.client(nsk), start=NOVEMBER_DAY, hours=4, bill_rate="300",
                 pay_rate="100", attendance=[(PRESENT, None), (PRESENT, None)])
    books.clock.set(MID_NOVEMBER)
    return books


def _rows(page: str) -> list[str]:
    table = page[page.index('class="benchmark sortable"'):page.index("</tbody>")]
    return re.findall(r'<tr data-franchise="(\d+)"', table)


class TestAccess:
    def test_hq_only(self, virtual: Any, spb_user: Any, spb_foreman: Any, hq_user: Any,
                     client: Any) -> None:
        assert logged_in(hq_user).get("/network/").status_code == 200
        for user in (spb_user, spb_foreman):
            assert logged_in(user).get("/network/").status_code == 403
        assert client.get("/network/").status_code == 302

    def test_the_menu_shows_hq_its_network_and_books(self, virtual: Any, hq_user: Any) -> None:
        page = text(logged_in(hq_user).get("/network/"))
        assert 'href="/network/" class="active" aria-current="page"' in page
        assert 'href="/books/"' in page
        assert 'href="/dashboard/"' not in page  # HQ reaches dashboards from here


class TestBenchmark:
    def test_every_franchise_with_the_reports_figures(
        self, month: Books, hq_user: Any, hq_api: Any,
    ) -> None:
        page = text(logged_in(hq_user).get("/network/?month=2026-11"))
        assert "<h1>The network, November 2026</h1>" in page
        assert 'href="?month=2026-11&amp;sort=' in page  # links keep the month's key
        report = hq_api.get("/api/v1/reports/benchmark/?period=2026-11").json()
        for row in report["results"]:
            line = page[page.index(f'<tr data-franchise="{row["franchise"]}"'):]
            line = line[:line.index("</tr>")]
            for metric in ("orders", "slots", "fill_rate", "no_show_rate", "revenue",
                           "royalty"):
                value = re.search(rf'data-metric="{metric}" data-value="([^"]*)"', line)[1]
                expected = row[metric]
                if expected is None:
                    assert value == "", (row["name"], metric)
                else:
                    assert Decimal(value) == Decimal(str(expected)).quantize(Decimal(value)), (
                        row["name"], metric)
        median = page[page.index('id="network-median"'):]
        assert re.search(r'data-metric="revenue" data-value="([^"]*)"', median)[1] == (
            report["network_median"]["revenue"])
        assert_no_inline_code(page)

    def test_sorted_on_the_server_by_any_column(self, month: Books, hq_user: Any,
                                                spb: Franchise, nsk: Franchise,
                                                neva: Franchise) -> None:
        browser = logged_in(hq_user)
        ids = {spb.pk: "spb", nsk.pk: "nsk", neva.pk: "neva"}

        def order(query: str) -> list[str]:
            return [ids[int(pk)] for pk in _rows(text(browser.get(f"/network/?{query}")))]

        assert order("month=2026-11") == ["neva", "nsk", "spb"]  # by name
        assert order("month=2026-11&sort=-revenue") == ["nsk", "spb", "neva"]
        assert order("month=2026-11&sort=revenue") == ["neva", "spb", "nsk"]
        # Neva has no fill rate: last, whichever way round.
        assert order("month=2026-11&sort=fill_rate") == ["spb", "nsk", "neva"]
        assert order("month=2026-11&sort=-fill_rate") == ["nsk", "spb", "neva"]
        page = text(browser.get("/network/?month=2026-11&sort=-revenue"))
        heading = tag(page, "sort-revenue")
        assert "sort=revenue" in heading  # a second click turns the order round
        assert 'aria-sort="descending"' in page

    def test_an_unknown_column_is_said_and_the_table_sorted_by_name(
        self, month: Books, hq_user: Any, spb: Franchise, nsk: Franchise, neva: Franchise,
    ) -> None:
        response = logged_in(hq_user).get("/network/?month=2026-11&sort=password")
        assert response.status_code == 200
        page = text(response)
        assert "cannot be sorted by “password”" in page
        assert _rows(page) == [str(neva.pk), str(nsk.pk), str(spb.pk)]

    def test_charts_of_revenue_and_fill_rate_with_the_median(self, month: Books,
                                                             hq_user: Any) -> None:
        page = text(logged_in(hq_user).get("/network/?month=2026-11"))
        charts = {chart.find(f"{SVG}title").text: chart for chart in svg_charts(page)}
        assert set(charts) == {"Revenue", "Fill rate", "No-show rate"}
        revenue = charts["Revenue"]
        labels = [t.text for t in revenue.iter(f"{SVG}text")]
        assert labels[:6:2] == ["Novosibirsk office", "Saint Petersburg office", "Neva Movers"]
        assert "median 800.00" in labels
        bars = [rect.get("class") for rect in revenue.iter(f"{SVG}rect")]
        # At or above the median is drawn strong: 2,400 and 800 against a median of 800.
        assert bars == ["bar", "bar", "bar median"]
        assert revenue.find(f"{SVG}line[@class='mark']") is not None
        fill = charts["Fill rate"]
        assert len(list(fill.iter(f"{SVG}rect"))) == 2  # Neva has no fill rate to draw
        assert "100.0 %" in [t.text for t in fill.iter(f"{SVG}text")]

    def test_a_bad_month_is_said_next_to_the_picker(self, month: Books, hq_user: Any) -> None:
        response = logged_in(hq_user).get("/network/?month=2026-00")
        assert response.status_code == 200
        page = text(response)
        assert "Pick a month" in page
        assert "The network, November 2026" in page


class TestOverdue:
    def test_unpaid_statements_past_their_due_date(self, month: Books, hq_user: Any,
                                                   spb: Franchise, nsk: Franchise) -> None:
        spb.monthly_fee = Decimal(1000)
        franchise_save(franchise=spb)
        month.clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
        issued = {s.franchise_id: s for s in royalty_statements_issue(period="2026-11")}
        statement_pay(statement=issued[nsk.pk], amount=Decimal("100"),
                      paid_on=date(2026, 12, 1), recorded_by=hq_user)
        browser = logged_in(hq_user)
        page = text(browser.get("/network/"))
        assert "No statement is overdue." in page  # due on 15 December

        month.clock.set(datetime(2026, 12, 20, 9, 0, tzinfo=UTC))
        statements_mark_overdue(today=date(2026, 12, 18))
        page = text(browser.get("/network/"))
        spb_row = tag(page, f"overdue-{issued[spb.pk].pk}")
        assert 'data-days="5"' in spb_row
        nsk_row = page[page.index(f'id="overdue-{issued[nsk.pk].pk}"'):]
        assert 'data-amount="260.00"' in nsk_row[:nsk_row.index("</tr>")]  # 360 less 100
        neva_statement = next(s for f, s in issued.items() if f not in (spb.pk, nsk.pk))
        assert neva_statement.status == "credit"  # nothing was owed: a credit of nothing
        assert f'id="overdue-{neva_statement.pk}"' not in page
        assert page.index(f"overdue-{issued[nsk.pk].pk}") < page.index(
            f"overdue-{issued[spb.pk].pk}")  # by name within the same due date


def _lead(point: tuple[float, float], **fields: Any) -> Lead:
    return lead_create(contact_name="Anna", phone=f"+7911{next(_phones):07d}",
                       address="Nevsky 1", lat=point[0], lng=point[1], work_type="loading",
                       headcount=2, start=datetime(2026, 11, 28, 6, 0, tzinfo=UTC),
                       hours=Decimal(4), **fields)


class TestLeadRouting:
    def _month_of_leads(self, virtual: clock.VirtualClock, spb: Franchise, neva: Franchise,
                        spb_user: Any, hq_user: Any) -> dict[str, Lead]:
        virtual.set(datetime(2026, 10, 31, 12, 0, tzinfo=UTC))
        lead_accept(lead=_lead(SPB_POINT), user=spb_user)  # October's: not counted
        virtual.set(datetime(2026, 11, 5, 9, 0, tzinfo=UTC))
        first = _lead(SPB_POINT)
        lead_accept(lead=first, user=spb_user)
        second = _lead(SPB_POINT)
        second = lead_reject(lead=second, reason="full week")
        assert second.franchise_id == neva.pk
        lead_accept(lead=second, user=hq_user)
        held = _lead(MOSCOW_POINT)
        assert held.franchise_id is None
        timed_out = _lead(SPB_POINT)
        virtual.advance(timedelta(minutes=16))
        leads_reroute_expired()
        virtual.advance(timedelta(minutes=16))
        leads_reroute_expired()
        pending = _lead(SPB_POINT)
        return {"first": first, "second": second, "held": held, "timed_out": timed_out,
                "pending": pending}

    def test_the_months_leads_and_each_franchises_answers(
        self, virtual: clock.VirtualClock, spb: Franchise, neva: Franchise, spb_user: Any,
        hq_user: Any,
    ) -> None:
        leads = self._month_of_leads(virtual, spb, neva, spb_user, hq_user)
        leads["timed_out"].refresh_from_db()
        assert leads["timed_out"].status == Lead.Status.EXPIRED
        start = datetime(2026, 10, 31, 21, 0, tzinfo=UTC)  # November in Moscow
        with CaptureQueriesContext(connection) as reading:
            routing = lead_routing(start=start, end=datetime(2026, 11, 30, 21, 0, tzinfo=UTC))
        assert len(reading) == 2
        assert (routing.total, routing.accepted_first, routing.accepted_after_rerouting,
                routing.rerouted, routing.offered_now, routing.held_by_hq,
                routing.expired) == (5, 1, 1, 2, 1, 1, 1)
        assert routing.per_franchise == {
            spb.pk: FranchiseLeads(offered=4, accepted=1, rejected=1, timed_out=1, pending=1),
            neva.pk: FranchiseLeads(offered=2, accepted=1, timed_out=1),
        }
        assert routing.per_franchise[spb.pk].acceptance_rate == pytest.approx(1 / 3)

        page = text(logged_in(hq_user).get("/network/?month=2026-11"))
        for element, count in (("leads-total", 5), ("leads-accepted-first", 1),
                               ("leads-accepted-later", 1), ("leads-rerouted", 2),
                               ("leads-offered", 1), ("leads-held", 1), ("leads-expired", 1)):
            assert f'data-count="{count}"' in tag(page, element), element
        section = page[page.index('id="lead-routing"'):]
        spb_row = section[section.index(f'<tr data-franchise="{spb.pk}"'):]
        assert re.findall(r'<td class="num">([^<]*)</td>', spb_row[:spb_row.index("</tr>")]) == [
            "4", "1", "1", "1", "1", "33 %"]


class TestScale:
    def test_5_or_50_franchises_cost_the_same_queries(
        self, virtual: clock.VirtualClock, hq_user: Any, hq_franchise: Franchise,
        spb: Franchise, nsk: Franchise,
    ) -> None:
        books = money_books(hq_user, virtual, spb, nsk)
        books.worked(books.client(spb), start=NOVEMBER_DAY, hours=4, bill_rate="200",
                     pay_rate="100", attendance=[(PRESENT, None)])
        books.worked(books.client(nsk), start=NOVEMBER_DAY, hours=4, bill_rate="300",
                     pay_rate="100", attendance=[(PRESENT, None)])
        browser = logged_in(hq_user)
        added = itertools.count()

        def grow_to(count: int) -> tuple[int, str]:
            virtual.set(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
            while Franchise.objects.exclude(kind=Franchise.Kind.HQ).count() < count:
                index = next(added)
                franchise = franchise_save(franchise=Franchise(
                    name=f"Brand {index:02d}", kind=Franchise.Kind.BRAND_FRANCHISE,
                    timezone=(spb, nsk)[index % 2].timezone, monthly_fee=Decimal(100)))
                lead_hand_on(lead=_lead(MOSCOW_POINT), franchise=franchise, user=hq_user)
            royalty_statements_issue(period="2026-10")
            virtual.set(MID_NOVEMBER)
            browser.get("/network/?month=2026-11&sort=-revenue")
            with CaptureQueriesContext(connection) as reading:
                page = text(browser.get("/network/?month=2026-11&sort=-revenue"))
            return len(reading), page

        few, page = grow_to(5)
        assert len(_rows(page)) == 5
        assert len(re.findall(r'id="overdue-\d+"', page)) == 3
        many, page = grow_to(50)
        assert len(_rows(page)) == 50
        assert len(re.findall(r'id="overdue-\d+"', page)) == 48
        revenue = next(c for c in svg_charts(page) if c.find(f"{SVG}title").text == "Revenue")
        assert len(list(revenue.iter(f"{SVG}rect"))) == 30  # the best 30 of 50
        assert many == few
