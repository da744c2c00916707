"""`manage.py health`: is a Celery worker answering, and is beat ticking?

Exit status 0 when every check asked for passes, 1 otherwise, so a supervisor or a monitoring
timer can restart what stopped. With no option, both are checked.

    manage.py health --worker          # some worker answers `celery inspect ping`
    manage.py health --worker --node celery@host1
    manage.py health --beat            # beat's heartbeat in Redis is recent
"""

from typing import Any

from celery import current_app
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from core.heartbeat import heartbeat_age


def worker_replies(*, node: str | None, timeout: float) -> list[str]:
    """Names of the workers that answered a ping (only `node`, when given)."""

    destination = [node] if node else None
    replies = current_app.control.ping(destination=destination, timeout=timeout) or []
    return sorted(name for reply in replies for name in reply)


class Command(BaseCommand):
    help = "Check that a Celery worker answers and that beat is ticking (exit 1 if not)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--worker", action="store_true", help="check the worker(s)")
        parser.add_argument("--beat", action="store_true", help="check beat's heartbeat")
        parser.add_argument("--node", help="the worker's node name, e.g. celery@host1")
        parser.add_argument("--timeout", type=float, default=5.0,
                            help="seconds to wait for a worker's answer")
        parser.add_argument("--max-age", type=float, default=None,
                            help="seconds after which beat's heartbeat is stale "
                                 "(default: BEAT_HEARTBEAT_MAX_AGE)")

    def handle(self, *args: Any, **options: Any) -> None:
        check_worker = options["worker"] or not options["beat"]
        check_beat = options["beat"] or not options["worker"]
        healthy = True
        if check_worker:
            try:
                names = worker_replies(node=options["node"], timeout=options["timeout"])
            except Exception as exc:  # the broker is unreachable
                names = []
                self.stderr.write(f"worker: broker unreachable ({exc.__class__.__name__})")
            if names:
                self.stdout.write(f"worker: ok ({', '.join(names)})")
            else:
                self.stderr.write("worker: no answer to ping")
                healthy = False
        if check_beat:
            limit = options["max_age"] or settings.BEAT_HEARTBEAT_MAX_AGE
            age = heartbeat_age(settings.REDIS_URL, settings.BEAT_HEARTBEAT_KEY)
            if age is not None and age <= limit:
                self.stdout.write(f"beat: ok (last heartbeat {age:.0f} s ago)")
            else:
                said = "none" if age is None else f"{age:.0f} s ago"
                self.stderr.write(f"beat: no recent heartbeat (last: {said}, limit {limit:.0f} s)")
                healthy = False
        if not healthy:
            raise SystemExit(1)
