"""Server-rendered pages: the published rating rules, the board (the recruiter's intake form:
test_intake.py)."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client as Browser

from core import clock
from dispatch.models import Order
from dispatch.services import order_place
from dispatch.services.lifecycle import order_cancel

pytestmark = pytest.mark.django_db

def logged_in(user: Any) -> Browser:
    browser = Browser()
    browser.force_login(user)
    return browser


class TestRatingRules:
    def test_the_rules_page_shows_the_worked_example(self, spb_user: Any) -> None:
        response = logged_in(spb_user).get("/ratings/rules/")
        assert response.status_code == 200
        page = response.content.decode()
        assert "Worked example" in page
        assert "<table>" in page
        # The figures the published docs/ratings.md gives for the default parameters.
        assert "4.36 - 1.50 = 2.86" in page
        assert "0.827" in page
        assert "the worker is suspended" in page

    def test_the_page_follows_the_live_parameters(self, settings: Any, hq_user: Any) -> None:
        settings.RATING_PARAMS = {"no_show_stars": 2.0, "suspension_no_shows": 3}
        page = logged_in(hq_user).get("/ratings/rules/").content.decode()
        assert "the rating loses 2.00 stars" in page
        assert "3 no-shows within 30 days" in page

    def test_the_rules_page_needs_a_login(self, client: Browser) -> None:
        assert client.get("/ratings/rules/").status_code == 302


class TestHome:
    @pytest.fixture
    def boards(self, spb: Any, nsk: Any, spb_foreman: Any) -> dict[str, Order]:
        from clients.services import client_create, site_create

        start = clock.now() + timedelta(days=2)

        def order(franchise: Any, name: str, lat: float, lng: float, **extra: Any) -> Order:
            client = client_create(name=name, franchise=franchise, phone="")
            site = site_create(client=client, address=f"{name} site", lat=lat, lng=lng)
            return order_place(client=client, site=site, work_type="loading", headcount=2,
                               start=start, hours=Decimal(6), **extra)

        orders = {
            "spb": order(spb, "Lenta", 59.9, 30.3),
            "spb_foreman": order(spb, "Okey", 59.95, 30.35, foreman=spb_foreman),
            "spb_cancelled": order(spb, "Karusel", 59.91, 30.31),
            "nsk": order(nsk, "Holiday", 55.03, 82.92),
        }
        order_cancel(order=orders["spb_cancelled"])
        return orders

    @staticmethod
    def listed(user: Any, orders: dict[str, Order]) -> set[str]:
        page = logged_in(user).get("/board/").content.decode()
        return {key for key, order in orders.items() if f">{order.code}</a></td>" in page}

    def test_each_caller_sees_open_orders_of_their_own_scope(
        self, boards: dict[str, Order], spb_user: Any, nsk_user: Any, hq_user: Any,
        spb_foreman: Any,
    ) -> None:
        assert self.listed(spb_user, boards) == {"spb", "spb_foreman"}
        assert self.listed(nsk_user, boards) == {"nsk"}
        assert self.listed(hq_user, boards) == {"spb", "spb_foreman", "nsk"}

    def test_a_foreman_works_from_the_crew_page_not_the_board(
        self, boards: dict[str, Order], spb_foreman: Any
    ) -> None:
        browser = logged_in(spb_foreman)
        assert browser.get("/").url == "/crew/"
        assert browser.get("/board/").status_code == 403

    def test_the_board_needs_a_login(self, client: Browser) -> None:
        response = client.get("/board/")
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
