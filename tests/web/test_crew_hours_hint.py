"""The crew page's hours hint says what a blank field does: the whole shift for someone with no
hours yet, the hours already recorded for someone who has them (a blank keeps them)."""

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.web.test_crew import END, START, crewed, desk, logged_in, mark, page, url

pytestmark = pytest.mark.django_db

__all__ = ["desk"]  # the fixture, imported for these tests


def hint(text: str, worker: Any) -> str:
    found = re.search(rf'<label for="hours-{worker.pk}">([^<]*)</label>', text)
    assert found, f"no hours label for worker {worker.pk}"
    return found.group(1)


def test_the_hint_names_the_recorded_hours_and_a_blank_keeps_them(
    desk: Any, spb_user: Any
) -> None:
    order, (partial, fresh, absent) = crewed(desk)
    browser = logged_in(spb_user)
    desk.at(START + timedelta(minutes=5))
    mark(browser, order, partial, "present", "2.5")
    mark(browser, order, absent, "no_show")

    text = page(browser.get(url(order)))

    assert hint(text, partial) == "Hours worked (blank: keeps the recorded 2.5 h)"
    assert hint(text, fresh) == "Hours worked (blank: the whole 6.0 h shift)"
    assert hint(text, absent) == "Hours worked (blank: the whole 6.0 h shift)"

    # What the hint promised: a blank re-submission keeps 2.5, through completion too.
    browser.post(url(order), {"worker": partial.pk, "status": "late", "hours": ""})
    desk.at(END)
    browser.post(url(order), {"action": "complete"})
    assert desk.offer(order, partial).hours_worked == Decimal("2.5")
    assert "whole" not in hint(page(browser.get(url(order))), partial)
