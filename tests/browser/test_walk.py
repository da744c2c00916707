"""A working day in the console, in real Chromium, in English and in Russian.

Novosibirsk (UTC+7). On Monday 2 November 2026 at 10:00 local time the call centre takes a
repeat client's order for three loaders at 08:00 the next morning; the workers answer by
SMS on the phone simulator; the board shows the crew confirmed as the batch assignment runs;
on Tuesday the foreman checks the crew in from his phone, one of them a no-show, whose
rating drops; the office completes the order and its dashboard shows the month's turnover
and royalty; a new caller handed to the network as a lead is accepted from the inbox; and
October's royalty statement is paid.

Time is the project's virtual clock (core.clock), moved by the test as the day goes by, the
sweeper's work (`run_due_steps`) run by the test when its time comes. SMS go through the
real twilio client to the fake Twilio server; addresses are placed by the fake Nominatim.
"""

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from billing.models import InvoiceLine, RoyaltyStatement
from billing.services import royalty_statements_issue
from clients.models import Client, Lead, Site
from clients.services import client_create, site_create
from core import clock
from dispatch.models import Offer, Order
from dispatch.services import callout_start, order_place, order_update
from dispatch.services.onsite import AttendanceEntry, attendance_record, order_complete
from dispatch.tasks import run_due_steps
from franchises.models import Franchise, User
from franchises.services import franchise_save, user_create
from messaging.services import inbound_receive
from tests.fakes.nominatim_server import FakeNominatim
from tests.fakes.twilio_server import FakeTwilio
from workers.models import Worker
from workers.services import worker_create

from .conftest import Tab

pytestmark = pytest.mark.browser

NSK = ZoneInfo("Asia/Novosibirsk")
# Monday 2 November 2026, 10:00 in Novosibirsk.
MONDAY_10 = datetime(2026, 11, 2, 10, 0, tzinfo=NSK)
START_TYPED = "2026-11-03T08:00"
START = datetime(2026, 11, 3, 8, 0, tzinfo=NSK)
NEW_CALLER_ADDRESS = "Krasny prospekt 25, Novosibirsk"


@dataclass
class Scenario:
    virtual: clock.VirtualClock
    twilio: FakeTwilio
    nsk: Franchise
    operator: User
    manager: User
    foreman: User
    client: Client
    site: Site
    crew: list[Worker]
    statement: RoyaltyStatement


def _worked_october(virtual: clock.VirtualClock, site: Site, crew: list[Worker], *,
                    day: int) -> None:
    """A past order, staffed by SMS and completed, so the client is a repeat one and the
    franchise has an October turnover to owe a royalty on."""
    client, franchise = site.client, site.client.franchise
    start = datetime(2026, 10, day, 9, 0, tzinfo=ZoneInfo(franchise.timezone))
    virtual.set(start - timedelta(days=1))
    order = order_place(client=client, site=site, work_type="loading",
                        headcount=len(crew), start=start, hours=Decimal(6))
    callout_start(order=order)
    for worker in crew:
        inbound_receive(provider_sid=None, sender=str(worker.phone), body=f"YES {order.code}")
    virtual.advance(timedelta(minutes=5))
    run_due_steps()  # the sweeper: the batch assignment confirms the crew
    assert order.offers.filter(state=Offer.State.CONFIRMED).count() == len(crew)
    virtual.set(start + timedelta(minutes=5))
    attendance_record(order=order, entries=[
        AttendanceEntry(worker.pk, Offer.Attendance.PRESENT, None) for worker in crew])
    virtual.set(order.ends_at + timedelta(minutes=30))
    order_complete(order=order)


def _crew(names: list[str], first_phone: int, site: Site, hq: User) -> list[Worker]:
    return [
        worker_create(name=name, phone=f"+{first_phone + index}", skills=["loading"],
                      lat=site.lat + 0.002 * (index + 1), lng=site.lng,
                      status=Worker.Status.ACTIVE, created_by=hq)
        for index, name in enumerate(names)
    ]


@pytest.fixture
def scenario(request: Any, settings: Any, transactional_db: Any) -> Iterator[Scenario]:
    language = request.param
    virtual = clock.VirtualClock(datetime(2026, 10, 1, 9, 0, tzinfo=UTC))
    places = {NEW_CALLER_ADDRESS: {"lat": 55.0415, "lng": 82.9346,
                                   "display_name": "Красный проспект, 25, Новосибирск"}}
    with clock.use_clock(virtual), FakeTwilio() as twilio, FakeNominatim(places) as nominatim:
        settings.SMS_BACKEND = "twilio"
        settings.TWILIO_ACCOUNT_SID = twilio.account_sid
        settings.TWILIO_AUTH_TOKEN = twilio.auth_token
        settings.TWILIO_FROM_NUMBER = "+15005550006"
        settings.TWILIO_API_BASE = twilio.base_url
        settings.SMS_SENDER_RATE_PER_SECOND = 1000
        settings.GEOCODER = "nominatim"
        settings.NOMINATIM_DOMAIN = nominatim.domain
        settings.NOMINATIM_SCHEME = "http"
        settings.NOMINATIM_MIN_DELAY_SECONDS = 0
        settings.NOMINATIM_MAX_RETRIES = 0

        Franchise.objects.create(name="HQ", kind=Franchise.Kind.HQ, city="Moscow")
        box = request.getfixturevalue("territory_box")
        nsk = Franchise.objects.create(
            name="Novosibirsk office", kind=Franchise.Kind.OFFICIAL_OFFICE, city="Novosibirsk",
            timezone="Asia/Novosibirsk", territory=box(55.03, 82.92))
        spb = Franchise.objects.create(
            name="Saint Petersburg office", kind=Franchise.Kind.OFFICIAL_OFFICE,
            city="Saint Petersburg", territory=box(59.94, 30.31))
        for franchise in (nsk, spb):
            franchise.booking_ratio = Decimal(1)  # book exactly the headcount
            franchise_save(franchise=franchise)
        operator = user_create(username="operator", password="pw-12345", role="hq",
                               language=language)
        manager = user_create(username="nsk-manager", password="pw-12345", role="franchise",
                              franchise=nsk, language=language)
        foreman = user_create(username="nsk-foreman", password="pw-12345", role="foreman",
                              franchise=nsk, language=language)

        client = client_create(name="Sibirsky Dvor", franchise=nsk, phone="+73832000001")
        site = site_create(client=client, address="Stantsionnaya 30, Novosibirsk",
                           lat=55.01, lng=82.85)
        crew = _crew(["Ivan Petrov", "Oleg Smirnov", "Pavel Orlov"], 79130000001, site,
                     operator)
        _worked_october(virtual, site, crew, day=14)
        spb_client = client_create(name="Lenta warehouse", franchise=spb, phone="+78125550101")
        spb_site = site_create(client=spb_client, address="Sofiyskaya 6, Saint Petersburg",
                               lat=59.87, lng=30.42)
        spb_crew = _crew(["Anna Volkova", "Boris Sokolov"], 79210000001, spb_site, operator)
        _worked_october(virtual, spb_site, spb_crew, day=20)
        virtual.set(datetime(2026, 11, 1, 3, 0, tzinfo=UTC))
        royalty_statements_issue(period="2026-10")
        statement = RoyaltyStatement.objects.get(franchise=nsk, period="2026-10")
        virtual.set(MONDAY_10.astimezone(UTC))
        twilio.clear()
        yield Scenario(virtual=virtual, twilio=twilio, nsk=nsk, operator=operator,
                       manager=manager, foreman=foreman, client=client, site=site,
                       crew=crew, statement=statement)


def _visible(page: Any, selector: str) -> Any:
    locator = page.locator(selector)
    locator.first.wait_for(state="visible")
    return locator


def _amount(page: Any, selector: str) -> Decimal:
    return Decimal(page.locator(selector).get_attribute("data-amount"))


# What each page says, in each language (the Russian from locale/ru): a page that fell back
# to English in the Russian walk, or the other way round, fails.
WORDS = {
    "intake": {"en": ["New order", "Place and call out"],
               "ru": ["Новый заказ", "Оформить и начать обзвон"]},
    "phone": {"en": ["Phone simulator", "Number"], "ru": ["Симулятор телефона", "Номер"]},
    "board": {"en": ["Confirmed"], "ru": ["Подтверждено"]},
    "crews": {"en": ["Crews today and tomorrow"], "ru": ["Бригады на сегодня и завтра"]},
    "crew": {"en": ["Present", "No-show"], "ru": ["На месте", "Неявка"]},
    "worker": {"en": ["Rating (0-5)", "Rating events"],
               "ru": ["Рейтинг (0-5)", "События рейтинга"]},
    "order": {"en": ["What was ordered"], "ru": ["Что заказано"]},
    "dashboard": {"en": ["Turnover", "Royalty statements", "Record payment"],
                  "ru": ["Оборот", "Ведомости роялти", "Записать платёж"]},
    "leads": {"en": ["Accept"], "ru": ["Принять"]},
    "network": {"en": ["Network median"], "ru": ["Медиана сети"]},
}


def _speaks(tab: Tab, language: str, page_name: str) -> None:
    """The page is in the user's language: `<html lang>`, and its words."""
    page = tab.page
    assert page.locator("html").get_attribute("lang") == language, tab.path()
    text = page.locator("body").text_content()
    for words in WORDS[page_name][language]:
        assert words in text, f"{words!r} not on {tab.path()}"


@pytest.mark.parametrize("scenario", ["en", "ru"], indirect=True)
def test_a_day_in_the_console(scenario: Scenario, browse: Any, shoot: Any) -> None:
    language = scenario.operator.language
    began = time.monotonic()
    order = _operator_places_the_order(scenario, browse(language), shoot)
    _workers_answer_on_the_phone(scenario, browse(language), order)
    _board_shows_the_crew_confirmed(scenario, browse(language), order, shoot)
    no_show = _foreman_checks_the_crew_in(scenario, browse(language, phone=True), order, shoot)
    manager = browse(language)
    manager.log_in(scenario.manager.username)
    _profile_shows_the_rating_drop(scenario, manager, no_show)
    _order_completed_and_dashboard_shows_the_money(scenario, manager, order, shoot)
    _lead_accepted_from_the_inbox(scenario, browse(language), manager, shoot)
    _statement_paid(scenario, manager)
    _network_view(scenario, browse(language), shoot)
    print(f"\nthe walk in {language}: {time.monotonic() - began:.1f} s")


# --- 1. the operator places a repeat client's order, typing the local time -------------------

def _operator_places_the_order(scenario: Scenario, desk: Tab, shoot: Any) -> Order:
    language = scenario.operator.language
    desk.log_in(scenario.operator.username)
    assert desk.path() == "/board/"  # HQ lands on the console's board
    page = desk.open("/orders/new/")
    _speaks(desk, language, "intake")
    page.locator("#id_phone").press_sequentially("+7 383 200-00-01", delay=20)
    pick = _visible(page, f"#client-{scenario.client.pk}")
    pick.check()
    # The client's franchise serves the order: its zone is named by the start field, and
    # the client's usual site is picked for the operator.
    _visible(page, f"#serving-franchise[data-franchise='{scenario.nsk.pk}']")
    _visible(page, "#start-zone[data-zone='Asia/Novosibirsk']")
    assert page.locator(f"#site-{scenario.site.pk}").is_checked()
    page.fill("#id_headcount", "3")
    page.fill("#id_start", START_TYPED)
    page.fill("#id_hours", "8")
    page.locator("#id_hours").blur()
    _visible(page, "#quote-total")
    shoot(desk, f"{language}-intake")
    with page.expect_navigation():
        page.click("#place-order")

    order = Order.objects.get(client=scenario.client, start__gte=MONDAY_10)
    # Stored as 08:00 in Novosibirsk (01:00 UTC), not 08:00 UTC.
    assert order.start.astimezone(NSK) == START
    assert order.start == datetime(2026, 11, 3, 1, 0, tzinfo=UTC)
    assert (order.site, order.franchise, order.status) == (
        scenario.site, scenario.nsk, Order.Status.CALLING)
    assert desk.path() == f"/orders/{order.pk}/"
    shown = page.locator("#order-start")
    assert "08:00" in shown.inner_text()
    assert shown.get_attribute("datetime").startswith("2026-11-03T08:00:00+07:00")
    assert order.offers.count() == 3
    assert {message.to for message in scenario.twilio.messages} == {
        str(worker.phone) for worker in scenario.crew}
    return order


# --- 2. the call-out runs; the workers answer on the phone simulator -------------------------

def _workers_answer_on_the_phone(scenario: Scenario, phone: Tab, order: Order) -> None:
    language = scenario.operator.language
    phone.log_in(scenario.operator.username)
    page = phone.open(f"/phone/?order={order.code}")
    _speaks(phone, language, "phone")
    invitees = _visible(page, "#phone-invitees a[data-phone]")
    assert invitees.count() == 3
    # Three ways to say yes (CONTRACT.md's grammar): Latin with the code, Cyrillic, and a
    # bare "1" that applies to the worker's only open offer.
    replies = [f"YES {order.code}", f"ДА {order.code.lower()}", "1"]
    for worker, reply in zip(scenario.crew, replies, strict=True):
        page.click(f"#phone-invitees a[data-phone='{worker.phone}']")
        _visible(page, f"#phone-title[data-phone='{worker.phone}']")
        offer_text = page.locator("#phone-thread li[data-direction='out']").first
        assert order.code in offer_text.inner_text()
        page.fill("#phone-body", reply)
        with page.expect_navigation():
            page.click("#phone-send")
        newest = page.locator("#phone-thread li").nth(1)
        assert newest.get_attribute("data-direction") == "in"
        assert reply in newest.inner_text()
        # The system's answer to the reply is the newest text on the phone.
        assert page.locator("#phone-thread li").first.get_attribute("data-direction") == "out"
    answers = set(order.offers.values_list("response", "channel"))
    assert answers == {(Offer.Response.ACCEPTED, Offer.Channel.SMS)}, answers


# --- 3. the board shows the crew confirmed, without a reload -----------------------------------

def _board_shows_the_crew_confirmed(scenario: Scenario, board: Tab, order: Order,
                                    shoot: Any) -> None:
    language = scenario.operator.language
    board.log_in(scenario.operator.username)
    page = board.open("/board/?day=2026-11-03")
    _speaks(board, language, "board")
    row = _visible(page, f"#order-{order.pk}")
    assert row.locator("[data-count='accepted']").inner_text() == "3"
    assert row.locator("[data-count='confirmed']").inner_text() == "0"
    page.evaluate("window.notReloaded = true")

    # The batch window closes; the sweeper runs the assignment.
    scenario.virtual.advance(timedelta(minutes=settings.DISPATCH["BATCH_WINDOW_MINUTES"] + 1))
    assert run_due_steps() >= 1

    confirmed = page.locator(f"#order-{order.pk} [data-count='confirmed']")
    confirmed.filter(has_text=re.compile(r"^\s*3\s*$")).wait_for()
    assert page.evaluate("window.notReloaded") is True  # htmx swapped the rows in place
    status = page.locator(f"#order-{order.pk}").get_attribute("data-status")
    assert status == Order.Status.FILLED
    shoot(board, f"{language}-board")


# --- 4. the foreman checks the crew in on his phone, one of them a no-show -------------------

def _foreman_checks_the_crew_in(scenario: Scenario, foreman: Tab, order: Order,
                                shoot: Any) -> Worker:
    language = scenario.operator.language
    # The office names the order's foreman through the API (`PATCH orders/{id}/`): the
    # console's pages have no field for it.
    order_update(order=order, foreman=scenario.foreman)
    scenario.virtual.set(START.astimezone(UTC) + timedelta(minutes=10))
    foreman.log_in(scenario.foreman.username)
    page = foreman.page
    assert foreman.path() == "/crew/"  # a foreman lands on his crews
    _speaks(foreman, language, "crews")
    with page.expect_navigation():
        page.click(f"a[href='/crew/{order.pk}/']")
    present, no_show = scenario.crew[:2], scenario.crew[2]
    for worker, status in [(present[0], "present"), (present[1], "present"),
                           (no_show, "no_show")]:
        card = page.locator(f"#worker-{worker.pk}")
        with page.expect_navigation():
            card.locator(f"button[name='status'][value='{status}']").click()
        pressed = page.locator(f"#worker-{worker.pk} button[value='{status}']")
        assert pressed.get_attribute("aria-pressed") == "true"
    _speaks(foreman, language, "crew")
    page.evaluate("window.scrollTo(0, 0)")
    shoot(foreman, f"{language}-crew-phone")
    attendance = dict(order.offers.values_list("worker_id", "attendance"))
    assert attendance == {present[0].pk: "present", present[1].pk: "present",
                          no_show.pk: "no_show"}
    return no_show


# --- 5. the worker's profile shows the rating drop ------------------------------------------

def _profile_shows_the_rating_drop(scenario: Scenario, manager: Tab, no_show: Worker) -> None:
    language = scenario.operator.language
    page = manager.open(f"/workers/{no_show.pk}/")
    _speaks(manager, language, "worker")
    event = _visible(page, "#rating-events tr[data-kind='no_show']")
    before = Decimal(event.get_attribute("data-rating-before"))
    after = Decimal(event.get_attribute("data-rating-after"))
    assert after < before
    assert Decimal(page.locator("#worker-rating").get_attribute("data-rating")) == after
    assert page.locator("#worker-no-shows").inner_text() == "1"
    no_show.refresh_from_db()
    assert Decimal(f"{no_show.rating:.2f}") == after


# --- 6. the order is completed; the dashboard shows the turnover and the royalty ------------

def _order_completed_and_dashboard_shows_the_money(scenario: Scenario, manager: Tab,
                                                   order: Order, shoot: Any) -> None:
    language = scenario.operator.language
    order.refresh_from_db()
    scenario.virtual.set(order.ends_at + timedelta(minutes=30))
    page = manager.open(f"/orders/{order.pk}/")
    with page.expect_navigation():
        page.click("#order-complete")
    _visible(page, "#order-live[data-status='completed']")
    _visible(page, "#invoice-total")
    _speaks(manager, language, "order")
    shoot(manager, f"{language}-order")

    invoiced = sum((line.amount for line in InvoiceLine.objects.filter(order=order)),
                   Decimal(0))
    assert invoiced == Decimal(2 * 8) * order.bill_rate  # two present for the whole shift
    page = manager.open("/dashboard/")
    _speaks(manager, language, "dashboard")
    turnover = _amount(page, "#mtd-turnover")
    royalty = _amount(page, "#mtd-royalty")
    assert turnover == invoiced
    assert royalty == (turnover * scenario.nsk.royalty_rate).quantize(Decimal("0.01"))
    assert royalty > 0
    shown = page.locator("#month-to-date").inner_text()
    assert re.sub(r"\D", "", f"{turnover:.2f}") in re.sub(r"\D", "", shown)
    shoot(manager, f"{language}-dashboard")


# --- 7. a lead is accepted from the inbox -----------------------------------------------------

def _lead_accepted_from_the_inbox(scenario: Scenario, desk: Tab, manager: Tab,
                                  shoot: Any) -> None:
    language = scenario.operator.language
    desk.log_in(scenario.operator.username)
    page = desk.open("/orders/new/")
    page.locator("#id_phone").press_sequentially("+7 913 555-44-33", delay=20)
    _visible(page, "#no-match")
    page.fill("#id_client_name", "Tsvetochny market")
    page.fill("#id_address", NEW_CALLER_ADDRESS)
    page.fill("#id_headcount", "2")
    page.fill("#id_start", "2026-11-05T09:00")
    page.fill("#id_hours", "4")
    page.locator("#id_hours").blur()
    # The address is placed by the geocoder, and the network's franchise for it is named.
    found = _visible(page, "#place-found")
    assert (found.get_attribute("data-lat"), found.get_attribute("data-lng")) == (
        "55.04150", "82.93460")
    _visible(page, "#serving-by-territory")
    with page.expect_navigation():
        page.click("#hand-as-lead")
    lead = Lead.objects.get(phone="+79135554433")
    assert lead.franchise == scenario.nsk  # by its territory
    assert lead.status == Lead.Status.OFFERED
    assert lead.start.astimezone(NSK) == datetime(2026, 11, 5, 9, 0, tzinfo=NSK)

    page = manager.open("/leads/")
    _speaks(manager, language, "leads")
    row = _visible(page, f"#leads-waiting #lead-{lead.pk}")
    assert "Tsvetochny market" in row.inner_text()
    shoot(manager, f"{language}-leads")
    with page.expect_navigation():
        page.click(f"#accept-lead-{lead.pk}")
    # Accepting makes the lead the franchise's order, and opens its page.
    lead.refresh_from_db()
    assert lead.status == Lead.Status.ACCEPTED
    made = Order.objects.get(lead=lead)
    assert manager.path() == f"/orders/{made.pk}/"
    assert made.start.astimezone(NSK) == datetime(2026, 11, 5, 9, 0, tzinfo=NSK)
    assert "09:00" in page.locator("#order-start").inner_text()


# --- 8. a payment is recorded on a statement -------------------------------------------------

def _statement_paid(scenario: Scenario, manager: Tab) -> None:
    statement = scenario.statement
    page = manager.open("/dashboard/")
    row = _visible(page, f"#statement-{statement.pk}")
    assert row.get_attribute("data-status") != RoyaltyStatement.Status.PAID
    form = _visible(page, f"#pay-{statement.pk}")
    # The form offers what is outstanding, typed as the page's language writes numbers.
    offered = form.locator(f"#pay-{statement.pk}-amount").input_value()
    assert Decimal(re.sub(r"[^\d.,]", "", offered).replace(",", ".")) == statement.total
    form.locator(f"#pay-{statement.pk}-paid_on").fill("2026-11-03")
    with page.expect_navigation():
        page.click(f"#pay-{statement.pk}-submit")
    row = _visible(page, f"#statement-{statement.pk}")
    assert row.get_attribute("data-status") == RoyaltyStatement.Status.PAID
    assert Decimal(row.get_attribute("data-outstanding")) == 0
    statement.refresh_from_db()
    assert statement.status == RoyaltyStatement.Status.PAID
    assert statement.payments.get().paid_on == date(2026, 11, 3)


# --- HQ's network view (for the screenshots, and checked like every page) ------------------

def _network_view(scenario: Scenario, hq: Tab, shoot: Any) -> None:
    hq.log_in(scenario.operator.username)
    page = hq.open("/network/?month=2026-11")
    _speaks(hq, scenario.operator.language, "network")
    _visible(page, f"#benchmark [data-franchise='{scenario.nsk.pk}']")
    shoot(hq, f"{scenario.operator.language}-network")
