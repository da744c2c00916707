"""Reads on rating events."""

from dataclasses import dataclass
from datetime import datetime

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
