"""Times ``dispatch.optimizer.solve`` and the ``solve_assignment`` command on a seeded random
instance and prints markdown tables.

    python -m bench.bench_optimizer [--orders 1000] [--workers 15000] [--pairs 45000]
                                    [--repeat 7] [--seed 42] [--foremen] [--write]

The instance: orders and workers scattered over a 40 x 40 km city, 1-20 slots per order, and
``--pairs`` distinct (worker, order) pairs drawn uniformly (the acceptances). ``--foremen`` asks
one foreman per order of four or more slots, which sends the solve through CP-SAT.

The same instance is also written as the contract's problem file (CONTRACT.md section 5) and
given to ``manage.py solve_assignment``: timed in-process (``call_command``: read and parse the
file, validate, solve, print the result JSON) and as a whole command in a process of its own
(Python and Django starting, OR-Tools importing, included).

Why: the batch assignment solves every open order of a region at once, and the solve must stay
a small part of the batch's few seconds at network scale (1,000 orders, 15,000 acceptances).
``--write`` replaces the "## Optimiser" section of ``docs/benchmarks.md`` with the command,
the date, the machine and the table, leaving the other sections as they are.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import command_line, machine_facts, now_utc, write_section
from dispatch.optimizer import Candidate, OrderSlots, Problem, solve

HEADING = "## Optimiser"
REPO = Path(__file__).resolve().parent.parent
COMMAND_GOAL_S = 1.0

CITY_LAT, CITY_LNG = 59.93, 30.31
CITY_HALF_SIZE_DEG = 0.18, 0.36  # about 20 km either way at this latitude


def build_problem(
    *, n_orders: int, n_workers: int, n_pairs: int, seed: int, foremen: bool = False
) -> Problem:
    """A reproducible random instance with exactly ``n_pairs`` distinct eligible pairs."""
    rng = np.random.default_rng(seed)
    half_lat, half_lng = CITY_HALF_SIZE_DEG
    order_lat = CITY_LAT + rng.uniform(-half_lat, half_lat, n_orders)
    order_lng = CITY_LNG + rng.uniform(-half_lng, half_lng, n_orders)
    slots = rng.integers(1, 21, n_orders)
    worker_lat = CITY_LAT + rng.uniform(-half_lat, half_lat, n_workers)
    worker_lng = CITY_LNG + rng.uniform(-half_lng, half_lng, n_workers)
    rating = rng.uniform(2.5, 5.0, n_workers)
    reliability = rng.beta(7.0, 3.0, n_workers)
    is_foreman = rng.random(n_workers) < 0.1

    codes = rng.choice(n_orders * n_workers, size=n_pairs, replace=False)
    pair_worker, pair_order = np.divmod(codes, n_orders)

    orders = [
        OrderSlots(
            id=f"o{i}",
            slots=int(slots[i]),
            lat=float(order_lat[i]),
            lng=float(order_lng[i]),
            needs_foreman=int(foremen and slots[i] >= 4),
        )
        for i in range(n_orders)
    ]
    workers = [
        Candidate(
            id=i,
            lat=float(worker_lat[i]),
            lng=float(worker_lng[i]),
            rating=float(rating[i]),
            reliability=float(reliability[i]),
            is_foreman=bool(is_foreman[i]),
        )
        for i in range(n_workers)
    ]
    eligible = [
        (w, f"o{o}") for w, o in zip(pair_worker.tolist(), pair_order.tolist(), strict=True)
    ]
    return Problem(orders=orders, workers=workers, eligible=eligible)


def problem_json(problem: Problem) -> dict[str, object]:
    """The contract's JSON for ``problem``."""
    return {
        "orders": [
            {"id": o.id, "slots": o.slots, "lat": o.lat, "lng": o.lng,
             **({"needs_foreman": o.needs_foreman} if o.needs_foreman else {})}
            for o in problem.orders
        ],
        "workers": [
            {"id": w.id, "lat": w.lat, "lng": w.lng, "rating": w.rating,
             "reliability": w.reliability, **({"is_foreman": True} if w.is_foreman else {})}
            for w in problem.workers
        ],
        "eligible": [list(pair) for pair in problem.eligible],
    }


def time_command(path: Path, repeat: int) -> tuple[list[float], list[float], dict[str, object]]:
    """(in-process seconds, whole-process seconds, the result) of ``solve_assignment PATH``."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.core.management import call_command

    django.setup()
    inside = []
    out = io.StringIO()
    for _ in range(repeat):
        out = io.StringIO()
        started = time.perf_counter()
        call_command("solve_assignment", str(path), stdout=out)
        inside.append(time.perf_counter() - started)
    result = json.loads(out.getvalue())
    whole = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "manage.py", "solve_assignment", str(path)], cwd=REPO, check=True,
            stdout=subprocess.DEVNULL, env={**os.environ, "LOG_LEVEL": "WARNING"},
        )
        whole.append(time.perf_counter() - started)
    return inside, whole, result


def command_table(problem: Problem, repeat: int) -> list[str]:
    """The ``solve_assignment`` timings of ``problem`` as markdown lines."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "problem.json"
        path.write_text(json.dumps(problem_json(problem)), encoding="utf-8")
        size = path.stat().st_size
        inside, whole, result = time_command(path, repeat)
    met = "met" if statistics.median(inside) < COMMAND_GOAL_S else "**missed**"
    filled = result["filled"]
    assert isinstance(filled, dict)
    return [
        "",
        f"### `manage.py solve_assignment PROBLEM.json` on the same instance "
        f"({size / 1e6:.1f} MB of JSON)\n",
        f"| measured | median s | min s | goal (under {COMMAND_GOAL_S:g} s) |",
        "|---|---:|---:|---|",
        f"| the command's work (`call_command`, {repeat} runs): read, parse, validate, solve, "
        f"print | {statistics.median(inside):.3f} | {min(inside):.3f} | {met} |",
        f"| the whole process (3 runs), Python, Django and OR-Tools starting included | "
        f"{statistics.median(whole):.3f} | {min(whole):.3f} | |",
        "",
        f"The command's answer: {sum(filled.values()):,} slots filled, objective "
        f"{result['objective']:,.2f}.",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000)
    parser.add_argument("--workers", type=int, default=15_000)
    parser.add_argument("--pairs", type=int, default=45_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--foremen", action="store_true")
    parser.add_argument(
        "--write", action="store_true", help=f"replace the {HEADING!r} section of the docs"
    )
    args = parser.parse_args(argv)
    facts = machine_facts()

    started = time.perf_counter()
    problem = build_problem(
        n_orders=args.orders,
        n_workers=args.workers,
        n_pairs=args.pairs,
        seed=args.seed,
        foremen=args.foremen,
    )
    generated = time.perf_counter() - started

    phases: dict[str, list[float]] = {"build_seconds": [], "solver_seconds": [], "total": []}
    solution = None
    for _ in range(args.repeat):
        solution = solve(problem)
        build = solution.timings["build_seconds"]
        solver = solution.timings.get("flow_seconds", 0.0)
        solver += solution.timings.get("cp_sat_seconds", 0.0)
        phases["build_seconds"].append(build)
        phases["solver_seconds"].append(solver)
        phases["total"].append(solution.solve_seconds)
    assert solution is not None

    slots = sum(order.slots for order in problem.orders)
    filled = sum(solution.filled.values())
    out: list[str] = []
    out.append(
        f"### solve(): {args.orders:,} orders x {args.workers:,} workers x "
        f"{args.pairs:,} eligible pairs (seed {args.seed}, {args.repeat} runs)\n"
    )
    out.append("| phase | median s | min s |")
    out.append("|---|---:|---:|")
    labels = {
        "build_seconds": "validate, index ids, distances, costs",
        "solver_seconds": f"OR-Tools ({solution.method}, incl. graph build)",
        "total": "total `solve()` (incl. result assembly)",
    }
    for key, values in phases.items():
        name = labels[key]
        out.append(f"| {name} | {statistics.median(values):.4f} | {min(values):.4f} |")
    out.append("")
    out.append(
        f"filled {filled:,} of {slots:,} slots, objective {solution.objective:,.2f}, "
        f"foreman shortfall {solution.foreman_shortfall}, optimal {solution.optimal}; "
        f"instance generated in {generated:.2f} s"
    )
    out += command_table(problem, args.repeat)
    table = "\n".join(out)
    print(table)
    if args.write:
        section = "\n".join(
            [
                HEADING,
                "",
                f"Command: `{command_line('bench.bench_optimizer', argv)}`, run {now_utc()}.",
                f"Machine: {facts}.",
                "",
                "The pure optimiser (`dispatch.optimizer.solve`, no database) on a seeded random "
                "instance: orders and workers over a 40 x 40 km city, 1-20 slots per order, the "
                "eligible pairs drawn uniformly; then the same instance through the "
                "`solve_assignment` command. Medians of the runs.",
                "",
                table,
                "",
            ]
        )
        write_section(HEADING, section)
        print(f"updated docs/benchmarks.md ({HEADING})", file=sys.stderr)


if __name__ == "__main__":
    main()
