"""`python manage.py issue_royalty_statements --period YYYY-MM`: issue that month's royalty
statements now (one per franchise and period: running it again changes nothing)."""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing.services import royalty_statements_issue


class Command(BaseCommand):
    help = "Issue royalty statements for a month (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", required=True, help="YYYY-MM")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            statements = royalty_statements_issue(period=options["period"])
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        for statement in sorted(statements, key=lambda s: s.franchise.name):
            self.stdout.write(
                f"{statement.franchise.name:<32} turnover {statement.turnover:>12} "
                f"royalty {statement.royalty:>10} fee {statement.monthly_fee:>9} "
                f"total {statement.total:>11} {statement.currency} [{statement.status}]"
            )
        self.stdout.write(f"{len(statements)} statements for {options['period']}.")
