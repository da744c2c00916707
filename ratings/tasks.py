"""Periodic: keep stored ratings current as penalties fade."""

from celery import shared_task

from core import clock
from workers.models import Worker

from . import scoring


@shared_task(ignore_result=True)
def refresh_fading_ratings(limit: int = 2000) -> int:
    """Penalties fade day by day, so a rating stored at the last event goes stale; restate
    `rating` at the current time for workers whose last event left penalties behind.

    Workers are read `limit` at a time, by id, until all have been seen: a penalty stays in
    the stored state until the worker's next event, so the first batch alone would hold the
    same workers on every run and the rest would never be refreshed."""
    now = clock.now()
    updated = 0
    last_id = 0
    while True:
        batch = list(
            Worker.objects.filter(rating_state__isnull=False, pk__gt=last_id)
            .exclude(rating_state__penalties=[])
            .order_by("pk")
            .only("id", "rating", "rating_state")[:limit]
        )
        if not batch:
            return updated
        last_id = batch[-1].pk
        for worker in batch:
            if worker.rating_state is None:
                continue
            state = scoring.WorkerState.from_dict(worker.rating_state)
            if not state.penalties or state.last_event_at is None or now < state.last_event_at:
                continue
            rating = scoring.rating_at(state, now)
            if abs(rating - worker.rating) <= 1e-9:
                continue
            # Only if no rating event changed the worker since it was read: a no-show recorded
            # meanwhile must keep its immediate drop.
            updated += Worker.objects.filter(
                pk=worker.pk, rating=worker.rating, rating_state=worker.rating_state
            ).update(rating=rating)
