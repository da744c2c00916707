"""Server-rendered pages: the published rating rules (the recruiter's intake form:
test_intake.py; the board: test_board.py)."""

from typing import Any

import pytest
from django.test import Client as Browser

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
