"""`python manage.py serve`: the operator console, API and webhooks on one port.

Without a broker (REDIS_URL unset) there is no Celery beat, so the periodic jobs run in a
thread of this process: waves, reminders and no-show checks happen as in production.
"""

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from core.sweeper import EmbeddedSweeper


class Command(BaseCommand):
    help = "Serve the console, API and webhooks; run periodic jobs in-process without a broker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")

    def handle(self, *args: Any, **options: Any) -> None:
        sweeper = None
        if settings.CELERY_TASK_ALWAYS_EAGER:
            sweeper = EmbeddedSweeper(settings.PERIODIC_INTERVAL_SECONDS)
            sweeper.start()
        base = f"http://{options['host']}:{options['port']}"
        self.stdout.write(
            f"Console {base}/  API {base}/api/v1/  docs {base}/api/docs/  admin {base}/admin/\n"
            f"SMS backend: {settings.SMS_BACKEND}; periodic jobs: "
            f"{'in-process' if sweeper else 'Celery beat'}"
        )
        try:
            call_command("runserver", f"{options['host']}:{options['port']}", use_reloader=False)
        finally:
            if sweeper is not None:
                sweeper.stop()
