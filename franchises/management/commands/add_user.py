"""`python manage.py add_user NAME --role hq|franchise|foreman|recruiter [--franchise ID]
--password P`."""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from franchises.models import Franchise, User
from franchises.services import user_create


class Command(BaseCommand):
    help = "Create a login with a role (hq, franchise, foreman or recruiter)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=User.Role.values)
        parser.add_argument("--franchise", type=int, help="franchise id (franchise and foreman)")
        parser.add_argument("--password", required=True)
        parser.add_argument("--email", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        franchise = None
        if options["franchise"] is not None and options["role"] == User.Role.HQ:
            raise CommandError("An hq login sees the whole network: leave out --franchise.")
        if options["franchise"] is not None:
            franchise = Franchise.objects.filter(pk=options["franchise"]).first()
            if franchise is None:
                raise CommandError(f"There is no franchise with id {options['franchise']}.")
        try:
            user = user_create(
                username=options["username"],
                password=options["password"],
                role=options["role"],
                franchise=franchise,
                email=options["email"],
            )
        except ValidationError as exc:
            messages = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            raise CommandError(messages) from exc
        where = f" at {franchise}" if franchise else ""
        self.stdout.write(f"Created {user.role} login '{user.username}'{where}.")
