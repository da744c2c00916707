"""Server-rendered pages: the recruiter's intake form and the published rating rules."""

from typing import Any

import pytest
from django.test import Client as Browser

from workers.models import Worker

pytestmark = pytest.mark.django_db

KUPCHINO = (59.83, 30.38)


def intake_form(**changes: Any) -> dict[str, Any]:
    return {
        "name": "Ivan Petrov",
        "phone": "8 912 345-67-89",
        "skills": ["loading", "snow_clearing"],
        "home_area": "Kupchino, Saint Petersburg",
        "language": "ru",
        "notes": "Strong, has worked in warehouses.",
        **changes,
    }


def logged_in(user: Any) -> Browser:
    browser = Browser()
    browser.force_login(user)
    return browser


class TestIntake:
    def test_the_form_needs_a_login(self, client: Browser) -> None:
        response = client.get("/recruit/")
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
        response = client.post("/recruit/", intake_form())
        assert response.status_code == 302
        assert not Worker.objects.exists()

    @pytest.mark.parametrize("recruiter", ["spb_user", "hq_user"])
    def test_a_recruiter_adds_an_applicant(self, recruiter: str, request: Any) -> None:
        browser = logged_in(request.getfixturevalue(recruiter))
        assert browser.get("/recruit/").status_code == 200

        response = browser.post("/recruit/", intake_form(), follow=True)

        assert response.status_code == 200
        worker = Worker.objects.get()
        assert "added as an applicant" in response.content.decode()
        assert worker.name in response.content.decode()
        assert str(worker.phone) == "+79123456789"
        assert worker.status == Worker.Status.APPLICANT
        assert worker.vetted_at is None
        assert set(worker.skills) == {"loading", "snow_clearing"}
        assert worker.home_area == "Kupchino, Saint Petersburg"
        assert (worker.lat, worker.lng) == pytest.approx(KUPCHINO, abs=0.01)

    def test_coordinates_from_the_phone_win_over_the_area(self, spb_user: Any) -> None:
        browser = logged_in(spb_user)
        browser.post("/recruit/", intake_form(lat="59.95", lng="30.25"))
        worker = Worker.objects.get()
        assert (worker.lat, worker.lng) == (59.95, 30.25)

    def test_a_bad_phone_re_renders_the_form_and_creates_nothing(self, spb_user: Any) -> None:
        browser = logged_in(spb_user)
        response = browser.post("/recruit/", intake_form(phone="12345"))
        assert response.status_code == 200
        page = response.content.decode()
        assert 'class="errorlist' in page
        assert "phone number" in page.lower()
        assert 'value="Ivan Petrov"' in page  # what was typed is kept
        assert not Worker.objects.exists()

    def test_a_number_already_in_the_pool_is_a_form_error(self, spb_user: Any) -> None:
        Worker.objects.create(name="Already here", phone="+79123456789")
        browser = logged_in(spb_user)
        response = browser.post("/recruit/", intake_form(phone="+7 912 345 67 89"))
        assert response.status_code == 200
        assert 'class="errorlist' in response.content.decode()
        assert list(Worker.objects.values_list("name", flat=True)) == ["Already here"]

    def test_a_foreman_may_not_recruit(self, spb_foreman: Any) -> None:
        browser = logged_in(spb_foreman)
        assert browser.get("/recruit/").status_code == 403
        assert browser.post("/recruit/", intake_form()).status_code == 403
        assert not Worker.objects.exists()


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
