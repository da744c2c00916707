"""A restatement lifts the suspension the no-show rule set once the no-shows behind it are
reversed, and only that one: a recruiter's suspension, or a rule's suspension a recruiter has
since confirmed, stays; time passing alone lifts nothing."""

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import import_module
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.contrib import admin
from django.test import RequestFactory

from core import clock
from ratings import scoring
from ratings.models import RatingEvent
from ratings.services import (
    SUSPENDED_BY_RULE,
    SUSPENSION_LIFTED,
    rating_event_record,
    worker_ratings_recompute,
)
from workers.models import Interview, Worker
from workers.services import worker_interview

T0 = datetime(2030, 5, 6, 9, 0, tzinfo=UTC)
_phones = itertools.count(1)

pytestmark = pytest.mark.django_db


@pytest.fixture
def vclock() -> Iterator[clock.VirtualClock]:
    virtual = clock.VirtualClock(T0)
    with clock.use_clock(virtual):
        yield virtual


def make_worker(**fields: Any) -> Worker:
    fields.setdefault("status", Worker.Status.ACTIVE)
    fields.setdefault("vetted_at", T0 - timedelta(days=60))
    return Worker.objects.create(
        name=f"Lift {next(_phones)}", phone=f"+7922{next(_phones):07d}", skills=["loading"],
        **fields,
    )


def no_show(worker: Worker, order_ref: int) -> RatingEvent:
    return rating_event_record(worker=worker, kind=scoring.EventKind.NO_SHOW, order_ref=order_ref)


def reverse(event: RatingEvent) -> None:
    """What an appeal's reversal does to the rating events."""
    RatingEvent.objects.filter(pk=event.pk).update(reversed_at=clock.now())
    worker_ratings_recompute(worker=event.worker)


def status(worker: Worker) -> str:
    worker.refresh_from_db()
    return worker.status


def admin_save(worker: Worker, *, user: Any, **changes: Any) -> None:
    """What the admin's change page does when a recruiter saves the worker with `changes`."""
    model_admin = admin.site._registry[Worker]
    request = RequestFactory().post("/")
    request.user = user
    form_class = model_admin.get_form(request, worker, change=True)
    shown = form_class(instance=worker)
    data = {name: shown[name].value() for name in shown.fields if name != "photo"}
    data["skills"] = ",".join(worker.skills)  # as the page's text box shows them
    data.update(changes)
    form = form_class(data, instance=worker)
    assert form.is_valid(), form.errors
    model_admin.save_model(request, form.save(commit=False), form, True)


def suspended_by_rule(vclock: clock.VirtualClock) -> tuple[Worker, RatingEvent, RatingEvent]:
    worker = make_worker()
    first = no_show(worker, 1)
    vclock.advance(timedelta(days=3))
    second = no_show(worker, 2)
    assert status(worker) == Worker.Status.SUSPENDED
    return worker, first, second


def test_reversing_the_no_show_that_suspended_lifts_the_suspension_and_says_so(
    vclock: clock.VirtualClock,
) -> None:
    worker, _, second = suspended_by_rule(vclock)
    assert worker.suspension_cause == Worker.SuspensionCause.NO_SHOW_RULE
    assert worker.history.order_by("-history_id").first().history_change_reason == SUSPENDED_BY_RULE
    vclock.advance(timedelta(days=1))

    reverse(second)

    assert status(worker) == Worker.Status.ACTIVE
    assert worker.suspension_cause == ""
    assert worker.no_shows == 1
    latest = worker.history.order_by("-history_id").first()
    assert (latest.status, latest.history_change_reason) == ("active", SUSPENSION_LIFTED)


def test_reversing_either_no_show_of_the_pair_lifts_it(vclock: clock.VirtualClock) -> None:
    worker, first, _ = suspended_by_rule(vclock)
    reverse(first)
    assert status(worker) == Worker.Status.ACTIVE


def test_a_suspension_set_by_hand_is_not_lifted(vclock: clock.VirtualClock) -> None:
    worker = make_worker()
    event = no_show(worker, 1)
    worker.refresh_from_db()
    worker.status = Worker.Status.SUSPENDED  # a recruiter in the admin, for another reason
    worker.save()

    reverse(event)

    assert status(worker) == Worker.Status.SUSPENDED
    assert worker.no_shows == 0


def test_a_suspension_with_no_recorded_cause_is_not_lifted(
    vclock: clock.VirtualClock,
) -> None:
    """A suspension whose cause was never recorded cannot be told from a recruiter's: it stays
    for a recruiter, whatever the history's text says."""
    worker, _, second = suspended_by_rule(vclock)
    Worker.objects.filter(pk=worker.pk).update(suspension_cause="")
    reverse(second)
    assert status(worker) == Worker.Status.SUSPENDED


def test_the_cause_is_read_from_the_field_not_the_history_text(
    vclock: clock.VirtualClock,
) -> None:
    worker, _, second = suspended_by_rule(vclock)
    worker.history.update(history_change_reason=None)
    reverse(second)
    assert status(worker) == Worker.Status.ACTIVE


def test_a_recruiter_who_changes_the_status_in_the_admin_owns_the_suspension(
    vclock: clock.VirtualClock, admin_user: Any,
) -> None:
    """Let back in and suspended again by hand in the admin: the suspension is the
    recruiter's, and reversing the rule's no-shows does not lift it."""
    worker, _, second = suspended_by_rule(vclock)
    admin_save(worker, status=Worker.Status.BLOCKED, user=admin_user)
    worker.refresh_from_db()
    assert (worker.status, worker.suspension_cause) == (Worker.Status.BLOCKED, "")
    admin_save(worker, status=Worker.Status.SUSPENDED, user=admin_user)

    reverse(second)

    assert status(worker) == Worker.Status.SUSPENDED


def test_other_no_shows_that_still_suspend_keep_the_suspension(
    vclock: clock.VirtualClock,
) -> None:
    worker, _, _ = suspended_by_rule(vclock)
    vclock.advance(timedelta(days=2))
    third = no_show(worker, 3)  # recorded while suspended

    reverse(third)

    assert status(worker) == Worker.Status.SUSPENDED
    assert worker.no_shows == 2


def test_time_passing_lifts_nothing(vclock: clock.VirtualClock) -> None:
    """Forty days on, the pair is outside the rule's 30-day window, but nobody reversed
    either: a restatement (a new parameter set, a replaced score) leaves the suspension to a
    recruiter."""
    worker, _, _ = suspended_by_rule(vclock)
    vclock.advance(timedelta(days=40))
    worker_ratings_recompute(worker=worker)
    assert status(worker) == Worker.Status.SUSPENDED


def test_a_recruiter_who_refused_them_since_keeps_them_suspended(
    vclock: clock.VirtualClock,
) -> None:
    worker, _, second = suspended_by_rule(vclock)
    vclock.advance(timedelta(hours=5))
    Interview.objects.create(worker=worker, outcome=Interview.Outcome.FAILED, at=clock.now())
    reverse(second)
    assert status(worker) == Worker.Status.SUSPENDED


def test_no_shows_before_a_reinstatement_do_not_hold_a_later_suspension(
    vclock: clock.VirtualClock,
) -> None:
    """Suspended, let back in by a recruiter, suspended again by a new no-show (the old pair
    is still recent): reversing the new one lifts the new suspension."""

    worker, _, _ = suspended_by_rule(vclock)
    vclock.advance(timedelta(days=1))
    worker_interview(worker=worker, outcome="passed", recruiter=None)
    assert status(worker) == Worker.Status.ACTIVE
    vclock.advance(timedelta(days=1))
    third = no_show(worker, 3)
    assert status(worker) == Worker.Status.SUSPENDED

    reverse(third)

    assert status(worker) == Worker.Status.ACTIVE


def test_the_migration_takes_the_cause_from_the_history_of_the_current_suspension(
    vclock: clock.VirtualClock,
) -> None:
    """Suspensions recorded before the field existed: the rule's (its reason on the history
    row that began the suspension) get the rule as their cause; a recruiter's, and a rule's
    suspension a recruiter has since lifted and set again by hand, get none."""
    cause_from_history = import_module(
        "workers.migrations.0003_worker_suspension_cause"
    ).cause_from_history
    by_rule, _, _ = suspended_by_rule(vclock)
    by_hand = make_worker()
    by_hand.status = Worker.Status.SUSPENDED
    by_hand.save()
    again_by_hand, _, _ = suspended_by_rule(vclock)
    for status_by_hand in (Worker.Status.ACTIVE, Worker.Status.SUSPENDED):
        again_by_hand.refresh_from_db()
        again_by_hand.status = status_by_hand
        again_by_hand.save()
    active = make_worker()
    Worker.objects.update(suspension_cause="")  # as the new column starts

    cause_from_history(django_apps, None)

    causes = dict(Worker.objects.values_list("id", "suspension_cause"))
    assert causes == {by_rule.pk: Worker.SuspensionCause.NO_SHOW_RULE, by_hand.pk: "",
                      again_by_hand.pk: "", active.pk: ""}
