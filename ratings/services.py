"""Recording rating events: the worker's figures change in the same transaction."""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction

from core import clock
from workers.models import Interview, Worker

from . import scoring
from .models import RatingEvent


def rating_params() -> scoring.RatingParams:
    return scoring.RatingParams(**getattr(settings, "RATING_PARAMS", {}))


def _state_of(worker: Worker, params: scoring.RatingParams) -> scoring.WorkerState:
    if worker.rating_state:
        return scoring.WorkerState.from_dict(worker.rating_state)
    return scoring.initial_state(params)


def worker_figures_set(*, worker: Worker, state: scoring.WorkerState, now: datetime) -> list[str]:
    """Put a state's figures on the worker row (not saved); returns the fields set. Also for
    rows about to be bulk-created with a history (the demo network)."""
    worker.rating_state = state.to_dict()
    worker.rating = scoring.rating_at(state, now)
    worker.reliability = state.reliability
    worker.shifts_completed = state.shifts_completed
    worker.no_shows = state.no_shows
    return ["rating_state", "rating", "reliability", "shifts_completed", "no_shows"]


# The reasons written on the worker's history row (django-simple-history's change reason, as
# the admin's history page shows it) when the rule changes a status. Which suspension is the
# rule's is read from the worker's `suspension_cause`, never from this text: only the rule's
# own suspension is ever lifted by the rule.
SUSPENDED_BY_RULE = "suspended by the no-show rule"
SUSPENSION_LIFTED = "suspension lifted: the no-shows that caused it were reversed"


def _write(worker: Worker, state: scoring.WorkerState, params: scoring.RatingParams,
           now: datetime, *, after_no_show: bool = False, lift_suspension: bool = False) -> None:
    fields = worker_figures_set(worker=worker, state=state, now=now)
    # Only a new no-show can suspend: a worker a recruiter has let back in is not suspended
    # again by the next shift or a restatement while the old no-shows are still recent.
    if (after_no_show and worker.status == Worker.Status.ACTIVE
            and scoring.should_suspend(state, now, params)):
        worker.status = Worker.Status.SUSPENDED
        worker.suspension_cause = Worker.SuspensionCause.NO_SHOW_RULE
        # django-simple-history writes this on the history row the save creates (it has no
        # type hints to declare the attribute).
        worker._change_reason = SUSPENDED_BY_RULE  # type: ignore[attr-defined]
        fields += ["status", "suspension_cause"]
    elif lift_suspension:
        worker.status = Worker.Status.ACTIVE
        worker.suspension_cause = ""
        worker._change_reason = SUSPENSION_LIFTED  # type: ignore[attr-defined]
        fields += ["status", "suspension_cause"]
    worker.save(update_fields=fields)


def _suspended_by_rule(worker: Worker) -> bool:
    """Whether the worker's current suspension was set by the no-show rule and is still only
    the rule's: its recorded cause is the rule, and no recruiter has refused them since (their
    latest interview did not fail). A suspension set by hand (the admin), or one whose cause
    was never recorded, says no, so it stays for a recruiter."""
    if (worker.status != Worker.Status.SUSPENDED
            or worker.suspension_cause != Worker.SuspensionCause.NO_SHOW_RULE
            or worker.vetted_at is None):
        return False
    latest_interview = (
        Interview.objects.filter(worker=worker).order_by("-at", "-id")
        .values_list("outcome", flat=True).first()
    )
    return latest_interview != Interview.Outcome.FAILED


def _rule_still_suspends(worker: Worker, events: list[RatingEvent],
                         params: scoring.RatingParams) -> bool:
    """Whether the standing events still hold a no-show that suspends under the rule, as it
    was applied when recorded (with the state before it and at its own time). No-shows before
    the worker's last passed interview do not count: a recruiter had let them back in after
    those, and only a new no-show suspends again."""
    reinstated = (
        Interview.objects.filter(worker=worker, outcome=Interview.Outcome.PASSED)
        .order_by("-at").values_list("at", flat=True).first()
    )
    state = scoring.initial_state(params)
    for row in sorted(events, key=lambda row: row.at):  # replay's order: by time, then id
        event = _event(row)
        state = scoring.apply(state, event, params)
        if (event.kind == scoring.EventKind.NO_SHOW
                and (reinstated is None or event.at > reinstated)
                and scoring.should_suspend(state, event.at, params)):
            return True
    return False


@transaction.atomic
def rating_event_record(
    *, worker: Worker, kind: str, order_ref: int | None = None, score: int | None = None,
    source: str = "", note: str = "", at: datetime | None = None,
) -> RatingEvent:
    """Record an event and update the worker's rating and reliability at once.

    The event is stamped with the time it is recorded (never earlier than the worker's last
    event), so the incremental figures equal a replay of all events in id order.
    """
    params = rating_params()
    now = at or clock.now()
    worker = Worker.objects.select_for_update().get(pk=worker.pk)
    state = _state_of(worker, params)
    if state.last_event_at is not None and now < state.last_event_at:
        now = state.last_event_at
    event = RatingEvent.objects.create(
        worker=worker, kind=kind, score=score, source=source, order_ref=order_ref, at=now,
        note=note[:300],
    )
    state = scoring.apply(state, _event(event), params)
    _write(worker, state, params, now, after_no_show=event.kind == scoring.EventKind.NO_SHOW)
    return event


def _event(row: RatingEvent) -> scoring.Event:
    return scoring.Event(
        kind=scoring.EventKind(row.kind), at=row.at, score=row.score,
        source=scoring.ScoreSource(row.source) if row.source else None,
    )


@transaction.atomic
def worker_ratings_recompute(*, worker: Worker, now: datetime | None = None) -> Any:
    """Restate a worker's figures from all their standing events (after an appeal, a
    correction, a replaced score, or a change of parameters). The rating is stated as of `now`
    (the clock by default), as the periodic refresh states it: penalties fade between events.

    A suspension the no-show rule set is lifted (the worker is active again, and the history
    says why) when no standing no-show would suspend any more: the no-show that caused it was
    reversed. A suspension a recruiter set by hand is never lifted here, and the rule's
    suspension is not lifted merely because time has passed: it waits for a recruiter then.
    """
    params = rating_params()
    worker = Worker.objects.select_for_update().get(pk=worker.pk)
    events = list(
        RatingEvent.objects.filter(worker=worker, reversed_at__isnull=True).order_by("id")
    )
    state = scoring.replay([_event(row) for row in events], params)
    moment = now or clock.now()
    if state.last_event_at is not None and moment < state.last_event_at:
        moment = state.last_event_at
    lift = (
        worker.status == Worker.Status.SUSPENDED
        and _suspended_by_rule(worker)
        and not _rule_still_suspends(worker, events, params)
    )
    _write(worker, state, params, moment, lift_suspension=lift)
    return state
