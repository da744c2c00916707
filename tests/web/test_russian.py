"""The console in Russian: every page a person works on reads in Russian for a user whose
language is Russian, and for a browser that asks for Russian before anyone logs in; the
language switch changes it; English stays English. The catalogue itself is complete: no
entry untranslated or fuzzy, every placeholder kept.

The clock is virtual: NOW is noon in Saint Petersburg; the order starts at 09:00 local
tomorrow (11 March 2030).
"""

import gettext
import re
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client as Browser
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from clients.models import Lead
from clients.services import lead_create, site_create
from core import clock
from dispatch.models import Offer, Order
from dispatch.services.onsite import AttendanceEntry, attendance_record
from franchises.models import Franchise, User
from franchises.services import user_create
from ratings.rules import _Count, explain
from ratings.scoring import RatingParams
from tests.dispatch.conftest import NOW, START, Desk
from web.catalogue import Catalogue, compiled_mismatches, parse, placeholders, problems
from web.templatetags.hours import hours
from workers.models import Worker

pytestmark = pytest.mark.django_db

PO = Path(settings.BASE_DIR) / "locale" / "ru" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


@pytest.fixture
def desk(spb: Franchise, spb_client: Any, hq_franchise: Franchise) -> Iterator[Desk]:
    spb.manager_phone = "+79110009999"
    spb.save(update_fields=["manager_phone"])
    virtual = clock.VirtualClock(NOW)
    with clock.use_clock(virtual):
        site = site_create(client=spb_client, address="Sofiyskaya 6, Saint Petersburg",
                           lat=59.87, lng=30.42)
        yield Desk(franchise=spb, client=spb_client, site=site, virtual_clock=virtual)


@pytest.fixture
def scene(desk: Desk) -> dict[str, Any]:
    """An order of the Saint Petersburg office with a crew of three booked, a lead waiting
    in the office's inbox, and the people who work on them."""
    people = {
        role: user_create(username=f"spb-{role}", password="pw-12345", role=role,
                          franchise=desk.franchise)
        for role in ("franchise", "foreman", "recruiter")
    }
    people["hq"] = user_create(username="hq", password="pw-12345", role="hq")
    crew = desk.workers(3, language="ru")
    order = desk.book(desk.order(2, foreman=people["foreman"]), crew)
    lead = lead_create(contact_name="Anna Smirnova", phone="+79215550000",
                       address="Sofiyskaya 6, Saint Petersburg", work_type="loading",
                       headcount=4, start=START.replace(tzinfo=None) + timedelta(hours=3),
                       hours=Decimal(6), lat=59.87, lng=30.42)
    return {"order": order, "crew": crew, "lead": lead, "people": people, "desk": desk}


def as_user(user: User, language: str) -> Browser:
    user.language = language
    user.save(update_fields=["language"])
    browser = Browser()
    browser.force_login(user)
    return browser


def read(browser: Browser, url: str, **headers: Any) -> str:
    response = browser.get(url, **headers)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def html_lang(page: str) -> str:
    found = re.search(r'<html lang="([^"]+)">', page)
    assert found is not None
    return found.group(1)


def text_of(page: str) -> str:
    """The page's words as a reader sees them: tags gone, spaces collapsed."""
    words = re.sub(r"<[^>]+>", " ", page)
    return re.sub(r"\s+", " ", words).replace("&nbsp;", " ")


def pages(scene: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    """(role, address, texts a Russian reader finds there) for each page of the day's work."""
    order, lead, worker = scene["order"], scene["lead"], scene["crew"][0]
    return [
        ("hq", "/board/?day=2030-03-11",
         ["Заказы на 11 марта 2030 (Пн)", "Табло", "Нужно", "Начать обзвон"
          if order.status == Order.Status.DRAFT else "Укомплектован"]),
        ("franchise", "/orders/new/",
         ["Новый заказ", "Телефон звонящего", "Оформить и начать обзвон",
          "Передать в сеть как лид"]),
        ("franchise", f"/orders/{order.pk}/",
         [f"Заказ {order.code}", "Хронология", "Ставки в час",
          "клиент 220,00 · работник 100,00 RUB", "Пн, 11 марта 09:00 MSK", "Подтверждено"]),
        ("franchise", "/leads/",
         ["1 лид ждёт вашего ответа", "Принять", "Осталось времени",
          "Не хватает: в радиусе 35 км живут 3 подходящих работника, а мест — 4."]),
        ("franchise", f"/leads/{lead.pk}/",
         [f"Лид №{lead.pk}", "Маршрут", "Принять: оформить заказ"]),
        ("franchise", "/dashboard/",
         ["Бригады на сегодня и завтра", "Завтра", "Ведомости роялти", "Сводка",
          "Текущий месяц (март 2030 г.)"]),
        ("hq", "/network/",
         ["Просроченные ведомости", "Просроченных ведомостей нет.", "Сеть, март 2030 г."]),
        ("recruiter", "/workers/", ["Работники", "Найдено 3 работника", "Найти", "Сбросить"]),
        ("hq", f"/workers/{worker.pk}/",
         ["Рейтинг (0-5)", "Надёжность (0-1)", "События рейтинга", "Собеседования"]),
        ("foreman", "/crew/", ["Бригады", "Завтра 09:00 MSK"]),
        ("foreman", f"/crew/{order.pk}/",
         ["Нужно 2 · на месте 0", "Явка отмечается с Пн, 11 марта 08:00"]),
        ("recruiter", "/recruit/", ["Новый кандидат", "Добавить кандидата", "Язык SMS"]),
        ("hq", "/ratings/rules/",
         ["Как считаются надёжность и рейтинг", "Пример расчёта", "4,36 - 1,50 = 2,86",
          "2 неявки за 30 дней"]),
    ]


# --- A Russian user, a Russian browser ------------------------------------------------------


class TestRussianPages:
    def test_a_user_whose_language_is_russian_reads_every_page_in_russian(
            self, scene: dict[str, Any]) -> None:
        for role, url, texts in pages(scene):
            page = read(as_user(scene["people"][role], "ru"), url)
            assert html_lang(page) == "ru", url
            words = text_of(page)
            for text in texts:
                assert text in words, (url, text)

    def test_the_price_and_how_it_was_reached_read_in_russian(
            self, scene: dict[str, Any]) -> None:
        """The intake's live fragments speak the page's language too: the rate card's steps
        are written from the quote's data, not from its English words."""
        terms = {"work_type": "loading", "headcount": "3", "start": "2030-03-11T09:00",
                 "hours": "6", "conditions": "outdoor"}
        browser = as_user(scene["people"]["franchise"], "ru")
        words = text_of(browser.get("/orders/new/quote/", terms).content.decode())
        for text in ("ставка для клиента за человеко-час", "итого за 3 × 6 ч",
                     "база: клиенту 220,00/ч, работнику 100,00/ч", "на улице ×1,20"):
            assert text in words, text
        browser = as_user(scene["people"]["franchise"], "en")
        words = text_of(browser.get("/orders/new/quote/", terms).content.decode())
        assert "base 220.00/h bill, 100.00/h pay" in words
        assert "outdoor x1.20" in words

    def test_the_users_language_wins_over_the_browsers(self, scene: dict[str, Any]) -> None:
        page = read(as_user(scene["people"]["hq"], "ru"), "/board/",
                    HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
        assert html_lang(page) == "ru"
        assert "Табло" in text_of(page)

    def test_a_browser_asking_for_russian_gets_the_login_page_in_russian(
            self, client: Browser) -> None:
        page = read(client, "/accounts/login/", HTTP_ACCEPT_LANGUAGE="ru-RU,ru;q=0.9,en;q=0.5")
        assert html_lang(page) == "ru"
        words = text_of(page)
        for text in ("Войти", "Логин", "Пароль", "Диспетчерская бригад"):
            assert text in words

    def test_a_user_without_a_language_follows_the_russian_browser(
            self, scene: dict[str, Any]) -> None:
        browser = as_user(scene["people"]["franchise"], "")
        page = read(browser, "/dashboard/", HTTP_ACCEPT_LANGUAGE="ru")
        assert html_lang(page) == "ru"
        assert "Бригады на сегодня и завтра" in text_of(page)
        english = read(browser, "/dashboard/", HTTP_ACCEPT_LANGUAGE="en")
        assert html_lang(english) == "en"
        assert "Crews today and tomorrow" in text_of(english)

    def test_the_login_form_answers_a_wrong_password_in_russian(self, scene: Any,
                                                                 client: Browser) -> None:
        response = client.post("/accounts/login/", {"username": "hq", "password": "wrong"},
                               HTTP_ACCEPT_LANGUAGE="ru")
        assert response.status_code == 200
        assert "Пожалуйста, введите правильные" in text_of(response.content.decode())

    def test_a_form_error_and_a_message_read_in_russian(self, scene: dict[str, Any]) -> None:
        browser = as_user(scene["people"]["recruiter"], "ru")
        response = browser.get("/workers/", {"phone": "12"})
        assert "Введите не меньше" in text_of(response.content.decode())
        order = scene["order"]
        browser = as_user(scene["people"]["hq"], "ru")
        response = browser.post(f"/board/{order.pk}/cancel/", {"confirm": "1"}, follow=True)
        assert response.status_code == 200
        assert f"Заказ {order.code} отменён; 3 работника получат SMS." in text_of(
            response.content.decode())


    def test_an_address_that_cannot_be_placed_is_said_in_russian_next_to_the_field(
            self, scene: dict[str, Any]) -> None:
        browser = as_user(scene["people"]["recruiter"], "ru")
        response = browser.post("/recruit/", {
            "name": "Иван Петров", "phone": "8 912 345-67-89", "skills": ["loading"],
            "home_area": "Nowhere street 999, Atlantis", "language": "ru"})
        assert response.status_code == 200
        field = response.content.decode().split('name="home_area"', 1)[1].split("</div>", 1)[0]
        assert "Этот адрес не найден." in field
        assert "Сохранить без точки проживания" in field
        browser = as_user(scene["people"]["franchise"], "ru")
        place = text_of(browser.get("/orders/new/place/",
                                    {"address": "Nowhere street 999, Atlantis"}).content.decode())
        assert "Этот адрес не найден." in place
        assert "lat" not in place


class TestEnglishStays:
    def test_a_user_whose_language_is_english_reads_english(
            self, scene: dict[str, Any]) -> None:
        order = scene["order"]
        for role, url, texts in [
            ("hq", "/board/?day=2030-03-11", ["Orders of Mon 11 Mar 2030", "Need"]),
            ("franchise", f"/orders/{order.pk}/",
             [f"Order {order.code}", "Timeline", "client 220.00 · worker 100.00 RUB",
              "Mon 11 Mar 09:00 MSK"]),
            ("franchise", "/leads/",
             ["1 lead waiting for your answer",
              "Not enough: 3 suitable workers within 35 km for 4 places."]),
            ("foreman", f"/crew/{order.pk}/", ["Need 2 · present 0"]),
            ("hq", "/ratings/rules/", ["Worked example", "4.36 - 1.50 = 2.86"]),
        ]:
            page = read(as_user(scene["people"][role], "en"), url,
                        HTTP_ACCEPT_LANGUAGE="ru")
            assert html_lang(page) == "en", url
            words = text_of(page)
            for text in texts:
                assert text in words, (url, text)
            assert "Заказ" not in words, url


class TestLanguageSwitch:
    def test_the_switch_turns_the_pages_russian_and_back_and_keeps_the_choice(
            self, scene: dict[str, Any]) -> None:
        user = scene["people"]["franchise"]
        browser = as_user(user, "en")
        assert "Crews today and tomorrow" in text_of(read(browser, "/dashboard/"))
        response = browser.post("/language/", {"language": "ru", "next": "/dashboard/"})
        assert response.status_code == 302
        assert response["Location"] == "/dashboard/"
        page = read(browser, "/dashboard/")
        assert html_lang(page) == "ru"
        assert "Бригады на сегодня и завтра" in text_of(page)
        user.refresh_from_db()
        assert user.language == "ru"  # the next login, from any browser, is Russian too
        browser.post("/language/", {"language": "en", "next": "/dashboard/"})
        page = read(browser, "/dashboard/")
        assert html_lang(page) == "en"
        assert "Crews today and tomorrow" in text_of(page)

    def test_an_anonymous_switch_sets_the_language_cookie_for_the_login_page(
            self, client: Browser) -> None:
        response = client.post("/language/", {"language": "ru", "next": "/accounts/login/"})
        assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ru"
        page = read(client, "/accounts/login/")
        assert html_lang(page) == "ru"
        assert "Пароль" in text_of(page)

    def test_the_switch_offers_both_languages_with_the_current_one_chosen(
            self, scene: dict[str, Any]) -> None:
        page = read(as_user(scene["people"]["hq"], "ru"), "/board/")
        assert '<option value="ru" selected>Русский</option>' in page
        assert '<option value="en">English</option>' in page


class TestRussianFormats:
    def test_money_and_decimals_use_the_russian_comma(
            self, scene: dict[str, Any]) -> None:
        order = scene["order"]
        Order.objects.filter(pk=order.pk).update(bill_rate=Decimal("1250.50"))
        page = text_of(read(as_user(scene["people"]["franchise"], "ru"), f"/orders/{order.pk}/"))
        assert "клиент 1250,50 · работник 100,00 RUB" in page

    def test_the_show_up_fee_on_the_crew_page_has_the_russian_comma(
            self, scene: dict[str, Any]) -> None:
        desk: Desk = scene["desk"]
        Franchise.objects.filter(pk=desk.franchise.pk).update(show_up_fee=Decimal("275.50"))
        order = scene["order"]
        desk.at(START + timedelta(minutes=5))
        attendance_record(order=order, entries=[
            AttendanceEntry(worker.pk, Offer.Attendance.PRESENT) for worker in scene["crew"]])
        words = text_of(read(as_user(scene["people"]["foreman"], "ru"), f"/crew/{order.pk}/"))
        assert "Уходят домой с компенсацией за выход 275,50 RUB" in words
        assert "Отпустить домой (SMS: компенсация 275,50 RUB)" in words

    def test_hours_worked_read_with_the_pages_decimal_mark(self) -> None:
        with translation.override("ru"):
            assert [hours(Decimal(v)) for v in ("7.25", "7.50", "6")] == ["7,25", "7,5", "6,0"]
        with translation.override("en"):
            assert [hours(Decimal(v)) for v in ("7.25", "7.50", "6")] == ["7.25", "7.5", "6.0"]

    def test_days_are_written_the_russian_way_in_the_franchises_zone(
            self, scene: dict[str, Any], nsk: Franchise) -> None:
        """09:00 in Saint Petersburg is 13:00 in Novosibirsk: each order reads in its own
        franchise's time, whatever the page's language."""
        desk: Desk = scene["desk"]
        nsk_site = site_create(client=desk.client, address="Lenina 1, Novosibirsk",
                               lat=55.03, lng=82.92)
        Order.objects.filter(pk=scene["order"].pk).update(site=nsk_site, franchise=nsk)
        page = text_of(read(as_user(scene["people"]["hq"], "ru"),
                            f"/orders/{scene['order'].pk}/"))
        assert "Пн, 11 марта 13:00 UTC+07" in page


# --- The catalogue ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return parse(PO.read_text(encoding="utf-8"))


class TestCatalogue:
    def test_every_entry_is_translated_and_none_is_fuzzy(self, catalogue: Catalogue) -> None:
        assert len(catalogue.entries) > 600
        untranslated = [e.label() for e in catalogue.entries if not all(e.translations)]
        fuzzy = [e.label() for e in catalogue.entries if e.fuzzy]
        assert untranslated == []
        assert fuzzy == []
        assert not catalogue.header.fuzzy

    def test_russian_has_three_plural_forms_and_every_plural_entry_all_three(
            self, catalogue: Catalogue) -> None:
        assert catalogue.plural_forms == 3
        plurals = [e for e in catalogue.entries if e.msgid_plural is not None]
        assert plurals
        for entry in plurals:
            assert sorted(entry.msgstr_plural) == [0, 1, 2], entry.label()

    def test_every_translation_keeps_exactly_the_placeholders_of_its_english(
            self, catalogue: Catalogue) -> None:
        """Over every entry: the figures and names a page fills in must all reach the
        Russian text, and no placeholder may appear that the code does not fill."""
        checked = 0
        for entry in catalogue.entries:
            wanted = set(placeholders(entry.msgid))
            if entry.msgid_plural is not None:
                wanted |= set(placeholders(entry.msgid_plural))
            if "python-format" not in entry.flags:
                assert wanted == set(), entry.label()
            for text in entry.translations:
                assert set(placeholders(text)) == wanted, (entry.label(), text)
                checked += 1
        assert checked > 600

    def test_the_checker_finds_nothing_to_fix(self, catalogue: Catalogue) -> None:
        assert problems(catalogue) == []

    def test_the_compiled_catalogue_is_the_po(self, catalogue: Catalogue) -> None:
        assert compiled_mismatches(catalogue, MO) == []

    def test_every_model_label_a_page_shows_is_in_russian(self) -> None:
        with translation.override("ru"):
            for choices in (Order.Status, Offer.State, Offer.Attendance, Lead.Status,
                            Worker.Status, User.Role, Franchise.Kind):
                for value, label in choices.choices:
                    assert re.search("[а-яё]", str(label), re.IGNORECASE), (choices, value)


SAMPLE = r'''# A header comment
msgid ""
msgstr ""
"Language: ru\n"
"Plural-Forms: nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && "
"n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);\n"

msgid "Board"
msgstr "Табло"

#, python-format
msgid "Order %(code)s"
msgstr ""

#, fuzzy, python-format
#| msgid "Crew %(code)s"
msgid "Crew of %(code)s"
msgstr "Бригада %(code)s"

#, python-format
msgid "%(name)s is sent home: fee %(fee)s."
msgstr "%(name)s отпущен домой."

#, python-format
msgid "%(total)s order"
msgid_plural "%(total)s orders"
msgstr[0] "%(total)s заказ"
msgstr[1] "%(total)s заказа"

msgctxt "interview"
msgid "Failed"
msgstr "Не прошёл"

msgid ""
"A long text "
"over lines, with a \"quote\"."
msgstr "Длинный текст с «кавычками»."

#~ msgid "Gone"
#~ msgstr "Ушло"
'''


class TestTheChecker:
    """The parser and the checks `make lint` relies on, on a catalogue with one fault of
    each kind."""

    def test_it_reads_contexts_continued_strings_and_escapes_and_skips_obsolete_entries(
            self) -> None:
        catalogue = parse(SAMPLE)
        keys = [entry.key for entry in catalogue.entries]
        assert keys == ["Board", "Order %(code)s", "Crew of %(code)s",
                        "%(name)s is sent home: fee %(fee)s.", "%(total)s order",
                        "interview\x04Failed", 'A long text over lines, with a "quote".']
        assert catalogue.plural_forms == 3
        assert "Language: ru\n" in catalogue.header.msgstr

    def test_it_names_each_fault(self) -> None:
        found = {(problem.entry.msgid, problem.what) for problem in problems(parse(SAMPLE))}
        assert found == {
            ("Order %(code)s", "untranslated"),
            ("Crew of %(code)s", "fuzzy"),
            ("%(name)s is sent home: fee %(fee)s.",
             "placeholders ['%(fee)s', '%(name)s'] but the translation has ['%(name)s']"),
            ("%(total)s order", "needs 3 plural forms"),
        }

    @given(st.lists(st.tuples(st.text(min_size=1, max_size=40), st.text(max_size=40),
                              st.sampled_from([None, "interview", "status"]),
                              st.integers(min_value=1, max_value=5)),
                    min_size=1, max_size=6, unique_by=lambda t: (t[2], t[0])))
    def test_whatever_the_text_it_reads_back_what_was_written(
            self, written: list[tuple[str, str, str | None, int]]) -> None:
        """Quotes, backslashes, tabs and newlines escaped, strings cut over several lines at
        any point: the parser gives back each entry's context, msgid and msgstr."""

        def literal(text: str, pieces: int) -> str:
            escaped = (text.replace("\\", "\\\\").replace('"', '\\"')
                       .replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r"))
            cut = max(1, len(escaped) // pieces)
            parts = [escaped[i:i + cut] for i in range(0, len(escaped), cut)] or [""]
            # a cut must not split an escape: keep a trailing backslash with what follows
            joined: list[str] = []
            for part in parts:
                if joined and (len(joined[-1]) - len(joined[-1].rstrip("\\"))) % 2:
                    joined[-1] += part
                else:
                    joined.append(part)
            if len(joined) == 1:
                return f'"{joined[0]}"'
            return '""\n' + "\n".join(f'"{part}"' for part in joined)

        blocks = ['msgid ""\nmsgstr "Plural-Forms: nplurals=3; plural=0;\\n"']
        for msgid, msgstr, context, pieces in written:
            head = f"msgctxt {literal(context, 1)}\n" if context else ""
            blocks.append(f"#, python-format\n{head}msgid {literal(msgid, pieces)}\n"
                          f"msgstr {literal(msgstr, pieces)}")
        catalogue = parse("\n\n".join(blocks) + "\n")
        assert [(e.msgctxt, e.msgid, e.msgstr) for e in catalogue.entries] == [
            (context, msgid, msgstr) for msgid, msgstr, context, _ in written]
        assert all("python-format" in e.flags for e in catalogue.entries)

    def test_a_stale_compiled_catalogue_is_caught(self, tmp_path: Path,
                                                  catalogue: Catalogue) -> None:
        assert compiled_mismatches(catalogue, tmp_path / "missing.mo") == [
            f"{tmp_path / 'missing.mo'} is missing"]
        changed = parse(PO.read_text(encoding="utf-8").replace(
            'msgstr "Табло"', 'msgstr "Доска"'))
        assert compiled_mismatches(changed, MO) == ["'Board' is compiled differently or not "
                                                    "at all"]


# --- The published rating rules in Russian ------------------------------------------------------


class TestRussianRules:
    @given(st.integers(min_value=0, max_value=100_000))
    def test_a_count_takes_the_noun_form_the_catalogue_picks_for_it(self, n: int) -> None:
        """The rules' own declension and the catalogue's Plural-Forms agree on every number."""
        formula = re.search(r"plural=([^;]+);", parse(PO.read_text(encoding="utf-8"))
                            .header.msgstr)
        assert formula is not None
        form = gettext.c2py(formula.group(1))(n)
        assert format(_Count(n), "неявка|неявки|неявок") == (
            f"{n} {('неявка', 'неявки', 'неявок')[form]}")
        assert format(_Count(n), "") == str(n)

    def test_the_words_follow_the_parameters_in_good_russian(self) -> None:
        text = explain(RatingParams(suspension_no_shows=5, penalty_clean_shifts=21,
                                    shift_memory=1.0), "ru")
        assert "5 неявок за 30 дней отстраняют работника" in text
        assert "после 21 чистой смены" in text
        assert "все когда-либо отработанные смены весят одинаково" in text
        assert "Пример расчёта" in text
        assert "03 марта" not in text
        assert "3 марта" in text

    def test_english_is_the_default_and_unknown_languages_get_english(self) -> None:
        english = explain(RatingParams())
        assert explain(RatingParams(), "en-gb") == english
        assert explain(RatingParams(), "de") == english
        assert explain(RatingParams(), "ru-RU") == explain(RatingParams(), "ru") != english
