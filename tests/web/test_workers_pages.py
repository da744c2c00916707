"""The worker pool's pages: search, a worker's profile (rating history, events, offers,
appeals, interviews, photo), each role's access and scope, and the actions through the real
services.

Orders run on the virtual clock of tests/dispatch: NOW is noon in Saint Petersburg, orders
start at START, 09:00 local the next morning, for six hours.
"""

import re
from collections.abc import Iterator
from datetime import timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from django.test import Client as Browser
from django.utils import translation
from PIL import Image

from clients.services import site_create
from core import clock
from dispatch.event_notes import Note, note_read
from dispatch.models import Appeal, Offer, Order
from dispatch.services.onsite import AttendanceEntry, attendance_record
from franchises.services import user_create
from messaging.models import OptOut
from ratings.models import RatingEvent
from tests.dispatch.conftest import NOW, START, Desk, next_phone
from tests.web.test_intake import field_errors, intake_form
from tests.workers.test_photos import image_bytes, stored_files, upload
from web.workers_pages import NOTE_SENTENCES, note_shown
from workers.models import Interview, Worker

pytestmark = pytest.mark.django_db

END = START + timedelta(hours=6)
KUPCHINO = (59.83, 30.38)  # where the offline gazetteer places "Kupchino, Saint Petersburg"


@pytest.fixture
def recruiter(spb: Any) -> Any:
    return user_create(username="spb-recruiter", password="pw-12345", role="recruiter",
                       franchise=spb)


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


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


def worker(name: str = "Ivan Petrov", phone: str | None = None, **fields: Any) -> Worker:
    status = fields.setdefault("status", Worker.Status.ACTIVE)
    if status != Worker.Status.APPLICANT:
        fields.setdefault("vetted_at", clock.now())
    fields.setdefault("skills", ["loading"])
    return Worker.objects.create(name=name, phone=phone or next_phone(), **fields)


def worked_for_the_office(desk: Desk, recruiter_office: Any) -> tuple[Worker, Browser]:
    """A worker recruited by `recruiter_office` who has been booked on an order of the desk's
    office, and a browser logged in as a manager of the desk's office."""
    someone = desk.worker()
    Worker.objects.filter(pk=someone.pk).update(recruited_by=recruiter_office)
    desk.book(desk.order(1), [someone])
    office = user_create(username="spb-desk", password="pw-12345", role="franchise",
                         franchise=desk.franchise)
    return someone, logged_in(office)


def listed(page: str) -> list[int]:
    """Worker ids in the search results, in order."""
    return [int(found) for found in re.findall(r'<tr data-worker="(\d+)">', page)]


def search(user: Any, **params: Any) -> tuple[int, str]:
    response = logged_in(user).get("/workers/", params)
    return response.status_code, response.content.decode()


def no_show_on_a_crew(desk: Desk) -> tuple[Order, Worker, list[Worker]]:
    """A crew of three booked on an order of the Saint Petersburg office; at the start the
    foreman marks `absent` a no-show through the crew's attendance service."""
    crew = desk.workers(3, language="en")
    order = desk.book(desk.order(2), crew)
    absent = crew[1]
    desk.at(START + timedelta(minutes=5))
    attendance_record(order=order, entries=[
        AttendanceEntry(crew[0].pk, Offer.Attendance.PRESENT),
        AttendanceEntry(absent.pk, Offer.Attendance.NO_SHOW),
    ])
    absent.refresh_from_db()
    return order, absent, crew


# --- Access ------------------------------------------------------------------------------------


class TestAccess:
    def test_pages_need_a_login(self, client: Browser) -> None:
        someone = worker()
        for url in ("/workers/", f"/workers/{someone.pk}/", f"/workers/{someone.pk}/photo/"):
            response = client.get(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith("/accounts/login/")

    @pytest.mark.parametrize("who", ["recruiter", "spb_user", "nsk_user", "hq_user"])
    def test_the_pool_is_open_to_recruiters_offices_and_hq(self, who: str,
                                                           request: Any) -> None:
        someone = worker()
        browser = logged_in(request.getfixturevalue(who))
        assert browser.get("/workers/").status_code == 200
        assert browser.get(f"/workers/{someone.pk}/").status_code == 200

    def test_a_foreman_is_refused_the_pool_pages(self, spb_foreman: Any) -> None:
        someone = worker(status=Worker.Status.APPLICANT)
        browser = logged_in(spb_foreman)
        assert browser.get("/workers/").status_code == 403
        assert browser.get(f"/workers/{someone.pk}/").status_code == 403
        response = browser.post(f"/workers/{someone.pk}/interview/", {"outcome": "passed"})
        assert response.status_code == 403
        assert not Interview.objects.exists()

    def test_an_unknown_worker_is_a_404(self, spb_user: Any) -> None:
        assert logged_in(spb_user).get("/workers/987654/").status_code == 404

    @pytest.mark.parametrize(("who", "sees"), [("recruiter", True), ("spb_user", True),
                                               ("hq_user", True), ("spb_foreman", False)])
    def test_the_menu_shows_workers_to_those_who_may_use_it(
        self, who: str, sees: bool, request: Any
    ) -> None:
        page = logged_in(request.getfixturevalue(who)).get("/ratings/rules/").content.decode()
        assert ('href="/workers/"' in page) is sees


# --- Search ------------------------------------------------------------------------------------


class TestSearch:
    def test_by_name_in_any_order_and_case(self, recruiter: Any) -> None:
        ivan, _ = worker("Ivan Petrov"), worker("Petr Ivanov")
        status, page = search(recruiter, name="petrov IVAN")
        assert status == 200
        assert listed(page) == [ivan.pk]

    @pytest.mark.parametrize("typed", ["8 912 345-67-89", "+7 (912) 345 67 89", "89123456789",
                                       "345-67-89", "8 912 345", "+7912"])
    def test_by_phone_typed_in_any_form(self, recruiter: Any, typed: str) -> None:
        wanted = worker(phone="+79123456789")
        worker(phone="+79217654321")
        assert listed(search(recruiter, phone=typed)[1]) == [wanted.pk]

    def test_a_phone_too_short_to_search_is_an_error_next_to_it(self, recruiter: Any) -> None:
        worker()
        status, page = search(recruiter, phone="9-")
        assert status == 200
        assert "at least 3 digits" in field_errors(page, "phone")
        assert 'value="9-"' in page
        assert listed(page) == []

    def test_by_skill_status_and_rating_as_shown(self, spb_user: Any) -> None:
        roofer = worker(skills=["roofing"], rating=4.165)  # shown as 4.17
        worker(skills=["roofing"], rating=4.164)  # shown as 4.16
        worker(skills=["roofing"], status=Worker.Status.APPLICANT, rating=4.5)
        worker(skills=["loading"], rating=4.9)
        page = search(spb_user, skill="roofing", status="active", min_rating="4.17")[1]
        assert listed(page) == [roofer.pk]
        assert 'data-rating="4.17"' in page

    def test_a_bad_filter_value_is_an_error_next_to_it(self, spb_user: Any) -> None:
        status, page = search(spb_user, min_rating="7", skill="juggling")
        assert status == 200
        assert "less than or equal to 5" in field_errors(page, "min_rating")
        assert "valid choice" in field_errors(page, "skill")

    def test_near_a_place_placed_by_the_geocoder_nearest_first(self, recruiter: Any) -> None:
        near = worker("Near", lat=KUPCHINO[0] + 0.01, lng=KUPCHINO[1])
        nearer = worker("Nearer", lat=KUPCHINO[0], lng=KUPCHINO[1] + 0.001)
        worker("Far", lat=KUPCHINO[0] + 0.5, lng=KUPCHINO[1])  # 55 km north
        worker("Nowhere")  # no home point
        page = search(recruiter, place="Kupchino, Saint Petersburg", radius_km="5")[1]
        assert listed(page) == [nearer.pk, near.pk]
        assert "within 5 km of Kupchino, Saint Petersburg" in page
        assert "1.1 km" in page  # 0.01 degrees of latitude

    def test_a_place_that_cannot_be_found_is_an_error_next_to_it(self, recruiter: Any) -> None:
        worker()
        status, page = search(recruiter, place="Atlantis, under the sea")
        assert status == 200
        assert "could not be found" in field_errors(page, "place")
        assert listed(page) == []

    def test_near_one_of_the_offices_sites(self, spb_user: Any, spb_site: Any) -> None:
        close = worker(lat=spb_site.lat + 0.02, lng=spb_site.lng)
        worker(lat=KUPCHINO[0] + 1, lng=KUPCHINO[1])
        page = search(spb_user, site=spb_site.pk, radius_km="10")[1]
        assert listed(page) == [close.pk]
        assert f'<option value="{spb_site.pk}" selected>' in page

    def test_another_franchises_site_is_not_a_choice(self, nsk_user: Any, spb_site: Any) -> None:
        status, page = search(nsk_user, site=spb_site.pk)
        assert status == 200
        assert "valid choice" in field_errors(page, "site")
        assert spb_site.address not in page

    def test_a_recruiter_searches_places_not_clients_sites(
        self, recruiter: Any, spb_site: Any
    ) -> None:
        page = search(recruiter)[1]
        assert 'name="site"' not in page
        assert spb_site.address not in page

    def test_pages_of_fifty_keep_the_search(self, recruiter: Any) -> None:
        Worker.objects.bulk_create(
            Worker(name=f"Loader {index:03d}", phone=next_phone(), skills=["loading"])
            for index in range(60)
        )
        first = search(recruiter, name="loader")[1]
        assert len(listed(first)) == 50
        assert "60 workers found" in first
        assert 'href="?name=loader&amp;page=2"' in first
        second = search(recruiter, name="loader", page="2")[1]
        assert len(listed(second)) == 10
        assert set(listed(first)).isdisjoint(listed(second))

    def test_rows_show_what_a_recruiter_needs(self, recruiter: Any) -> None:
        someone = worker(skills=["snow_clearing", "loading"], rating=3.5, reliability=0.75,
                         shifts_completed=12, no_shows=2)
        OptOut.objects.create(phone=str(someone.phone), opted_out_at=clock.now())
        page = search(recruiter)[1]
        row = re.search(rf'<tr data-worker="{someone.pk}">(.*?)</tr>', page, re.S).group(1)
        cells = [" ".join(re.sub(r"<[^>]+>", " ", cell).split())
                 for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        assert cells == [f"{someone.name} opted out", str(someone.phone),
                         "loading, snow clearing", "Active", "3.50", "0.75", "12", "2"]

    @pytest.mark.parametrize("params", [{}, {"place": "Kupchino, Saint Petersburg",
                                             "radius_km": "50", "skill": "loading"}])
    def test_queries_stay_flat_as_the_pool_grows(
        self, spb_user: Any, spb_site: Any, params: dict[str, str],
        django_assert_max_num_queries: Any,
    ) -> None:
        def grow(count: int) -> None:
            Worker.objects.bulk_create(
                Worker(name=f"W {index}", phone=next_phone(), skills=["loading"],
                       lat=KUPCHINO[0] + index / 10_000, lng=KUPCHINO[1])
                for index in range(count)
            )

        browser = logged_in(spb_user)
        browser.get("/workers/", params)  # the geocoder's answer is cached on the first
        grow(10)
        with django_assert_max_num_queries(9) as small:
            page = browser.get("/workers/", params).content.decode()
        assert len(listed(page)) == 10
        grow(190)
        with django_assert_max_num_queries(len(small.captured_queries)):
            page = browser.get("/workers/", params).content.decode()
        assert len(listed(page)) == 50


# --- Profile -----------------------------------------------------------------------------------


class TestProfile:
    def test_contacts_skills_status_and_home(self, recruiter: Any) -> None:
        someone = worker(skills=["roofing", "driver"], home_area="Kupchino",
                         lat=59.83, lng=30.38, language="en", notes="Has a car.")
        OptOut.objects.create(phone=str(someone.phone), opted_out_at=clock.now())
        page = logged_in(recruiter).get(f"/workers/{someone.pk}/").content.decode()
        assert f'<h1 id="worker-name" data-worker="{someone.pk}">{someone.name}</h1>' in page
        assert f'href="tel:{someone.phone}"' in page
        assert 'id="worker-status" data-status="active"' in page
        assert 'id="worker-opted-out"' in page
        assert "roofing, driver" in page or "driver, roofing" in page
        assert "Kupchino" in page
        assert "English" in page
        assert "Has a car." in page
        assert 'id="worker-photo-missing"' in page

    def test_a_worker_without_a_home_point_is_flagged(self, recruiter: Any) -> None:
        someone = worker(status=Worker.Status.APPLICANT)
        page = logged_in(recruiter).get(f"/workers/{someone.pk}/").content.decode()
        assert "no home point: gets no offers" in page

    def test_the_rating_drop_after_a_no_show(self, desk: Desk, spb_user: Any) -> None:
        _, absent, _ = no_show_on_a_crew(desk)
        page = logged_in(spb_user).get(f"/workers/{absent.pk}/").content.decode()

        assert f'id="worker-rating" data-rating="{absent.rating:.2f}"' in page
        assert f'data-reliability="{absent.reliability:.3f}"' in page
        no_show = RatingEvent.objects.get(worker=absent, kind="no_show")
        row = re.search(rf'<tr id="event-{no_show.pk}" data-kind="no_show" '
                        r'data-rating-before="([\d.]+)" data-rating-after="([\d.]+)"', page)
        before, after = float(row.group(1)), float(row.group(2))
        assert before - after == pytest.approx(1.5, abs=0.011)
        assert after == pytest.approx(absent.rating, abs=0.005)
        # Both charts are drawn, the rating's on its 0-5 axis with the drop as a step.
        chart = re.search(r'<div id="rating-chart">(.*?)</div>', page, re.S).group(1)
        assert chart.startswith('<svg class="chart"')
        assert '<polyline class="series-a"' in chart
        assert '<polyline class="series-b"' in page

    def test_another_franchises_orders_show_without_code(
        self, desk: Desk, spb_user: Any, nsk_user: Any, recruiter: Any, hq_user: Any
    ) -> None:
        order, absent, _ = no_show_on_a_crew(desk)
        own = logged_in(spb_user).get(f"/workers/{absent.pk}/").content.decode()
        assert f'data-order="{order.code}"' in own
        assert own.count(order.code) >= 2  # the offer and the no-show event
        assert f">{order.code}<" in logged_in(hq_user).get(
            f"/workers/{absent.pk}/").content.decode()
        for reader in (nsk_user, recruiter):
            page = logged_in(reader).get(f"/workers/{absent.pk}/").content.decode()
            assert order.code not in page
            assert "another franchise's order" in page
            offers = re.search(r'<table id="worker-offers">(.*?)</table>', page, re.S).group(1)
            assert "No-show" in offers  # what happened is still on the record
            assert f"/crew/{order.pk}/" not in page

    def test_queries_stay_flat_as_the_record_grows(
        self, desk: Desk, spb_user: Any, django_assert_max_num_queries: Any
    ) -> None:
        regular = desk.worker()
        browser = logged_in(spb_user)

        def work_orders(count: int) -> None:
            for _ in range(count):
                order = desk.order(1, start=START + timedelta(days=len(regular_orders)))
                desk.book(order, [regular])
                regular_orders.append(order)

        regular_orders: list[Order] = []
        work_orders(2)
        with django_assert_max_num_queries(14) as small:
            browser.get(f"/workers/{regular.pk}/")
        work_orders(8)
        with django_assert_max_num_queries(len(small.captured_queries)):
            page = browser.get(f"/workers/{regular.pk}/").content.decode()
        assert page.count("data-order=") == 10


# --- Interviews --------------------------------------------------------------------------------


class TestInterview:
    @pytest.mark.parametrize("who", ["recruiter", "spb_user", "hq_user"])
    def test_passing_makes_an_applicant_active(self, who: str, request: Any) -> None:
        user = request.getfixturevalue(who)
        applicant = worker(status=Worker.Status.APPLICANT)
        response = logged_in(user).post(
            f"/workers/{applicant.pk}/interview/",
            {"outcome": "passed", "notes": "Strong, sober, on time."}, follow=True,
        )
        assert response.status_code == 200
        applicant.refresh_from_db()
        assert applicant.status == Worker.Status.ACTIVE
        assert applicant.vetted_at is not None
        interview = Interview.objects.get(worker=applicant)
        assert (interview.outcome, interview.recruiter, interview.notes) == (
            "passed", user, "Strong, sober, on time.")
        page = response.content.decode()
        assert "is now active" in page
        assert 'data-outcome="passed"' in page
        assert "Strong, sober, on time." in page

    def test_failing_keeps_the_applicant_out(self, recruiter: Any) -> None:
        applicant = worker(status=Worker.Status.APPLICANT)
        logged_in(recruiter).post(f"/workers/{applicant.pk}/interview/", {"outcome": "failed"})
        applicant.refresh_from_db()
        assert applicant.status == Worker.Status.APPLICANT
        assert applicant.vetted_at is None

    def test_no_outcome_is_an_error_next_to_it(self, recruiter: Any) -> None:
        applicant = worker(status=Worker.Status.APPLICANT)
        response = logged_in(recruiter).post(f"/workers/{applicant.pk}/interview/",
                                             {"outcome": "maybe", "notes": "Come back"})
        assert response.status_code == 200
        page = response.content.decode()
        assert "valid choice" in page
        assert "Come back</textarea>" in page
        assert not Interview.objects.exists()

    def test_a_blocked_worker_cannot_be_re_vetted(self, recruiter: Any) -> None:
        blocked = worker(status=Worker.Status.BLOCKED, recruited_by=recruiter.franchise)
        response = logged_in(recruiter).post(f"/workers/{blocked.pk}/interview/",
                                             {"outcome": "passed"})
        assert response.status_code == 200
        assert "blocked and cannot be re-vetted" in response.content.decode()
        blocked.refresh_from_db()
        assert blocked.status == Worker.Status.BLOCKED
        assert not Interview.objects.exists()

    def test_an_interview_needs_a_post(self, recruiter: Any) -> None:
        applicant = worker(status=Worker.Status.APPLICANT)
        assert logged_in(recruiter).get(
            f"/workers/{applicant.pk}/interview/").status_code == 405


# --- Photos ------------------------------------------------------------------------------------


class TestPhoto:
    def test_an_uploaded_photo_is_shown_as_a_thumbnail(self, recruiter: Any, nsk_user: Any,
                                                        media: Path) -> None:
        someone = worker(recruited_by=recruiter.franchise)
        response = logged_in(recruiter).post(
            f"/workers/{someone.pk}/photo/upload/",
            {"photo": upload(image_bytes("PNG", (640, 480)))}, follow=True,
        )
        assert "Photo saved." in response.content.decode()
        someone.refresh_from_db()
        assert someone.photo
        page = logged_in(nsk_user).get(f"/workers/{someone.pk}/").content.decode()
        assert f'src="/workers/{someone.pk}/photo/?size=thumb"' in page
        thumb = logged_in(nsk_user).get(f"/workers/{someone.pk}/photo/?size=thumb")
        assert thumb.status_code == 200
        assert thumb["Content-Type"] == "image/jpeg"
        assert "private" in thumb["Cache-Control"]
        with Image.open(BytesIO(thumb.content)) as image:
            assert image.size == (192, 144)
        full = logged_in(nsk_user).get(f"/workers/{someone.pk}/photo/")
        with Image.open(BytesIO(b"".join(full.streaming_content))) as image:
            assert image.size == (640, 480)

    @pytest.mark.parametrize(("content", "says"), [
        (b"<?php system($_GET['c']); ?>", "not a JPEG, PNG or WebP image"),
        (image_bytes("GIF"), "Only JPEG, PNG or WebP"),
    ])
    def test_a_file_that_is_not_a_photo_is_an_error_next_to_the_field(
        self, recruiter: Any, media: Path, content: bytes, says: str
    ) -> None:
        someone = worker(recruited_by=recruiter.franchise)
        response = logged_in(recruiter).post(
            f"/workers/{someone.pk}/photo/upload/", {"photo": upload(content, "me.jpg")}
        )
        assert response.status_code == 200
        assert says in field_errors(response.content.decode(), "photo")
        someone.refresh_from_db()
        assert not someone.photo
        assert stored_files(media) == []

    def test_a_photo_over_the_limit_is_refused(self, recruiter: Any, settings: Any) -> None:
        settings.WORKER_PHOTO_MAX_BYTES = 1024 * 1024
        someone = worker(recruited_by=recruiter.franchise)
        response = logged_in(recruiter).post(
            f"/workers/{someone.pk}/photo/upload/",
            {"photo": upload(image_bytes("PNG", (30, 30)) + b"\0" * (1024 * 1024))},
        )
        assert "at most 1 MB" in field_errors(response.content.decode(), "photo")
        someone.refresh_from_db()
        assert not someone.photo

    def test_no_file_chosen_is_an_error(self, recruiter: Any) -> None:
        someone = worker(recruited_by=recruiter.franchise)
        response = logged_in(recruiter).post(f"/workers/{someone.pk}/photo/upload/", {})
        assert "Choose a photo" in field_errors(response.content.decode(), "photo")

    def test_removing_the_photo(self, recruiter: Any, media: Path) -> None:
        someone = worker(recruited_by=recruiter.franchise)
        browser = logged_in(recruiter)
        browser.post(f"/workers/{someone.pk}/photo/upload/", {"photo": upload(image_bytes())})
        browser.post(f"/workers/{someone.pk}/photo/upload/", {"remove": "on"})
        someone.refresh_from_db()
        assert not someone.photo
        assert browser.get(f"/workers/{someone.pk}/photo/").status_code == 404

    def test_a_foreman_sees_photos_of_his_crews_only(
        self, desk: Desk, spb_foreman: Any, recruiter: Any
    ) -> None:
        on_crew, stranger = desk.worker(), desk.worker(km=2)
        Worker.objects.filter(pk__in=[on_crew.pk, stranger.pk]).update(recruited_by=desk.franchise)
        desk.book(desk.order(1, foreman=spb_foreman), [on_crew])
        browser = logged_in(recruiter)
        for someone in (on_crew, stranger):
            browser.post(f"/workers/{someone.pk}/photo/upload/",
                         {"photo": upload(image_bytes())})
        foreman = logged_in(spb_foreman)
        assert foreman.get(f"/workers/{on_crew.pk}/photo/?size=thumb").status_code == 200
        assert foreman.get(f"/workers/{stranger.pk}/photo/?size=thumb").status_code == 404
        assert foreman.post(f"/workers/{on_crew.pk}/photo/upload/",
                            {"remove": "on"}).status_code == 403

    def test_a_photo_is_not_a_public_media_file(self, recruiter: Any, client: Browser) -> None:
        someone = worker(recruited_by=recruiter.franchise)
        logged_in(recruiter).post(f"/workers/{someone.pk}/photo/upload/",
                                  {"photo": upload(image_bytes())})
        someone.refresh_from_db()
        assert client.get(f"/media/{someone.photo.name}").status_code == 404
        assert client.get(f"/workers/{someone.pk}/photo/").status_code == 302


# --- Appeals -----------------------------------------------------------------------------------


def appealed(desk: Desk) -> tuple[Order, Worker, Appeal]:
    order, absent, _ = no_show_on_a_crew(desk)
    desk.at(END + timedelta(hours=2))
    desk.reply(absent, f"APPEAL {order.code} the bus broke down")
    return order, absent, Appeal.objects.get(offer__worker=absent)


class TestAppeals:
    def test_hq_reverses_a_no_show_and_the_rating_is_restated(
        self, desk: Desk, hq_user: Any
    ) -> None:
        _, absent, appeal = appealed(desk)
        browser = logged_in(hq_user)
        page = browser.get(f"/workers/{absent.pk}/").content.decode()
        assert f'id="appeal-{appeal.pk}-reverse"' in page
        assert "the bus broke down" in page
        rating_after_no_show = absent.rating

        response = browser.post(
            f"/workers/{absent.pk}/appeals/{appeal.pk}/decide/",
            {f"appeal-{appeal.pk}-decision": "reverse",
             f"appeal-{appeal.pk}-notes": "Bus company confirmed"}, follow=True,
        )

        assert response.redirect_chain[-1][0].endswith(f"#appeal-{appeal.pk}")
        appeal.refresh_from_db()
        absent.refresh_from_db()
        assert (appeal.status, appeal.decided_by, appeal.notes) == (
            "reversed", hq_user, "Bus company confirmed")
        assert absent.rating > rating_after_no_show + 1
        assert absent.no_shows == 0
        page = response.content.decode()
        assert "No-show reversed" in page
        assert f'id="appeal-{appeal.pk}-reverse"' not in page
        assert "reversed on appeal" in page
        assert desk.texts(appeal.offer.order, "appeal")[absent.pk]  # the worker is told

    def test_the_office_of_the_order_may_uphold(self, desk: Desk, spb_user: Any) -> None:
        _, absent, appeal = appealed(desk)
        logged_in(spb_user).post(f"/workers/{absent.pk}/appeals/{appeal.pk}/decide/",
                                 {f"appeal-{appeal.pk}-decision": "uphold"})
        appeal.refresh_from_db()
        assert appeal.status == Appeal.Status.UPHELD

    def test_another_office_neither_sees_the_buttons_nor_decides(
        self, desk: Desk, nsk_user: Any
    ) -> None:
        _, absent, appeal = appealed(desk)
        browser = logged_in(nsk_user)
        page = browser.get(f"/workers/{absent.pk}/").content.decode()
        assert f'id="appeal-{appeal.pk}"' in page
        assert f'id="appeal-{appeal.pk}-reverse"' not in page
        response = browser.post(f"/workers/{absent.pk}/appeals/{appeal.pk}/decide/",
                                {f"appeal-{appeal.pk}-decision": "reverse"})
        assert response.status_code == 404
        appeal.refresh_from_db()
        assert appeal.status == Appeal.Status.PENDING

    def test_a_recruiter_reads_appeals_but_does_not_decide(
        self, desk: Desk, recruiter: Any
    ) -> None:
        _, absent, appeal = appealed(desk)
        browser = logged_in(recruiter)
        page = browser.get(f"/workers/{absent.pk}/").content.decode()
        assert f'id="appeal-{appeal.pk}-reverse"' not in page
        assert browser.post(f"/workers/{absent.pk}/appeals/{appeal.pk}/decide/",
                            {f"appeal-{appeal.pk}-decision": "reverse"}).status_code == 403
        appeal.refresh_from_db()
        assert appeal.status == Appeal.Status.PENDING

    def test_deciding_twice_says_so_and_changes_nothing(self, desk: Desk, hq_user: Any) -> None:
        _, absent, appeal = appealed(desk)
        browser = logged_in(hq_user)
        url = f"/workers/{absent.pk}/appeals/{appeal.pk}/decide/"
        browser.post(url, {f"appeal-{appeal.pk}-decision": "uphold"})
        response = browser.post(url, {f"appeal-{appeal.pk}-decision": "reverse"})
        assert response.status_code == 200
        assert "already decided" in response.content.decode()
        appeal.refresh_from_db()
        assert appeal.status == Appeal.Status.UPHELD

    def test_an_unknown_decision_is_an_error(self, desk: Desk, hq_user: Any) -> None:
        _, absent, appeal = appealed(desk)
        response = logged_in(hq_user).post(
            f"/workers/{absent.pk}/appeals/{appeal.pk}/decide/",
            {f"appeal-{appeal.pk}-decision": "forget"},
        )
        assert response.status_code == 200
        assert "valid choice" in response.content.decode()
        appeal.refresh_from_db()
        assert appeal.status == Appeal.Status.PENDING


def test_every_page_obeys_the_content_security_policy(desk: Desk, hq_user: Any) -> None:
    _, absent, _ = appealed(desk)
    browser = logged_in(hq_user)
    for url in ("/workers/", f"/workers/{absent.pk}/", "/workers/?place=Kupchino"):
        page = browser.get(url).content.decode()
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == [], url
        assert " style=" not in page, url
        assert not re.search(r"\son[a-z]+=", page), url



def test_in_russian_figures_read_with_a_comma_and_data_keeps_the_dot(
    desk: Desk, spb_user: Any
) -> None:
    _, absent, _ = no_show_on_a_crew(desk)
    spb_user.language = "ru"
    spb_user.save(update_fields=["language"])
    browser = logged_in(spb_user)
    page = browser.get(f"/workers/{absent.pk}/").content.decode()
    assert '<html lang="ru">' in page
    shown = f"{absent.rating:.2f}"
    assert f'data-rating="{shown}">{shown.replace(".", ",")}</div>' in page
    listing = browser.get("/workers/", {"place": "Kupchino, Saint Petersburg",
                                        "radius_km": "50"})
    assert listing.status_code == 200
    assert f'data-rating="{shown}"' in listing.content.decode()


# --- Who may change a worker -------------------------------------------------------------------


class TestWhoMayChange:
    """The pages keep the API's rules: a stranger office sees the worker and changes nothing;
    an office the worker worked for interviews but keeps off the photo; the recruiting office
    and HQ change everything."""

    def test_a_stranger_office_sees_no_forms_and_a_post_is_refused(
        self, nsk_user: Any, spb: Any
    ) -> None:
        theirs = worker(recruited_by=spb)
        browser = logged_in(nsk_user)
        page = browser.get(f"/workers/{theirs.pk}/").content.decode()
        assert 'id="interview-form"' not in page
        assert 'id="photo-form"' not in page
        assert "Only HQ, the office that recruited this worker or an office they have worked " \
               "for may interview them." in page
        refused = browser.post(f"/workers/{theirs.pk}/interview/", {"outcome": "failed"})
        assert refused.status_code == 403
        assert 'id="interview-refused"' in refused.content.decode()
        assert not Interview.objects.exists()
        photo = browser.post(f"/workers/{theirs.pk}/photo/upload/",
                             {"photo": upload(image_bytes())})
        assert photo.status_code == 403
        assert 'id="photo-refused"' in photo.content.decode()
        theirs.refresh_from_db()
        assert not theirs.photo

    def test_an_office_they_worked_for_interviews_but_keeps_off_the_photo(
        self, desk: Desk, nsk: Any
    ) -> None:
        someone, browser = worked_for_the_office(desk, nsk)
        page = browser.get(f"/workers/{someone.pk}/").content.decode()
        assert 'id="interview-form"' in page
        assert 'id="photo-form"' not in page
        assert "Only HQ or the office that recruited this worker may change the photo." in page
        assert browser.post(f"/workers/{someone.pk}/interview/",
                            {"outcome": "failed"}).status_code == 302
        refused = browser.post(f"/workers/{someone.pk}/photo/upload/",
                               {"photo": upload(image_bytes())})
        assert refused.status_code == 403
        assert "Only HQ or the office that recruited this worker may change photo" in (
            refused.content.decode())

    def test_another_offices_interviewer_is_not_named(self, nsk_user: Any, spb: Any,
                                                      recruiter: Any) -> None:
        theirs = worker(status=Worker.Status.APPLICANT)
        logged_in(recruiter).post(f"/workers/{theirs.pk}/interview/",
                                  {"outcome": "passed", "notes": "fine"})
        page = logged_in(nsk_user).get(f"/workers/{theirs.pk}/").content.decode()
        assert "spb-recruiter" not in page
        assert "another office" in page
        assert "spb-recruiter" in logged_in(recruiter).get(
            f"/workers/{theirs.pk}/").content.decode()

    def test_the_intake_page_makes_the_office_the_recruiter(self, recruiter: Any) -> None:
        logged_in(recruiter).post("/recruit/", intake_form())
        assert Worker.objects.get().recruited_by == recruiter.franchise


class TestEditDetails:
    """`/workers/{id}/edit/`: the recruiting office and HQ change the name, phone, skills,
    language and notes; an office the worker worked for keeps the notes; nobody else."""

    def test_the_recruiting_office_changes_phone_skills_language_and_notes(
        self, recruiter: Any
    ) -> None:
        someone = worker(recruited_by=recruiter.franchise, language="ru")
        browser = logged_in(recruiter)
        profile = browser.get(f"/workers/{someone.pk}/").content.decode()
        assert f'href="/workers/{someone.pk}/edit/"' in profile
        form = browser.get(f"/workers/{someone.pk}/edit/").content.decode()
        for field in ("name", "phone", "skills", "language", "notes"):
            assert f'name="{field}"' in form

        response = browser.post(f"/workers/{someone.pk}/edit/", {
            "name": "Ivan Petrov", "phone": "8 921 555-12-34", "skills": ["loading", "general"],
            "language": "en", "notes": "Prefers night shifts",
        }, follow=True)

        someone.refresh_from_db()
        assert str(someone.phone) == "+79215551234"
        assert (sorted(someone.skills), someone.language, someone.notes) == (
            ["general", "loading"], "en", "Prefers night shifts")
        page = response.content.decode()
        assert "Ivan Petrov: changes saved." in page
        assert "+79215551234" in page

    def test_a_phone_taken_by_another_worker_is_refused_next_to_it(self, spb_user: Any,
                                                                    spb: Any) -> None:
        worker(phone="+79215550000")
        someone = worker(name="Oleg", recruited_by=spb)
        before = someone.phone
        response = logged_in(spb_user).post(f"/workers/{someone.pk}/edit/", {
            "name": "Oleg", "phone": "+7 921 555 00 00", "skills": ["loading"],
            "language": "ru", "notes": "",
        })
        assert response.status_code == 400
        assert 'id="worker-edit-form"' in response.content.decode()
        someone.refresh_from_db()
        assert someone.phone == before

    def test_a_phone_that_is_not_one_is_an_error_and_nothing_changes(self, hq_user: Any) -> None:
        someone = worker(name="Oleg")
        response = logged_in(hq_user).post(f"/workers/{someone.pk}/edit/", {
            "name": "Oleg Sidorov", "phone": "12", "skills": ["loading"], "language": "ru",
        })
        assert response.status_code == 400
        someone.refresh_from_db()
        assert someone.name == "Oleg"

    def test_an_office_they_worked_for_keeps_the_notes_only(self, desk: Desk, nsk: Any) -> None:
        someone, browser = worked_for_the_office(desk, nsk)
        form = browser.get(f"/workers/{someone.pk}/edit/").content.decode()
        assert 'name="notes"' in form
        assert 'name="phone"' not in form
        assert 'id="notes-only"' in form
        phone = someone.phone
        browser.post(f"/workers/{someone.pk}/edit/",
                     {"notes": "Reliable on Saturdays", "phone": "+79215557777"})
        someone.refresh_from_db()
        assert (someone.notes, someone.phone) == ("Reliable on Saturdays", phone)

    def test_a_stranger_office_and_a_foreman_are_refused(self, nsk_user: Any, spb: Any,
                                                         spb_foreman: Any) -> None:
        theirs = worker(recruited_by=spb)
        browser = logged_in(nsk_user)
        assert f'/workers/{theirs.pk}/edit/' not in browser.get(
            f"/workers/{theirs.pk}/").content.decode()
        for method in (browser.get, browser.post):
            response = method(f"/workers/{theirs.pk}/edit/")
            assert response.status_code == 403
        assert logged_in(spb_foreman).get(f"/workers/{theirs.pk}/edit/").status_code == 403
        refused = browser.post(f"/workers/{theirs.pk}/edit/", {"notes": "x"})
        assert "Only HQ, the office that recruited this worker" in refused.content.decode()
        theirs.refresh_from_db()
        assert theirs.notes == ""


class TestEventNotes:
    """Rating events' notes are written by the services in one language; the page reads the
    services' own notes to the reader in theirs, and a person's note as typed."""

    @pytest.mark.parametrize(("note", "english", "russian"), [
        ("no-show on K7Q", "no-show on K7Q", "неявка на заказ K7Q"),
        ("withdrew from K7Q", "withdrew from K7Q", "отказался от заказа K7Q"),
        ("late on K7Q", "late on K7Q", "опоздал, заказ K7Q"),
        ("present on K7Q (correction)", "present on K7Q (a correction)",
         "на месте, заказ K7Q (исправление)"),
        ("corrected to no_show", "corrected to no-show", "исправлено: неявка"),
        ("reversed on appeal", "reversed on appeal", "отменено по апелляции"),
        ("replaced by client score 4", "replaced by the client's score 4",
         "заменена оценкой: клиент, 4"),
        ("foreman score on K7Q", "foreman's score on K7Q", "оценка: бригадир, заказ K7Q"),
        ("Came drunk; sent home by the client", "Came drunk; sent home by the client",
         "Came drunk; sent home by the client"),
    ])
    def test_the_services_notes_read_in_the_readers_language(
        self, note: str, english: str, russian: str
    ) -> None:
        with translation.override("en"):
            assert note_shown(note) == english
        with translation.override("ru"):
            assert note_shown(note) == russian

    def test_every_note_dispatch_writes_has_its_sentence(self) -> None:
        assert set(NOTE_SENTENCES) == set(Note)

    def test_the_notes_the_services_write_are_the_ones_translated(
        self, desk: Desk, spb_user: Any
    ) -> None:
        order, absent, crew = no_show_on_a_crew(desk)
        spb_user.language = "ru"
        spb_user.save(update_fields=["language"])
        for someone, expected in ((absent, f"неявка, заказ {order.code}"),
                                  (crew[0], f"на месте, заказ {order.code}")):
            notes = list(RatingEvent.objects.filter(worker=someone).values_list("note", flat=True))
            assert notes
            assert all(note_read(note) is not None for note in notes), notes
            page = logged_in(spb_user).get(f"/workers/{someone.pk}/").content.decode()
            assert expected in page
