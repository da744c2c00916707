"""Recording rating events: the worker's figures change in the same transaction."""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction

from config import clock
from workers.models import Worker

from . import model
from .models import RatingEvent


def rating_params() -> model.RatingParams:
    return model.RatingParams(**getattr(settings, "RATING_PARAMS", {}))


def _state_of(worker: Worker, params: model.RatingParams) -> model.WorkerState:
    if worker.rating_state:
        return model.WorkerState.from_dict(worker.rating_state)
    return model.initial_state(params)


def worker_figures_set(*, worker: Worker, state: model.WorkerState, now: datetime) -> list[str]:
    """Put a state's figures on the worker row (not saved); returns the fields set. Also for
    rows about to be bulk-created with a history (the demo network)."""
    worker.rating_state = state.to_dict()
    worker.rating = model.rating_at(state, now)
    worker.reliability = state.reliability
    worker.shifts_completed = state.shifts_completed
    worker.no_shows = state.no_shows
    return ["rating_state", "rating", "reliability", "shifts_completed", "no_shows"]


def _write(worker: Worker, state: model.WorkerState, params: model.RatingParams,
           now: datetime, *, after_no_show: bool = False) -> None:
    fields = worker_figures_set(worker=worker, state=state, now=now)
    # Only a new no-show can suspend: a worker a recruiter has let back in is not suspended
    # again by the next shift or a restatement while the old no-shows are still recent.
    if (after_no_show and worker.status == Worker.Status.ACTIVE
            and model.should_suspend(state, now, params)):
        worker.status = Worker.Status.SUSPENDED
        fields.append("status")
    worker.save(update_fields=fields)


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
    state = model.apply(state, _event(event), params)
    _write(worker, state, params, now, after_no_show=event.kind == model.EventKind.NO_SHOW)
    return event


def _event(row: RatingEvent) -> model.Event:
    return model.Event(
        kind=row.kind, at=row.at, score=row.score, source=row.source or None
    )


@transaction.atomic
def worker_ratings_recompute(*, worker: Worker, now: datetime | None = None) -> Any:
    """Restate a worker's figures from all their standing events (after an appeal, or a
    change of parameters). The rating is stated as of `now` (the clock by default), as the
    periodic refresh states it: penalties fade between events."""
    params = rating_params()
    worker = Worker.objects.select_for_update().get(pk=worker.pk)
    events = RatingEvent.objects.filter(worker=worker, reversed_at__isnull=True).order_by("id")
    state = model.replay([_event(row) for row in events], params)
    moment = now or clock.now()
    if state.last_event_at is not None and moment < state.last_event_at:
        moment = state.last_event_at
    _write(worker, state, params, moment)
    return state
