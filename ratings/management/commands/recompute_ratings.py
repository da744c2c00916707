"""`python manage.py recompute_ratings [--worker ID ...] [--check]`: restate workers' rating
and reliability from all their standing rating events (after a change of parameters), or
with --check report any worker whose stored figures differ from a full replay."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from core import clock
from ratings.models import RatingEvent
from ratings.services import worker_ratings_recompute
from workers.models import Worker


class Command(BaseCommand):
    help = "Recompute ratings and reliabilities from rating events."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--worker", type=int, nargs="*", help="only these worker ids")
        parser.add_argument(
            "--check", action="store_true",
            help="change nothing; exit 1 if any stored figure differs from a replay",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        workers = Worker.objects.filter(
            pk__in=RatingEvent.objects.values("worker_id")
        ).order_by("pk")
        if options["worker"]:
            workers = workers.filter(pk__in=options["worker"])
        now = clock.now()
        differing = 0
        count = 0
        for worker in workers.iterator(chunk_size=500):
            before = (worker.rating, worker.reliability, worker.no_shows, worker.shifts_completed)
            with transaction.atomic():
                state = worker_ratings_recompute(worker=worker, now=now)
                worker.refresh_from_db()
                if options["check"]:
                    transaction.set_rollback(True)
            after = (worker.rating, worker.reliability, worker.no_shows, worker.shifts_completed)
            count += 1
            # The stored rating was stated at the last event or at a later refresh, and
            # penalties only fade: anywhere from the replay's rating at its last event to its
            # rating now is consistent with the events.
            if before[1:] != after[1:] or not state.rating <= before[0] <= after[0]:
                differing += 1
                self.stdout.write(f"worker {worker.pk}: {before} -> {after}")
        verb = "checked" if options["check"] else "recomputed"
        self.stdout.write(f"{count} workers {verb}; {differing} differed from a full replay.")
        if options["check"] and differing:
            raise SystemExit(1)
