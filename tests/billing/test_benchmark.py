"""The network benchmark: each location's month beside the network median of each figure."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from statistics import mean
from typing import Any

import pytest
from rest_framework.test import APIClient

from billing.benchmarks import METRICS, LocationRow, OrderFacts, location_row, network_medians
from billing.services import period_bounds, royalty_statements_issue
from core import clock
from dispatch.models import Offer, Order
from dispatch.services import assignment_run, callout_start, order_place
from dispatch.services.lifecycle import order_cancel
from franchises.models import Franchise
from franchises.services import franchise_save
from ratings.selectors import rating_history

from .conftest import LATE, NO_SHOW, PRESENT, Books

URL = "/api/v1/reports/benchmark/"
NOVEMBER = "2026-11"


def _row(**figures: Any) -> LocationRow:
    values = {"franchise_id": 1, "name": "x", "orders": 0, "slots": 0, "fill_rate": None,
              "no_show_rate": None, "revenue": Decimal(0), "royalty": Decimal(0),
              "avg_rating": None, "median_minutes_to_fill": None, **figures}
    return LocationRow(**values)


class TestLocationRow:
    def test_figures_of_a_month(self) -> None:
        orders = [
            OrderFacts(headcount=2, present=2, no_shows=0, confirmed=2, minutes_to_fill=30.0),
            OrderFacts(headcount=3, present=2, no_shows=1, confirmed=3, minutes_to_fill=10.0),
            OrderFacts(headcount=4, present=5, no_shows=0, confirmed=5, minutes_to_fill=None),
            OrderFacts(headcount=1, present=0, no_shows=1, confirmed=1, minutes_to_fill=50.0),
        ]
        row = location_row(franchise_id=7, name="Neva", orders=orders,
                           revenue=Decimal("1000.10"), royalty=Decimal("150.02"),
                           avg_rating=4.25)
        assert (row.franchise_id, row.name) == (7, "Neva")
        assert (row.orders, row.slots) == (4, 10)
        assert row.fill_rate == 0.5  # two of four had at least the headcount present
        assert row.no_show_rate == pytest.approx(2 / 11)
        assert row.median_minutes_to_fill == 30.0  # of 30, 10 and 50; never filled is left out
        assert (row.revenue, row.royalty, row.avg_rating) == (
            Decimal("1000.10"), Decimal("150.02"), 4.25)

    def test_even_number_of_fill_times_takes_the_middle_two(self) -> None:
        orders = [OrderFacts(1, 1, 0, 1, minutes) for minutes in (5.0, 40.0, 10.0, 20.0)]
        row = location_row(franchise_id=1, name="x", orders=orders, revenue=Decimal(0),
                           royalty=Decimal(0), avg_rating=None)
        assert row.median_minutes_to_fill == 15.0
        assert (row.fill_rate, row.no_show_rate) == (1.0, 0.0)

    def test_a_quiet_month_has_no_rates(self) -> None:
        row = location_row(franchise_id=1, name="x", orders=[], revenue=Decimal(0),
                           royalty=Decimal(0), avg_rating=None)
        assert (row.orders, row.slots) == (0, 0)
        assert row.fill_rate is None
        assert row.no_show_rate is None
        assert row.median_minutes_to_fill is None

    def test_orders_still_to_come_are_not_counted_unfilled(self) -> None:
        done = OrderFacts(2, 2, 0, 2, 30.0)
        booked = OrderFacts(3, 0, 0, 0, 12.0, started=False)
        row = location_row(franchise_id=1, name="x", orders=[done, booked],
                           revenue=Decimal(0), royalty=Decimal(0), avg_rating=None)
        assert (row.orders, row.slots, row.fill_rate) == (2, 5, 1.0)
        assert row.median_minutes_to_fill == 21.0
        only_booked = location_row(franchise_id=1, name="x", orders=[booked],
                                   revenue=Decimal(0), royalty=Decimal(0), avg_rating=None)
        assert only_booked.fill_rate is None

    def test_no_attendance_taken_means_no_no_show_rate(self) -> None:
        row = location_row(franchise_id=1, name="x", orders=[OrderFacts(3, 0, 0, 0, None)],
                           revenue=Decimal(0), royalty=Decimal(0), avg_rating=None)
        assert (row.fill_rate, row.no_show_rate) == (0.0, None)


class TestNetworkMedians:
    def test_medians_skip_locations_without_a_figure(self) -> None:
        rows = [
            _row(orders=2, slots=5, fill_rate=0.5, no_show_rate=0.2, revenue=Decimal("6540.00"),
                 royalty=Decimal("981.00"), avg_rating=4.0, median_minutes_to_fill=20.0),
            _row(orders=3, slots=4, fill_rate=0.75, no_show_rate=0.0,
                 revenue=Decimal("3900.00"), royalty=Decimal("585.00"), avg_rating=3.0,
                 median_minutes_to_fill=30.0),
            _row(),
        ]
        medians = network_medians(rows)
        assert set(medians) == set(METRICS)
        assert medians["orders"] == 2
        assert medians["slots"] == 4
        assert medians["fill_rate"] == 0.625
        assert medians["no_show_rate"] == pytest.approx(0.1)
        assert medians["revenue"] == Decimal("3900.00")
        assert medians["royalty"] == Decimal("585.00")
        assert medians["avg_rating"] == 3.5
        assert medians["median_minutes_to_fill"] == 25.0

    def test_an_even_count_of_money_figures_stays_decimal(self) -> None:
        medians = network_medians([_row(revenue=Decimal("100.01")),
                                   _row(revenue=Decimal("100.02"))])
        assert medians["revenue"] == Decimal("100.015")
        assert isinstance(medians["revenue"], Decimal)

    def test_no_rows_no_medians(self) -> None:
        assert network_medians([]) == dict.fromkeys(METRICS)
        assert network_medians([_row()])["fill_rate"] is None


@pytest.fixture
def network(books: Books, spb: Franchise, nsk: Franchise, hq_api: APIClient,
            territory_box: Any) -> dict[str, Any]:
    """November 2026, worked out by hand.

    Saint Petersburg (Moscow time): A starts 22:30 UTC on 31 October (already November
    locally), 2 of 2 present for 8 h at 250, filled 30 min after the call-out; B has 3
    places, 2 present for 6 h at 220 and a no-show, filled after 10 min; a cancelled order
    and one at 23:30 local on 31 October do not count; a credit of 100. Orders 2, slots 5,
    fill 1/2, no-shows 1/5, revenue 4000 + 2640 - 100 = 6540, royalty 981, fill time 20 min.

    Novosibirsk (UTC+7): E 1 of 1 present 4 h at 300, filled after 45 min; H the same, filled
    after 15 min; G has 2 places but only one worker answered (never filled), present 5 h at
    300; an order at 01:00 local on 1 December does not count. Orders 3, slots 4, fill 2/3,
    no-shows 0/3, revenue 1200 + 1200 + 1500 = 3900, royalty 585, fill time 30 min.

    Volga Crew, a brand franchise, had no orders at all.
    """
    spb_client = books.client(spb)
    nsk_client = books.client(nsk, "Siberian furniture")
    volga = franchise_save(franchise=Franchise(
        name="Volga Crew", kind=Franchise.Kind.BRAND_FRANCHISE, territory=territory_box(55.79,
                                                                                     49.12)))
    spb_orders = [
        books.worked(spb_client, start=datetime(2026, 10, 31, 22, 30, tzinfo=UTC), hours=8,
                     bill_rate="250", pay_rate="110", minutes_to_fill=30,
                     attendance=[(PRESENT, None), (LATE, None)]),
        books.worked(spb_client, start=datetime(2026, 11, 12, 6, 0, tzinfo=UTC), hours=6,
                     bill_rate="220", pay_rate="100", minutes_to_fill=10,
                     attendance=[(PRESENT, None), (PRESENT, "6"), (NO_SHOW, None)]),
    ]
    books.worked(spb_client, start=datetime(2026, 10, 31, 20, 30, tzinfo=UTC), hours=4,
                 bill_rate="220", pay_rate="100", attendance=[(PRESENT, None)])
    cancelled, _ = books.staffed(spb_client, start=datetime(2026, 11, 20, 6, 0, tzinfo=UTC),
                                 headcount=1, bill_rate="220", pay_rate="100")
    order_cancel(order=cancelled)

    nsk_orders = [
        books.worked(nsk_client, start=datetime(2026, 11, 10, 2, 0, tzinfo=UTC), hours=4,
                     bill_rate="300", pay_rate="120", minutes_to_fill=45,
                     attendance=[(PRESENT, None)]),
        books.worked(nsk_client, start=datetime(2026, 11, 15, 2, 0, tzinfo=UTC), hours=4,
                     bill_rate="300", pay_rate="120", minutes_to_fill=15,
                     attendance=[(PRESENT, None)]),
        _half_filled(books, nsk_client, start=datetime(2026, 11, 20, 3, 0, tzinfo=UTC)),
    ]
    books.worked(nsk_client, start=datetime(2026, 11, 30, 18, 0, tzinfo=UTC), hours=4,
                 bill_rate="300", pay_rate="120", attendance=[(PRESENT, None)])

    response = hq_api.post("/api/v1/credits/", {
        "franchise": spb.pk, "client": spb_client.pk, "period": NOVEMBER, "amount": "100.00",
        "reason": "late crew",
    }, format="json")
    assert response.status_code == 201, response.content
    return {"spb": spb_orders, "nsk": nsk_orders, "volga": volga,
            "ids": {"spb": spb.pk, "nsk": nsk.pk, "volga": volga.pk}}


def _half_filled(books: Books, client: Any, *, start: datetime) -> Order:
    """Two places, one worker who says yes: called out, never filled, worked 5 h at 300."""
    books.clock.set(start - timedelta(days=1))
    site = books.site(client)
    order = order_place(client=client, site=site, work_type="loading", headcount=2,
                        start=start, hours=Decimal(5), bill_rate=Decimal(300),
                        pay_rate=Decimal(120))
    (worker,) = books.crew(site, 1)
    callout_start(order=order)
    books.say_yes(worker, order)
    books.clock.advance(timedelta(minutes=5))
    assignment_run(franchise_id=order.franchise_id)
    order.refresh_from_db()
    assert (order.status, order.filled_at) == (Order.Status.CALLING, None)
    return books.complete(order, [(worker, PRESENT, None)])


def _report(api: APIClient, **params: str) -> Any:
    return api.get(URL, {"period": NOVEMBER, **params})


def _average_rating(orders: list[Order]) -> float:
    """The mean, over the month's shifts, of each worker's rating as their history drew it at
    the end of November in the franchise's zone (a late arrival's penalty faded by then)."""

    end = period_bounds(NOVEMBER, orders[0].franchise.timezone)[1]
    return mean(
        rating_history(offer.worker, until=end).points[-1].rating
        for offer in Offer.objects.filter(order__in=orders, attendance__in=["present", "late"])
        .select_related("worker")
    )


@pytest.mark.django_db
@pytest.mark.usefixtures("hq_franchise")
class TestReport:
    def test_hand_computed_figures(self, network: dict[str, Any], hq_api: APIClient,
                                   spb: Franchise, nsk: Franchise) -> None:
        response = _report(hq_api)
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["period"] == NOVEMBER
        rows = {row["franchise"]: row for row in body["results"]}
        assert set(rows) == {spb.pk, nsk.pk, network["volga"].pk}  # no row for HQ itself
        spb_row, nsk_row, volga_row = rows[spb.pk], rows[nsk.pk], rows[network["volga"].pk]
        assert spb_row == {
            "franchise": spb.pk, "name": "Saint Petersburg office", "orders": 2, "slots": 5,
            "fill_rate": 0.5, "no_show_rate": 0.2, "revenue": "6540.00", "royalty": "981.00",
            "avg_rating": spb_row["avg_rating"], "median_minutes_to_fill": 20.0,
            # Billed 4000 + 2640, paid 1760 + 1200, no fees: 3680 over 2 orders.
            "overbooking_cost": "0.00", "margin_per_order": "1840.00",
        }
        assert nsk_row == {
            "franchise": nsk.pk, "name": "Novosibirsk office", "orders": 3, "slots": 4,
            "fill_rate": 0.6667, "no_show_rate": 0.0, "revenue": "3900.00", "royalty": "585.00",
            "avg_rating": nsk_row["avg_rating"], "median_minutes_to_fill": 30.0,
            # Billed 3900, paid 480 + 480 + 600: 2340 over 3 orders.
            "overbooking_cost": "0.00", "margin_per_order": "780.00",
        }
        assert volga_row == {
            "franchise": network["volga"].pk, "name": "Volga Crew", "orders": 0, "slots": 0,
            "fill_rate": None, "no_show_rate": None, "revenue": "0.00", "royalty": "0.00",
            "avg_rating": None, "median_minutes_to_fill": None,
            "overbooking_cost": "0.00", "margin_per_order": None,
        }
        assert spb_row["avg_rating"] == pytest.approx(_average_rating(network["spb"]), abs=1e-4)
        assert nsk_row["avg_rating"] == pytest.approx(_average_rating(network["nsk"]), abs=1e-4)
        medians = body["network_median"]
        assert {key: medians[key] for key in METRICS if key != "avg_rating"} == {
            "orders": 2, "slots": 4, "fill_rate": 0.5833, "no_show_rate": 0.1,
            "revenue": "3900.00", "royalty": "585.00", "median_minutes_to_fill": 25.0,
            "overbooking_cost": "0.00", "margin_per_order": "1310.00",
        }
        assert medians["avg_rating"] == pytest.approx(
            (spb_row["avg_rating"] + nsk_row["avg_rating"]) / 2, abs=1e-3)

    def test_a_booked_order_yet_to_start_does_not_lower_the_fill_rate(
        self, network: dict[str, Any], books: Books, hq_api: APIClient, nsk: Franchise
    ) -> None:
        """A crew booked for the 28th, seen the day before: one more order and its places, the
        same fill rate (two of the three begun orders had their crew)."""
        client = network["nsk"][0].client
        order, _ = books.staffed(client, start=datetime(2026, 11, 28, 2, 0, tzinfo=UTC),
                                 headcount=2, bill_rate="300", pay_rate="120", accepting=3)
        assert order.status == Order.Status.FILLED
        rows = {row["franchise"]: row for row in _report(hq_api).json()["results"]}
        assert (rows[nsk.pk]["orders"], rows[nsk.pk]["slots"]) == (4, 6)
        assert rows[nsk.pk]["fill_rate"] == 0.6667

    def test_the_royalty_is_fifteen_percent_of_the_statement_turnover(
        self, network: dict[str, Any], hq_api: APIClient, spb: Franchise
    ) -> None:
        with clock.use_clock(lambda: datetime(2026, 12, 1, 3, 0, tzinfo=UTC)):
            statements = {s.franchise_id: s for s in royalty_statements_issue(period=NOVEMBER)}
        rows = {row["franchise"]: row for row in _report(hq_api).json()["results"]}
        for franchise_id, statement in statements.items():
            assert Decimal(rows[franchise_id]["revenue"]) == statement.turnover
            assert Decimal(rows[franchise_id]["royalty"]) == statement.royalty

    def test_a_franchise_sees_its_own_row_and_the_network_medians(
        self, network: dict[str, Any], hq_api: APIClient, spb_api: APIClient,
        nsk_api: APIClient,
    ) -> None:
        spb, nsk = network["ids"]["spb"], network["ids"]["nsk"]
        everything = _report(hq_api).json()
        mine = _report(spb_api).json()
        assert [row["franchise"] for row in mine["results"]] == [spb]
        assert mine["results"][0] == next(
            row for row in everything["results"] if row["franchise"] == spb)
        assert mine["network_median"] == everything["network_median"]
        theirs = _report(nsk_api, ordering="-revenue").json()
        assert [row["franchise"] for row in theirs["results"]] == [nsk]
        assert theirs["network_median"] == everything["network_median"]

    def test_another_month_is_another_report(self, network: dict[str, Any],
                                             hq_api: APIClient, nsk: Franchise) -> None:
        rows = {row["franchise"]: row for row in _report(hq_api, period="2026-12")
                .json()["results"]}
        assert (rows[nsk.pk]["orders"], rows[nsk.pk]["revenue"]) == (1, "1200.00")

    def test_ordering_by_a_metric(self, network: dict[str, Any], hq_api: APIClient) -> None:
        ids = network["ids"]
        orderings = {
            "name": ["nsk", "spb", "volga"],
            "-name": ["volga", "spb", "nsk"],
            "-revenue": ["spb", "nsk", "volga"],
            "revenue": ["volga", "nsk", "spb"],
            "slots": ["volga", "nsk", "spb"],
            "fill_rate": ["spb", "nsk", "volga"],
            # A location without a figure is last whichever way the figure is sorted.
            "-fill_rate": ["nsk", "spb", "volga"],
            "-median_minutes_to_fill": ["nsk", "spb", "volga"],
            "median_minutes_to_fill": ["spb", "nsk", "volga"],
        }
        for ordering, expected in orderings.items():
            response = _report(hq_api, ordering=ordering)
            assert response.status_code == 200, response.content
            assert [row["franchise"] for row in response.json()["results"]] == [
                ids[name] for name in expected], ordering

    @pytest.mark.parametrize("ordering", ["bogus", "-", "franchise__name", "revenue,slots"])
    def test_an_unknown_ordering_is_a_400(self, hq_api: APIClient, spb: Franchise,
                                          ordering: str) -> None:
        response = _report(hq_api, ordering=ordering)
        assert response.status_code == 400
        assert "ordering" in response.json()

    @pytest.mark.parametrize("period", ["2026-13", "2026-00", "november", "2026-1", "2026-1 ",
                                        "26-11", "2026-11-01", "1999-12"])
    def test_a_bad_period_is_a_400(self, hq_api: APIClient, spb: Franchise,
                                   period: str) -> None:
        response = hq_api.get(URL, {"period": period})
        assert response.status_code == 400
        assert "period" in response.json()

    def test_anonymous_callers_get_401(self, anon_api: APIClient) -> None:
        assert anon_api.get(URL, {"period": NOVEMBER}).status_code == 401

    def test_an_empty_network_month(self, hq_api: APIClient, spb: Franchise,
                                    nsk: Franchise) -> None:
        body = _report(hq_api).json()
        assert [row["orders"] for row in body["results"]] == [0, 0]
        assert body["network_median"]["fill_rate"] is None
        assert body["network_median"]["orders"] == 0
