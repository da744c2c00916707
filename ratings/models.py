"""Rating events: every show, no-show, late arrival, withdrawal and quality score."""

from django.db import models

from workers.models import Worker

from .scoring import EventKind, ScoreSource


class RatingEvent(models.Model):
    """One fact about a worker's reliability or quality; the figures on the worker row are a
    fold of these in `id` order, so they can always be recomputed exactly."""

    franchise_scope = None

    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="rating_events")
    kind = models.CharField(max_length=20, choices=[(k.value, k.name) for k in EventKind])
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    source = models.CharField(
        max_length=10, blank=True, choices=[(s.value, s.name) for s in ScoreSource]
    )
    # The order the event is about (dispatch's order id; ratings knows nothing of orders).
    order_ref = models.BigIntegerField(null=True, blank=True, db_index=True)
    at = models.DateTimeField()
    # A no-show reversed on appeal stays on record but no longer counts.
    reversed_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["worker_id", "id"]
        indexes = [models.Index(fields=["worker", "id"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(score__isnull=True)
                | (models.Q(score__gte=1) & models.Q(score__lte=5)),
                name="rating_event_score_1_5",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.worker_id}: {self.kind} at {self.at:%Y-%m-%d %H:%M}"
