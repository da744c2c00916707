"""Periodic: keep stored ratings current as penalties fade."""

from celery import shared_task

from config import clock
from workers.models import Worker

from . import model


@shared_task(ignore_result=True)
def refresh_fading_ratings(limit: int = 2000) -> int:
    """Penalties fade day by day, so a rating stored at the last event goes stale; restate
    `rating` at the current time for workers whose last event left penalties behind."""
    now = clock.now()
    changed = []
    for worker in (
        Worker.objects.filter(rating_state__isnull=False)
        .exclude(rating_state__penalties=[])
        .only("id", "rating", "rating_state")[:limit]
    ):
        state = model.WorkerState.from_dict(worker.rating_state)
        if not state.penalties:
            continue
        rating = model.rating_at(state, now)
        if abs(rating - worker.rating) > 1e-9:
            worker.rating = rating
            changed.append(worker)
    Worker.objects.bulk_update(changed, ["rating"], batch_size=500)
    return len(changed)
