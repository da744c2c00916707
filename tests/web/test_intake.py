"""The recruiter's intake form: a new applicant, placed on the map or knowingly not, with a
checked photo; bad input is an error next to its field and nothing is written."""

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client as Browser

from franchises.services import user_create
from tests.fakes.nominatim_server import FakeNominatim
from tests.workers.test_photos import image_bytes, stored_files, upload
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


def field_errors(page: str, field: str) -> str:
    """The text of the error list rendered next to `field` ("" when there is none)."""
    match = re.search(
        rf'<div class="field invalid">\s*<label for="id_{field}">.*?'
        r'<ul class="errorlist"[^>]*>(.*?)</ul>', page, re.S,
    )
    return re.sub(r"<[^>]+>", " ", match.group(1)) if match else ""


@pytest.fixture
def recruiter(spb: Any) -> Any:
    return user_create(username="spb-recruiter", password="pw-12345", role="recruiter",
                       franchise=spb)


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


class TestIntake:
    def test_the_form_needs_a_login(self, client: Browser) -> None:
        response = client.get("/recruit/")
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
        response = client.post("/recruit/", intake_form())
        assert response.status_code == 302
        assert not Worker.objects.exists()

    @pytest.mark.parametrize("who", ["recruiter", "spb_user", "hq_user"])
    def test_an_applicant_is_added_and_placed_on_the_map(self, who: str, request: Any) -> None:
        browser = logged_in(request.getfixturevalue(who))
        assert browser.get("/recruit/").status_code == 200

        response = browser.post("/recruit/", intake_form(), follow=True)

        assert response.status_code == 200
        worker = Worker.objects.get()
        page = response.content.decode()
        assert "added as an applicant" in page
        assert f'<a href="/workers/{worker.pk}/" id="added-worker">{worker.name}' in page
        assert str(worker.phone) == "+79123456789"
        assert worker.status == Worker.Status.APPLICANT
        assert worker.vetted_at is None
        assert set(worker.skills) == {"loading", "snow_clearing"}
        assert worker.home_area == "Kupchino, Saint Petersburg"
        assert (worker.lat, worker.lng) == pytest.approx(KUPCHINO, abs=0.01)

    def test_a_recruiter_lands_on_the_intake_and_sees_recruit_and_workers(
        self, recruiter: Any
    ) -> None:
        browser = logged_in(recruiter)
        assert browser.get("/").url == "/recruit/"
        page = browser.get("/recruit/").content.decode()
        nav = re.search(r"<nav[^>]*>(.*?)</nav>", page, re.S).group(1)
        labels = re.findall(r">([^<]+)</a>", nav)
        assert labels[:2] == ["Recruit", "Workers"]
        assert "Board" not in labels
        assert "Crews" not in labels

    def test_coordinates_from_the_phone_win_over_the_area(self, spb_user: Any) -> None:
        browser = logged_in(spb_user)
        browser.post("/recruit/", intake_form(lat="59.95", lng="30.25"))
        worker = Worker.objects.get()
        assert (worker.lat, worker.lng) == (59.95, 30.25)

    def test_an_area_that_cannot_be_placed_is_an_error_next_to_it(self, recruiter: Any) -> None:
        response = logged_in(recruiter).post(
            "/recruit/", intake_form(home_area="Nowhere street 999, Atlantis")
        )
        assert response.status_code == 200
        page = response.content.decode()
        errors = field_errors(page, "home_area")
        assert "could not be found" in errors
        assert "Save without a home point" in errors
        assert 'value="Nowhere street 999, Atlantis"' in page  # what was typed is kept
        assert not Worker.objects.exists()

    def test_ticking_save_without_a_home_point_saves_and_says_so(self, recruiter: Any) -> None:
        response = logged_in(recruiter).post(
            "/recruit/", intake_form(home_area="Nowhere street 999, Atlantis",
                                     no_home_point="on"), follow=True,
        )
        worker = Worker.objects.get()
        assert (worker.lat, worker.lng) == (None, None)
        assert worker.home_area == "Nowhere street 999, Atlantis"
        assert "without a home point" in response.content.decode()

    def test_no_area_at_all_needs_the_same_choice(self, recruiter: Any) -> None:
        browser = logged_in(recruiter)
        page = browser.post("/recruit/", intake_form(home_area="")).content.decode()
        assert "Type where the applicant lives" in field_errors(page, "home_area")
        assert not Worker.objects.exists()
        browser.post("/recruit/", intake_form(home_area="", no_home_point="on"))
        assert Worker.objects.get().lat is None

    def test_a_geocoder_outage_is_told_on_the_form(self, recruiter: Any, settings: Any) -> None:
        with FakeNominatim({"Kupchino, Saint Petersburg": KUPCHINO}) as fake:
            settings.GEOCODER = "nominatim"
            settings.NOMINATIM_DOMAIN = fake.domain
            settings.NOMINATIM_SCHEME = "http"
            settings.NOMINATIM_MIN_DELAY_SECONDS = 0
            settings.NOMINATIM_MAX_RETRIES = 0
            fake.fail_next(503)
            page = logged_in(recruiter).post("/recruit/", intake_form()).content.decode()
        assert "unavailable" in field_errors(page, "home_area")
        assert not Worker.objects.exists()

    def test_a_bad_phone_re_renders_the_form_and_creates_nothing(self, spb_user: Any) -> None:
        browser = logged_in(spb_user)
        response = browser.post("/recruit/", intake_form(phone="12345"))
        assert response.status_code == 200
        page = response.content.decode()
        assert "phone number" in field_errors(page, "phone").lower()
        assert 'value="Ivan Petrov"' in page  # what was typed is kept
        assert not Worker.objects.exists()

    def test_a_number_already_in_the_pool_is_a_form_error(self, spb_user: Any) -> None:
        Worker.objects.create(name="Already here", phone="+79123456789")
        browser = logged_in(spb_user)
        response = browser.post("/recruit/", intake_form(phone="+7 912 345 67 89"))
        assert response.status_code == 200
        assert "already exists" in field_errors(response.content.decode(), "phone")
        assert list(Worker.objects.values_list("name", flat=True)) == ["Already here"]

    def test_a_photo_is_saved_with_the_applicant(self, recruiter: Any, media: Path) -> None:
        logged_in(recruiter).post(
            "/recruit/", {**intake_form(), "photo": upload(image_bytes("PNG"))}
        )
        worker = Worker.objects.get()
        assert worker.photo.name.endswith(".jpg")
        assert stored_files(media) == [Path(worker.photo.path)]

    def test_a_file_that_is_not_a_photo_is_an_error_and_nothing_is_saved(
        self, recruiter: Any, media: Path
    ) -> None:
        response = logged_in(recruiter).post(
            "/recruit/", {**intake_form(), "photo": upload(b"%PDF-1.4 not a photo", "cv.jpg",
                                                          "image/jpeg")}
        )
        assert "not a JPEG, PNG or WebP image" in field_errors(response.content.decode(),
                                                               "photo")
        assert not Worker.objects.exists()
        assert stored_files(media) == []

    def test_the_page_runs_no_inline_script(self, recruiter: Any) -> None:
        page = logged_in(recruiter).get("/recruit/").content.decode()
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []
        assert " style=" not in page
        assert 'data-locate="locate-result"' in page

    def test_a_foreman_may_not_recruit(self, spb_foreman: Any) -> None:
        browser = logged_in(spb_foreman)
        assert browser.get("/recruit/").status_code == 403
        assert browser.post("/recruit/", intake_form()).status_code == 403
        assert not Worker.objects.exists()
