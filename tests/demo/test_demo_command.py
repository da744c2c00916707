"""`python manage.py demo`: one order's whole story, on the demo network, leaving no trace."""

import re
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import TestCase

from core import clock
from dispatch.models import Order
from messaging.models import Message
from ratings.models import RatingEvent

NOW = datetime(2030, 3, 10, 6, 0, tzinfo=UTC)  # 09:00 in Saint Petersburg
CHAPTERS = ("1. THE ORDER", "2. CALL-OUT WAVES", "3. REPLIES", "4. BATCH ASSIGNMENT",
            "5. REMINDERS", "6. ON SITE", "7. COMPLETION", "8. CLIENT FEEDBACK")


@pytest.fixture(scope="module")
def demo_network(django_db_setup: Any, django_db_blocker: Any) -> Any:
    """The network `make demo` seeds, once for the module, without the eight weeks of
    history (they take most of a minute); rolled back at the end like test_seed_demo's."""
    with django_db_blocker.unblock(), clock.use_clock(lambda: NOW):
        module_transaction = transaction.atomic()
        module_transaction.__enter__()
        try:
            call_command("seed_demo", "--no-history", "--quiet", stdout=StringIO())
            yield
        finally:
            transaction.set_rollback(True)
            module_transaction.__exit__(None, None, None)


def _tell(*args: str) -> tuple[str, dict[str, int], list[Any]]:
    """Run the demo; returns its output, the row counts it left behind, and the on-commit
    callbacks (SMS sends) it left to fire."""

    before = _counts()
    out = StringIO()
    with clock.use_clock(lambda: NOW), TestCase.captureOnCommitCallbacks() as callbacks:
        call_command("demo", *args, stdout=out)
    after = _counts()
    assert after == before
    return out.getvalue(), after, callbacks


def _counts() -> dict[str, int]:
    return {"orders": Order.objects.count(), "messages": Message.objects.count(),
            "rating_events": RatingEvent.objects.count()}


def _chapter(output: str, number: int) -> str:
    start = output.index(CHAPTERS[number - 1])
    end = output.index(CHAPTERS[number]) if number < len(CHAPTERS) else len(output)
    return output[start:end]


@pytest.mark.django_db
def test_tells_the_whole_story_with_figures_that_agree(demo_network: Any) -> None:
    output, _, callbacks = _tell()
    lines = output.splitlines()
    assert len(lines) < 150
    positions = [output.index(title) for title in CHAPTERS]
    assert positions == sorted(positions)
    assert callbacks == []  # rolled back: no SMS is sent
    assert "rolled back" in lines[-2]

    # Replies: the tally adds up, and the samples say they are a sample.
    offered, yes, no, silent = map(int, re.search(
        r"Of (\d+) offered: (\d+) answered yes, (\d+) answered no, (\d+) stayed silent",
        output).groups())
    assert offered == yes + no + silent
    assert yes >= 15
    assert "A sample of" in _chapter(output, 3)
    assert "accepted so far" not in output

    # The crew's texts are in the Saint Petersburg workers' language.
    assignment = _chapter(output, 4)
    assert re.search(r'Confirmation .*: "Вы в бригаде', assignment)
    assert re.search(r'Release .*: "\w+: набор закрыт', assignment)

    # At least one no-show, and each one's reliability is lower afterwards.
    on_site = _chapter(output, 6)
    assert "no-show check" in on_site
    drops = re.findall(r"^    .+: rating ([\d.]+), reliability ([\d.]+) -> "
                       r"rating ([\d.]+), reliability ([\d.]+)$", on_site, re.MULTILINE)
    assert drops
    for _, reliability_before, _, reliability_after in drops:
        assert float(reliability_after) < float(reliability_before)
    assert re.search(r'"(ТУТ|HERE) \w+" -> "Отметили', on_site)

    # Money: turnover is confirmed hours x bill rate, the royalty 15 % of it.
    completion = _chapter(output, 7)
    parts, invoiced = re.search(r"Invoice lines: (.+) = (\d+\.\d\d)", completion).groups()
    lines_total = sum(
        int(count) * Decimal(hours) * Decimal(rate)
        for count, hours, rate in re.findall(r"(\d+) x ([\d.]+) h x ([\d.]+)", parts)
    )
    turnover, royalty = re.search(
        r"Turnover (\d+\.\d\d); royalty to HQ 15 % of it = (\d+\.\d\d)", completion).groups()
    assert Decimal(invoiced) == lines_total == Decimal(turnover)
    assert Decimal(royalty) == (Decimal(turnover) * Decimal("0.15")).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP)
    # The client pays for its crew: at most the headcount, plus those it kept.
    kept = sum(int(n) for n in re.findall(r"(\d+) x [\d.]+ h x [\d.]+ kept at the client",
                                          parts))
    billed = sum(int(n) for n in re.findall(r"(\d+) x [\d.]+ h x", parts))
    assert billed - kept <= 10
    # Pay: hours for those billed, a fee for each sent home or left on standby.
    pay_parts, paid_total = re.search(r"Pay lines: +(.+) = (\d+\.\d\d)", completion).groups()
    hours_pay = sum(int(n) * Decimal(hours) * Decimal(rate) for n, hours, rate in
                    re.findall(r"(\d+) x ([\d.]+) h x ([\d.]+) hours", pay_parts))
    fees = sum(int(n) * Decimal(fee) for n, fee in
               re.findall(r"(\d+) x ([\d.]+) (?:show-up|standby) fee", pay_parts))
    assert hours_pay + fees == Decimal(paid_total)
    assert sum(int(n) for n in re.findall(r"(\d+) x [\d.]+ h x [\d.]+ hours", pay_parts)) == (
        billed)
    margin = re.search(r"Margin \(billed - paid - fees\): ([\d.]+) - ([\d.]+) - ([\d.]+) = "
                       r"(-?[\d.]+)\.", completion).groups()
    assert Decimal(margin[0]) == Decimal(turnover)
    assert (Decimal(margin[1]), Decimal(margin[2])) == (hours_pay, fees)
    assert Decimal(margin[3]) == Decimal(turnover) - hours_pay - fees

    assert '"Оцените бригаду' in _chapter(output, 8)


@pytest.mark.django_db
def test_every_time_shown_is_local_and_labelled(demo_network: Any) -> None:
    output, _, _ = _tell()
    assert "UTC" not in output
    assert "WARNING" not in output
    outside_texts = re.sub(r'"[^"]*"', '""', output)  # SMS bodies carry local times already
    unlabelled = re.findall(r"\b\d{2}:\d{2}\b(?! MSK)", outside_texts)
    assert unlabelled == []
    # The order starts at 09:00 local, as its offer SMS says.
    start = re.search(r"start \w{3} (\d\d\.\d\d \d\d:\d\d) MSK", output).group(1)
    assert re.search(rf'Offer SMS .*"\w+: погрузка {start}', output)


@pytest.mark.django_db
def test_the_adaptive_policy_and_another_seed_tell_it_too(demo_network: Any) -> None:
    output, _, _ = _tell("--policy", "adaptive", "--seed", "3", "--headcount", "6")
    assert "adaptive policy" in output
    assert "needs 6 loaders" in output
    assert all(title in output for title in CHAPTERS)
    assert "no-show check" in output
