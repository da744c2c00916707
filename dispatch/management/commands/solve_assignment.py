"""``manage.py solve_assignment PROBLEM.json``: the optimiser as a command (CONTRACT.md section 5).

Reads a problem (a file, or ``-`` for standard input), prints the result as one JSON object on
standard output. Never touches the database, so it works with ``DATABASE_URL`` pointing nowhere.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dispatch.optimizer import ProblemError, solve
from dispatch.optimizer_json import problem_from_json, solution_to_json

STDIN = "-"


def _read_problem(source: str | Path) -> Any:
    if str(source) == STDIN:
        text, name = sys.stdin.read(), "standard input"
    else:
        path = Path(source)
        name = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CommandError(f"{name}: no such file") from None
        except IsADirectoryError:
            raise CommandError(f"{name}: is a directory, not a problem file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"{name}: cannot read it ({exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{name}: invalid JSON ({exc})") from None
    except RecursionError:
        # json's recursive parser gives up on a few thousand nested brackets.
        raise CommandError(f"{name}: invalid JSON (nested too deeply)") from None


def run(source: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """Solves a problem given as a path, ``"-"`` (standard input) or already parsed JSON.

    Returns the contract's result dict. Raises ``CommandError`` with a readable message for a
    missing or unreadable file, invalid JSON, or an invalid problem.
    """
    data = source if isinstance(source, Mapping) else _read_problem(source)
    try:
        return solution_to_json(solve(problem_from_json(data)))
    except ProblemError as exc:
        raise CommandError(f"invalid problem: {exc}") from None


class Command(BaseCommand):
    help = (
        "Assign workers to orders: maximum filled slots, then minimum cost. Reads the problem "
        "JSON from a file or '-' (stdin) and prints the result JSON. Needs no database."
    )
    # Pure computation: no system checks and no migration check, which would need a database.
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("problem", help="path to the problem JSON, or - for standard input")

    def handle(self, *args: Any, **options: Any) -> None:
        result = run(options["problem"])
        self.stdout.write(json.dumps(result))
