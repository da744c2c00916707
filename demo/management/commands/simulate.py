"""``manage.py simulate``: the real dispatch pipeline against simulated workers (CONTRACT.md §6).

Prints exactly one JSON object on standard output with the keys of
`demo.simulation.METRIC_KEYS`. Leaves nothing behind in the database: the run is rolled
back. The simulation itself lives in `demo.simulation`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo.simulation import SimulationConfig, simulate


class Command(BaseCommand):
    help = "Simulate workers answering the real dispatch pipeline on a virtual clock."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workers", type=int, default=3000)
        parser.add_argument("--orders", type=int, default=300)
        parser.add_argument("--days", type=int, default=10)
        parser.add_argument("--policy", choices=("fixed", "adaptive"), default="adaptive")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--mean-show-rate", type=float, default=0.7)
        parser.add_argument("--history-days", type=int, default=56,
                            help="days of recorded past the pool has (0: a cold pool)")
        parser.add_argument("--booking-ratio", type=float, default=None,
                            help="the house rule's ratio (default: the franchise's, 1.5)")
        parser.add_argument("--target-chance", type=float, default=None,
                            help="the adaptive policy's chance of a full crew "
                                 "(default: the setting ADAPTIVE_SHOW_TARGET)")
        parser.add_argument("--json", action="store_true",
                            help="print the result as one JSON object (the only output form)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            config = SimulationConfig(
                workers=options["workers"], orders=options["orders"], days=options["days"],
                policy=options["policy"], seed=options["seed"],
                mean_show_rate=options["mean_show_rate"],
                history_days=options["history_days"], booking_ratio=options["booking_ratio"],
                target_chance=options["target_chance"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        # The services log every wave and batch; the one JSON object must stand alone.
        quiet = logging.getLogger("dispatch")
        level = quiet.level
        quiet.setLevel(logging.WARNING)
        try:
            result = simulate(config)
        finally:
            quiet.setLevel(level)
        self.stdout.write(json.dumps(result, sort_keys=False))
