"""Order intake at the call centre's desk: the client found as the phone is typed, or created
with its site in the same form; the address placed and the workers near it counted; the
price quoted from the rate card; the order placed and called out in the franchise's local
time, or handed to the network as a lead; and bad input kept, shown by its field, with
nothing written.

Every test runs on the virtual clock of tests/dispatch: NOW is noon in Saint Petersburg
(Sun 10 Mar 2030); "2030-03-11T09:00" is the next morning.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client as Browser

from billing.services import rate_quote
from clients.models import Client, Lead, Site
from clients.services import client_create, site_create
from core import clock
from dispatch.models import Order
from franchises.models import Franchise
from franchises.services import user_create
from messaging.models import OptOut
from tests.dispatch.conftest import NOW, Desk, point_near
from workers.models import Worker

pytestmark = pytest.mark.django_db

KUPCHINO = "Kupchino, Saint Petersburg"
TOMORROW_9 = "2030-03-11T09:00"


@pytest.fixture
def desk(spb: Any, spb_client: Any) -> Iterator[Desk]:
    virtual = clock.VirtualClock(NOW)
    with clock.use_clock(virtual):
        site = site_create(client=spb_client, address="Sofiyskaya 6, Saint Petersburg",
                           lat=59.87, lng=30.42)
        yield Desk(franchise=spb, client=spb_client, site=site, virtual_clock=virtual)


@pytest.fixture
def nsk_client(nsk: Any) -> Client:
    client = client_create(name="Holiday Novosibirsk", franchise=nsk, phone="+73832000001")
    site_create(client=client, address="Holiday site", lat=55.03, lng=82.92)
    return client


@pytest.fixture
def recruiter(spb: Any) -> Any:
    return user_create(username="spb-recruiter", password="pw-12345", role="recruiter",
                       franchise=spb)


def logged_in(user: Any) -> Browser:
    browser = Browser()
    browser.force_login(user)
    return browser


def text(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


class FormDefaults(HTMLParser):
    """What a browser would send for a page's form fields left untouched: text and hidden
    inputs' values, checked radios and boxes, each select's selected (else first) option,
    textareas' text. Buttons are left out (the test presses one)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._select: str | None = None
        self._select_first: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {key: value or "" for key, value in attrs}
        name = found.get("name")
        if tag == "input" and name and found.get("type") not in ("submit", "button"):
            if found.get("type") in ("radio", "checkbox"):
                if "checked" in found:
                    self.values[name] = found.get("value", "on")
            else:
                self.values.setdefault(name, found.get("value", ""))
        elif tag == "select" and name:
            self._select, self._select_first = name, None
        elif tag == "option" and self._select:
            value = found.get("value", "")
            if self._select_first is None:
                self._select_first = value
                self.values[self._select] = value
            if "selected" in found:
                self.values[self._select] = value
        elif tag == "textarea" and name:
            self._textarea = name
            self.values[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.values[self._textarea] += data.lstrip("\n")


def defaults(*pages: str) -> dict[str, str]:
    """The fields of the page and the fragments swapped into it, as a browser would send."""
    values: dict[str, str] = {}
    for page in pages:
        parser = FormDefaults()
        parser.feed(page)
        values.update(parser.values)
    return values


class TestAccess:
    pages = ("/orders/new/", "/orders/new/client/", "/orders/new/place/", "/orders/new/quote/")

    def test_hq_and_franchise_logins_take_orders(
        self, desk: Desk, hq_user: Any, spb_user: Any
    ) -> None:
        for user in (hq_user, spb_user):
            browser = logged_in(user)
            for page in self.pages:
                assert browser.get(page).status_code == 200
            assert 'href="/orders/new/"' in text(browser.get("/board/"))

    def test_foremen_and_recruiters_are_refused(
        self, desk: Desk, spb_foreman: Any, recruiter: Any
    ) -> None:
        for user in (spb_foreman, recruiter):
            browser = logged_in(user)
            for page in self.pages:
                assert browser.get(page).status_code == 403
            response = browser.post("/orders/new/", {"client": desk.client.pk})
            assert response.status_code == 403
        assert not Order.objects.exists()

    def test_it_needs_a_login(self, client: Browser) -> None:
        response = client.get("/orders/new/")
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


class TestLookup:
    def lookup(self, user: Any, **typed: str) -> str:
        return text(logged_in(user).get("/orders/new/client/", typed))

    @pytest.mark.parametrize("typed", [
        "8 812 555", "+7 (812) 555-01", "812 555 01", "8 812 555-01-01", "+78125550101",
        "7 812 555 01",
    ])
    def test_the_client_shows_as_its_phone_is_typed(
        self, desk: Desk, spb_user: Any, typed: str
    ) -> None:
        page = self.lookup(spb_user, phone=typed)
        assert f'id="client-{desk.client.pk}"' in page
        assert "+7 812 555-01-01" in page

    def test_numbers_that_differ_do_not_match(self, desk: Desk, spb_user: Any) -> None:
        page = self.lookup(spb_user, phone="8 812 556")
        assert f'id="client-{desk.client.pk}"' not in page
        assert 'id="no-match"' in page
        assert "a new one will be created" in page

    def test_by_name_too(self, desk: Desk, spb_user: Any) -> None:
        page = self.lookup(spb_user, phone="", client_name="lenta")
        assert f'id="client-{desk.client.pk}"' in page
        assert 'id="no-match"' not in self.lookup(spb_user, phone="Lenta")

    def test_a_franchise_finds_only_its_own_clients(
        self, desk: Desk, nsk_client: Client, spb_user: Any, hq_user: Any
    ) -> None:
        assert f'id="client-{nsk_client.pk}"' not in self.lookup(spb_user, client_name="Holiday")
        assert f'id="client-{nsk_client.pk}"' not in self.lookup(spb_user, phone="+7383200")
        assert f'id="client-{nsk_client.pk}"' in self.lookup(hq_user, client_name="Holiday")

    def test_picking_a_client_offers_its_sites_the_last_used_first(
        self, desk: Desk, spb_user: Any
    ) -> None:
        newer = desk.site_at(3)  # added later, never ordered for
        desk.order(2)  # the first site was ordered for: it comes first, picked
        page = self.lookup(spb_user, phone="8 812 555", client=str(desk.client.pk))
        assert f'id="client-{desk.client.pk}" data-client="Lenta warehouse" checked' in page
        assert page.index(f'id="site-{desk.site.pk}"') < page.index(f'id="site-{newer.pk}"')
        assert f'id="site-{desk.site.pk}" checked' in page
        assert "last order 11 Mar 2030" in page
        assert 'id="site-new"' in page
        assert "Served by <strong>Saint Petersburg office</strong>" in page

    def test_picking_another_client_picks_its_site_not_the_last_ones(
        self, desk: Desk, spb: Any, spb_user: Any
    ) -> None:
        other = client_create(name="Lenta two", franchise=spb, phone="+78125550102")
        other_site = site_create(client=other, address="Other site", lat=59.9, lng=30.3)
        page = self.lookup(spb_user, phone="8 812 555", client=str(other.pk),
                           site=str(desk.site.pk))
        assert f'id="site-{other_site.pk}" checked' in page
        assert f'id="site-{desk.site.pk}"' not in page
        new_site = self.lookup(spb_user, phone="8 812 555", client=str(other.pk), site="")
        assert 'id="site-new" checked' in new_site

    def test_a_pick_fills_the_franchise_and_its_zone(
        self, desk: Desk, nsk_client: Client, hq_user: Any
    ) -> None:
        page = self.lookup(hq_user, client_name="Holiday", client=str(nsk_client.pk))
        assert "Served by <strong>Novosibirsk office</strong> (the client&#x27;s franchise)" in page
        assert 'id="start-zone" hx-swap-oob="true" data-zone="Asia/Novosibirsk"' in page
        assert "UTC+07 (Asia/Novosibirsk" in page
        assert 'name="franchise"' not in page  # the client's franchise serves it

    def test_the_lookup_reads_a_flat_number_of_queries(
        self, desk: Desk, spb: Any, hq_user: Any, django_assert_max_num_queries: Any
    ) -> None:
        browser = logged_in(hq_user)
        typed = {"phone": "8 812 555", "client": str(desk.client.pk)}
        browser.get("/orders/new/client/", typed)
        with django_assert_max_num_queries(20) as captured:
            browser.get("/orders/new/client/", typed)
        few = len(captured)
        Client.objects.bulk_create(
            Client(name=f"Client {index}", phone=f"+7812555{index:04d}", franchise=spb)
            for index in range(1, 300)
        )
        with django_assert_max_num_queries(few):
            page = text(browser.get("/orders/new/client/", typed))
        # Ten matches, the client picked before (kept), and "new client".
        assert page.count('name="client"') == 12


class TestPlace:
    def preview(self, user: Any, **typed: str) -> str:
        return text(logged_in(user).get("/orders/new/place/", typed))

    def test_the_address_is_placed_and_workers_near_it_counted(
        self, desk: Desk, spb_user: Any
    ) -> None:
        kupchino = (59.83, 30.38)

        def at(km: float, count: int = 1, **fields: Any) -> list[Worker]:
            lat, lng = point_near(*kupchino, km)
            return desk.workers(count, site=_Point(lat, lng), **fields)

        at(5, 3)  # within 10 km
        at(20, 2)  # within 35 km
        at(50, 4)  # beyond
        at(5, skills=("general",))  # general workers load too
        at(5, skills=("roofing",))  # not this work
        at(5, status=Worker.Status.APPLICANT)  # not vetted yet
        at(5, status=Worker.Status.SUSPENDED)
        opted_out = at(5)[0]
        OptOut.objects.create(phone=str(opted_out.phone), keyword="STOP", opted_out_at=NOW)

        page = self.preview(spb_user, address=KUPCHINO, work_type="loading")

        assert "Купчино, Санкт-Петербург" in page
        assert 'data-radius="10" data-workers="4"' in page
        assert 'data-radius="35" data-workers="6"' in page
        roofing = self.preview(spb_user, address=KUPCHINO, work_type="roofing")
        assert 'data-radius="10" data-workers="1"' in roofing

    def test_a_picked_site_is_shown_without_geocoding(self, desk: Desk, spb_user: Any) -> None:
        desk.workers(2)
        page = self.preview(spb_user, client=str(desk.client.pk), site=str(desk.site.pk),
                            work_type="loading")
        assert "Sofiyskaya 6, Saint Petersburg" in page
        assert 'data-radius="10" data-workers="2"' in page

    def test_an_address_that_cannot_be_placed_says_so(self, desk: Desk, spb_user: Any) -> None:
        page = self.preview(spb_user, address="Nowhere street 1, Atlantis")
        assert 'id="place-error"' in page
        assert "could not be found" in page

    def test_hq_sees_who_would_serve_a_new_callers_point(
        self, desk: Desk, hq_user: Any
    ) -> None:
        page = self.preview(hq_user, address=KUPCHINO, work_type="loading")
        assert "Served by <strong>Saint Petersburg office</strong> (by territory)" in page
        assert 'data-zone="Europe/Moscow"' in page
        nowhere = self.preview(hq_user, address="45.0, 40.0", work_type="loading")
        assert "No franchise covers this point" in nowhere


class _Point:
    """A stand-in site for `Desk.workers`, which places workers north of a site."""

    def __init__(self, lat: float, lng: float) -> None:
        self.lat, self.lng = lat, lng


class TestQuote:
    terms = {"work_type": "loading", "headcount": "3", "start": TOMORROW_9, "hours": "6",
             "conditions": "outdoor"}

    def test_the_price_comes_from_the_rate_card(self, desk: Desk, spb_user: Any) -> None:
        page = text(logged_in(spb_user).get("/orders/new/quote/", self.terms))
        expected = rate_quote(franchise=desk.franchise, work_type="loading",
                              conditions="outdoor", headcount=3, hours=Decimal(6),
                              start=datetime(2030, 3, 11, 9, 0))
        assert f'id="quote-bill-rate">{expected.bill_rate}<' in page
        assert f'id="quote-pay-rate">{expected.pay_rate}<' in page
        assert f'id="quote-total">{expected.total_bill} RUB<' in page
        assert "outdoor x1.20" in page

    def test_the_price_follows_the_terms(self, desk: Desk, spb_user: Any) -> None:
        browser = logged_in(spb_user)
        small = text(browser.get("/orders/new/quote/", self.terms))
        crew = text(browser.get("/orders/new/quote/", {**self.terms, "headcount": "20"}))
        night = text(browser.get("/orders/new/quote/", {**self.terms,
                                                        "start": "2030-03-11T23:00"}))
        assert "crew of 20+" in crew
        assert "crew of 20+" not in small
        assert "night x1.20" in night

    def test_a_picked_sites_conditions_price_the_order(self, desk: Desk, spb_user: Any) -> None:
        page = text(logged_in(spb_user).get("/orders/new/quote/", {
            **self.terms, "client": desk.client.pk, "site": desk.site.pk}))
        assert "outdoor" not in page  # the site is warm indoor, whatever the new-site field says

    def test_without_the_terms_it_says_what_it_needs(self, desk: Desk, spb_user: Any) -> None:
        page = text(logged_in(spb_user).get("/orders/new/quote/", {"work_type": "loading"}))
        assert 'id="quote-figures"' not in page
        assert "shows here once" in page

    def test_hq_needs_to_know_the_franchise_first(self, desk: Desk, hq_user: Any) -> None:
        browser = logged_in(hq_user)
        assert 'id="quote-figures"' not in text(browser.get("/orders/new/quote/", self.terms))
        picked = text(browser.get("/orders/new/quote/", {**self.terms,
                                                         "client": desk.client.pk}))
        assert 'id="quote-figures"' in picked

    def test_a_start_years_ahead_is_refused(self, desk: Desk, spb_user: Any) -> None:
        page = text(logged_in(spb_user).get("/orders/new/quote/", {
            **self.terms, "start": "2099-03-11T09:00"}))
        assert 'id="quote-error"' in page


class TestRepeatClient:
    def place_repeat_order(self, desk: Desk, user: Any, phone: str, client: Client,
                           start: str) -> tuple[Any, dict[str, str]]:
        """The operator's steps: type the phone, pick the client (its last site comes
        picked), then work, headcount, start and hours; the rest keep their defaults."""
        browser = logged_in(user)
        page = text(browser.get("/orders/new/"))
        filled = {"phone": phone}
        found = text(browser.get("/orders/new/client/", {**defaults(page), **filled}))
        assert f'id="client-{client.pk}"' in found
        filled["client"] = str(client.pk)
        picked = text(browser.get("/orders/new/client/", {**defaults(page), **filled}))
        filled.update(work_type="loading", headcount="2", start=start, hours="6")
        sent = {**defaults(page, picked), **filled, "action": "place"}
        response = browser.post("/orders/new/", sent, follow=True)
        return response, filled

    def test_a_repeat_clients_order_takes_six_fields_and_calls_out(
        self, desk: Desk, spb_user: Any
    ) -> None:
        desk.workers(6)
        desk.order(3)  # the client ordered before

        response, filled = self.place_repeat_order(desk, spb_user, "8 812 555-01-01",
                                                   desk.client, TOMORROW_9)

        assert len(filled) <= 6
        order = Order.objects.exclude(headcount=3).get()
        assert (order.client, order.site, order.franchise) == (
            desk.client, desk.site, desk.franchise)
        assert order.start == datetime(2030, 3, 11, 6, 0, tzinfo=UTC)  # 09:00 in St Petersburg
        assert order.status == Order.Status.CALLING
        assert order.overbook_policy == Order.Policy.FIXED
        assert order.offers.count() > 0
        assert order.created_by == spb_user
        assert response.redirect_chain[-1][0] == f"/orders/{order.pk}/"  # the order's page
        page = text(response)
        assert f"Order {order.code} placed for Lenta warehouse, Mon 11 Mar 09:00 MSK" in page
        assert f"{order.offers.count()} offers sent" in page

    def test_hq_types_a_novosibirsk_start_in_novosibirsk_time(
        self, desk: Desk, nsk_client: Client, hq_user: Any
    ) -> None:
        self.place_repeat_order(desk, hq_user, "+7 383 200-00-01", nsk_client, TOMORROW_9)
        order = Order.objects.get()
        assert order.franchise.name == "Novosibirsk office"
        assert order.start == datetime(2030, 3, 11, 2, 0, tzinfo=UTC)  # 09:00 at UTC+7
        assert order.status == Order.Status.CALLING


class TestNewClient:
    def form(self, **changes: str) -> dict[str, str]:
        return {"phone": "+7 921 000-11-22", "client_name": "Okey Kupchino", "client": "",
                "address": KUPCHINO, "conditions": "cold_indoor", "work_type": "loading",
                "headcount": "2", "start": TOMORROW_9, "hours": "6", "overbook_policy": "fixed",
                "notes": "Gate 3", "action": "place", **changes}

    def test_client_site_and_order_in_one_form(self, desk: Desk, spb_user: Any) -> None:
        response = logged_in(spb_user).post("/orders/new/", self.form(), follow=True)
        client = Client.objects.get(name="Okey Kupchino")
        assert client.franchise == desk.franchise
        assert str(client.phone) == "+79210001122"
        site = Site.objects.get(client=client)
        assert (site.lat, site.lng) == pytest.approx((59.83, 30.38), abs=0.01)
        assert site.conditions == "cold_indoor"
        order = Order.objects.get(client=client)
        assert order.site == site
        assert order.notes == "Gate 3"
        assert order.status == Order.Status.CALLING
        assert f"Order {order.code} placed" in text(response)

    def test_hq_files_a_new_client_with_the_franchise_of_its_territory(
        self, desk: Desk, hq_user: Any
    ) -> None:
        logged_in(hq_user).post("/orders/new/", self.form())
        order = Order.objects.get()
        assert order.franchise == desk.franchise
        assert order.client.franchise == desk.franchise

    def test_hq_must_choose_a_franchise_where_none_covers_the_point(
        self, desk: Desk, hq_user: Any, nsk: Any
    ) -> None:
        browser = logged_in(hq_user)
        page = text(browser.post("/orders/new/", self.form(address="45.0, 40.0")))
        assert "choose the one that will serve this client" in page
        assert not Client.objects.filter(name="Okey Kupchino").exists()
        assert not Order.objects.exists()

        browser.post("/orders/new/", self.form(address="45.0, 40.0", franchise=str(nsk.pk)))
        assert Order.objects.get().franchise == nsk

    def test_an_address_that_cannot_be_placed_is_an_error_by_it(
        self, desk: Desk, spb_user: Any
    ) -> None:
        before = (Client.objects.count(), Site.objects.count())
        page = text(logged_in(spb_user).post("/orders/new/", self.form(
            address="Nowhere street 1, Atlantis")))
        assert _field_error(page, "address", "could not be found")
        assert 'id="place-error"' in page
        assert 'value="Nowhere street 1, Atlantis"' in page
        assert 'value="Okey Kupchino"' in page
        assert (Client.objects.count(), Site.objects.count()) == before
        assert not Order.objects.exists()


def _field_error(page: str, field: str, words: str) -> bool:
    """`words` appear in the error list right after the field `field`."""
    at = page.index(f'id="id_{field}"')
    errors = page.find('class="errorlist', at)
    return errors != -1 and words in page[errors:page.find("</ul>", errors)] and (
        page.find('class="field', at, errors) == -1)


class TestBadInput:
    def form(self, desk: Desk, **changes: str) -> dict[str, str]:
        return {"phone": "8 812 555-01-01", "client": str(desk.client.pk),
                "site": str(desk.site.pk), "work_type": "loading", "headcount": "2",
                "start": TOMORROW_9, "hours": "6", "overbook_policy": "fixed",
                "conditions": "warm_indoor", "action": "place", **changes}

    def test_missing_and_bad_fields_are_shown_by_each_field(
        self, desk: Desk, spb_user: Any
    ) -> None:
        page = text(logged_in(spb_user).post("/orders/new/", self.form(
            desk, headcount="", hours="30", start="tomorrow morning", phone="12")))
        assert _field_error(page, "headcount", "required")
        assert _field_error(page, "hours", "less than or equal to 24")
        assert _field_error(page, "start", "valid date")
        assert _field_error(page, "phone", "valid phone number")
        assert 'value="tomorrow morning"' in page
        assert 'value="30"' in page
        assert f'id="client-{desk.client.pk}" data-client="Lenta warehouse" checked' in page
        assert not Order.objects.exists()

    def test_a_start_in_the_past_writes_nothing_at_all(self, desk: Desk, spb_user: Any) -> None:
        page = text(logged_in(spb_user).post("/orders/new/", {
            **TestNewClient().form(), "start": "2030-03-10T08:00"}))
        assert _field_error(page, "start", "must not be in the past")
        assert 'value="2030-03-10T08:00"' in page
        # The client and site the same form would have created are not left behind.
        assert not Client.objects.filter(name="Okey Kupchino").exists()
        assert Site.objects.count() == 1
        assert not Order.objects.exists()

    @pytest.mark.parametrize("junk", ["99999999999999999999", "-1", "abc", "1\x00"])
    def test_junk_ids_are_field_errors_never_a_crash(
        self, desk: Desk, spb_user: Any, junk: str
    ) -> None:
        browser = logged_in(spb_user)
        for page in ("/orders/new/client/", "/orders/new/place/", "/orders/new/quote/"):
            assert browser.get(page, {"client": junk, "site": junk,
                                      "franchise": junk}).status_code == 200
        page = text(browser.post("/orders/new/", self.form(desk, client=junk, site=junk)))
        assert 'id="id_client_error"' in page
        assert 'id="id_site_error"' in page
        assert not Order.objects.exists()

    def test_a_comma_in_the_hours_is_a_decimal_point(self, desk: Desk, spb_user: Any) -> None:
        desk.workers(3)
        logged_in(spb_user).post("/orders/new/", self.form(desk, hours="7,5"))
        assert Order.objects.get().hours == Decimal("7.5")

    def test_another_franchises_client_or_site_cannot_be_used(
        self, desk: Desk, nsk_client: Client, spb_user: Any
    ) -> None:
        browser = logged_in(spb_user)
        page = text(browser.post("/orders/new/", self.form(desk, client=str(nsk_client.pk))))
        assert "Select a valid choice" in page
        other_site = nsk_client.sites.get()
        page = text(browser.post("/orders/new/", self.form(desk, site=str(other_site.pk))))
        assert "Select a valid choice" in page
        assert not Order.objects.exists()

    def test_a_site_of_another_client_is_refused(self, desk: Desk, spb: Any,
                                                 spb_user: Any) -> None:
        other = client_create(name="Other", franchise=spb)
        other_site = site_create(client=other, address="Other site", lat=59.9, lng=30.3)
        page = text(logged_in(spb_user).post("/orders/new/", self.form(
            desk, site=str(other_site.pk))))
        assert "This site belongs to another client" in page
        assert not Order.objects.exists()

    def test_a_new_client_needs_a_name(self, desk: Desk, spb_user: Any) -> None:
        page = text(logged_in(spb_user).post("/orders/new/", {
            **TestNewClient().form(), "client_name": ""}))
        assert _field_error(page, "client_name", "name a new one")
        assert not Order.objects.exists()
        assert Client.objects.count() == 1


class TestLead:
    def form(self, **changes: str) -> dict[str, str]:
        return {**TestNewClient().form(), "action": "lead", **changes}

    def test_a_new_caller_is_handed_to_the_network(self, desk: Desk, hq_user: Any) -> None:
        response = logged_in(hq_user).post("/orders/new/", self.form(), follow=True)
        lead = Lead.objects.get()
        assert lead.franchise == desk.franchise
        assert lead.contact_name == "Okey Kupchino"
        assert str(lead.phone) == "+79210001122"
        assert lead.start == datetime(2030, 3, 11, 6, 0, tzinfo=UTC)  # 09:00 in St Petersburg
        assert (lead.lat, lead.lng) == pytest.approx((59.83, 30.38), abs=0.01)
        page = text(response)
        assert f"Lead #{lead.pk} handed to Saint Petersburg office" in page
        assert "official office for this territory" in page
        assert not Order.objects.exists()
        assert not Client.objects.filter(name="Okey Kupchino").exists()  # made on acceptance

    def test_a_point_nobody_covers_stays_with_hq(self, desk: Desk, hq_user: Any) -> None:
        response = logged_in(hq_user).post("/orders/new/", self.form(address="45.0, 40.0"),
                                           follow=True)
        lead = Lead.objects.get()
        assert lead.franchise is None
        assert f"Lead #{lead.pk}: HQ holds it" in text(response)
        assert lead.start == datetime(2030, 3, 11, 6, 0, tzinfo=UTC)  # HQ's time, Moscow

    def test_a_known_client_and_site_make_the_lead(self, desk: Desk, nsk_client: Client,
                                                   hq_user: Any) -> None:
        logged_in(hq_user).post("/orders/new/", self.form(
            phone="", client_name="", client=str(nsk_client.pk),
            site=str(nsk_client.sites.get().pk), address=""))
        lead = Lead.objects.get()
        assert lead.contact_name == "Holiday Novosibirsk"
        assert str(lead.phone) == "+73832000001"
        assert lead.franchise.name == "Novosibirsk office"
        assert lead.start == datetime(2030, 3, 11, 2, 0, tzinfo=UTC)  # 09:00 in Novosibirsk

    def test_a_lead_needs_a_phone(self, desk: Desk, hq_user: Any) -> None:
        page = text(logged_in(hq_user).post("/orders/new/", self.form(phone="")))
        assert _field_error(page, "phone", "needs the caller")
        assert not Lead.objects.exists()


def test_the_start_field_names_its_zone(desk: Desk, spb_user: Any, nsk_user: Any) -> None:
    assert "MSK (Europe/Moscow" in text(logged_in(spb_user).get("/orders/new/"))
    nsk_page = text(logged_in(nsk_user).get("/orders/new/"))
    assert 'id="start-zone" data-zone="Asia/Novosibirsk"' in nsk_page



class TestLeadsAreTheNetworks:
    """Only HQ and the official offices hand requests on as leads; a brand franchise places
    its own orders."""

    def test_a_brand_franchise_has_no_lead_button_and_is_refused(self, desk: Desk) -> None:
        brand = Franchise.objects.create(name="Gruzchiki Plus", kind="brand_franchise",
                                         city="Saint Petersburg")
        user = user_create(username="brand", password="pw-12345", role="franchise",
                           franchise=brand)
        browser = logged_in(user)
        assert 'id="hand-as-lead"' not in text(browser.get("/orders/new/"))
        response = browser.post("/orders/new/", TestLead().form())
        assert response.status_code == 403
        assert ("Only HQ and the official offices hand requests to the network as leads"
                in response.content.decode())
        assert not Lead.objects.exists()

    def test_an_official_office_keeps_the_button(self, desk: Desk, spb_user: Any) -> None:
        assert 'id="hand-as-lead"' in text(logged_in(spb_user).get("/orders/new/"))
