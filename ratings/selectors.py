"""Reads on rating events."""

from datetime import datetime

from workers.models import Worker

from . import model
from .models import RatingEvent
from .services import rating_params


def rating_history(worker: Worker, *, until: datetime | None = None) -> list[model.Figures]:
    """The worker's rating and reliability after each of their standing events, from the
    newcomer's priors at the day they joined to `until` (the rating fades back between
    events). One query, however long the record.

    The same fold that restates the worker row (`worker_ratings_recompute`): the point after
    the last event is the row's figures; a no-show reversed on appeal is not in the line, as
    it is not in the figures.
    """
    rows = (
        RatingEvent.objects.filter(worker=worker, reversed_at__isnull=True)
        .order_by("id").values_list("kind", "at", "score", "source")
    )
    events = [
        model.Event(kind=kind, at=at, score=score, source=source or None)
        for kind, at, score, source in rows
    ]
    return model.figures_over_time(events, rating_params(), since=worker.created_at, until=until)
