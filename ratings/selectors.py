"""Reads on rating events."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q

from workers.models import Worker

from . import scoring
from .models import RatingEvent
from .services import rating_params


@dataclass(frozen=True)
class RatingHistory:
    """`points`: the line to draw, from the priors to `until`; `after_event`: the figures each
    standing event left (by the event's id), for the list of events."""

    points: list[scoring.Figures]
    after_event: dict[int, scoring.Figures]


def rating_history(worker: Worker, *, until: datetime | None = None) -> RatingHistory:
    """The worker's rating and reliability after each of their standing events, from the
    newcomer's priors at the day they joined to `until` (the rating fades back between
    events). One query, however long the record.

    The same fold that restates the worker row (`worker_ratings_recompute`): the point after
    the last event is the row's figures; a no-show reversed on appeal is not in the line, as
    it is not in the figures.
    """
    rows = sorted(
        RatingEvent.objects.filter(worker=worker, reversed_at__isnull=True)
        .values_list("at", "id", "kind", "score", "source")
    )  # by time, then id: the order the fold applies them in, so each point has its event
    events = [
        scoring.Event(kind=scoring.EventKind(kind), at=at, score=score,
                      source=scoring.ScoreSource(source) if source else None)
        for at, _, kind, score, source in rows
    ]
    points = scoring.figures_over_time(events, rating_params(), since=worker.created_at,
                                     until=until)
    offset = 1  # the priors' point comes first
    after_event = {row[1]: points[offset + index] for index, row in enumerate(rows)}
    return RatingHistory(points=points, after_event=after_event)


def rating_events_latest(worker: Worker, *, limit: int = 100) -> list[RatingEvent]:
    """The worker's latest rating events, newest first, reversed ones included (marked by
    `reversed_at`): the record a recruiter reads."""
    return list(RatingEvent.objects.filter(worker=worker).order_by("-id")[:limit])


def ratings_at(worker_ids: Iterable[int], moment: datetime) -> dict[int, float]:
    """Each worker's rating as it stood at `moment`: the fold of the events recorded before it,
    penalties faded to `moment`, exactly as the rating history draws it. A no-show reversed on
    appeal only after `moment` still counts, as it did then; events recorded later do not. So
    a closed month's figures never move. One query, however many workers."""
    ids = set(worker_ids)
    params = rating_params()
    rows = (
        RatingEvent.objects.filter(worker_id__in=ids, at__lt=moment)
        .filter(Q(reversed_at__isnull=True) | Q(reversed_at__gte=moment))
        .order_by("worker_id", "at", "id")
        .values_list("worker_id", "at", "kind", "score", "source")
    )
    events: dict[int, list[scoring.Event]] = defaultdict(list)
    for worker_id, at, kind, score, source in rows:
        events[worker_id].append(
            scoring.Event(kind=scoring.EventKind(kind), at=at, score=score,
                          source=scoring.ScoreSource(source) if source else None))
    prior = scoring.rating_at(scoring.initial_state(params), moment)
    figures = dict.fromkeys(ids, prior)
    for worker_id, worker_events in events.items():
        figures[worker_id] = scoring.rating_at(scoring.replay(worker_events, params), moment)
    return figures
