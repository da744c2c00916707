"""The policy comparison: fixed (book 1.5 x headcount) against adaptive, by simulation.

``python -m bench.bench_policies [--seeds 5] [--write]`` runs ``manage.py simulate`` for both
policies at mean show rates 0.55, 0.7 and 0.85, several seeds each, and prints the mean and
spread (sample standard deviation) of every figure. With ``--write`` it replaces the section
"## Policies: fixed versus adaptive" of docs/benchmarks.md (other sections are kept) and saves
the plot docs/policies.png (fill rate and surplus per order against the show rate).

Each simulation is a separate ``manage.py simulate`` process against its own throwaway SQLite
database (migrated once, then copied), so runs can go in parallel (``--jobs``) and nothing
touches the project's own database. The population of each seed is the same for both
policies: the hidden propensities depend on the seed and the show rate only.

With ``--results FILE`` every finished simulation is appended to FILE (one JSON object a
line) and simulations already there (same sizes, policy, show rate and seed) are not run
again, so an interrupted comparison resumes where it stopped. Delete the file when the code
changes: a simulation's figures are only valid for the code that made them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.report import REPO, command_line, machine_facts, now_utc, write_section

HEADING = "## Policies: fixed versus adaptive"
PLOT = REPO / "docs" / "policies.png"
POLICIES = ("fixed", "adaptive")
SHOW_RATES = (0.55, 0.7, 0.85)
FIGURES = ("fill_rate", "slot_fill_rate", "surplus_per_order", "sms_per_filled_slot",
           "median_minutes_to_fill", "no_show_rate", "overbooking_cost_per_order",
           "margin_per_order")


@dataclass(frozen=True)
class Run:
    """One simulation to make."""

    policy: str
    show_rate: float
    seed: int


def _migrated_database(directory: Path) -> Path:
    base = directory / "base.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{base}"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO, env=env,
                   check=True)
    return base


def _simulate(run: Run, base: Path, directory: Path, sizes: dict[str, int]) -> dict[str, Any]:
    database = directory / f"{run.policy}-{run.show_rate}-{run.seed}.sqlite3"
    shutil.copyfile(base, database)
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "manage.py", "simulate", "--workers", str(sizes["workers"]),
         "--orders", str(sizes["orders"]), "--days", str(sizes["days"]),
         "--policy", run.policy, "--seed", str(run.seed),
         "--mean-show-rate", str(run.show_rate), "--json"],
        cwd=REPO, env=env, check=True, capture_output=True, text=True,
    )
    database.unlink(missing_ok=True)
    result = json.loads(done.stdout)
    result["seconds"] = round(time.monotonic() - started, 1)
    print(f"{run.policy:8} show {run.show_rate:.2f} seed {run.seed}: "
          f"fill {result['fill_rate']:.3f} surplus {result['surplus_per_order']:.2f} "
          f"sms/slot {result['sms_per_filled_slot']} "
          f"over-booking {result['overbooking_cost_per_order']:.2f}/order "
          f"margin {result['margin_per_order']:.2f}/order ({result['seconds']} s)", flush=True)
    return result


def _other(policy: str) -> str:
    return POLICIES[1 - POLICIES.index(policy)]


def _load_results(path: Path | None, sizes: dict[str, int]) -> dict[Run, dict[str, Any]]:
    if path is None or not path.exists():
        return {}
    found = {}
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if record["sizes"] == sizes:
            found[Run(record["policy"], record["show_rate"], record["seed"])] = record["result"]
    return found


def _keep_result(path: Path | None, run: Run, sizes: dict[str, int],
                 result: dict[str, Any]) -> None:
    if path is None:
        return
    record = {"policy": run.policy, "show_rate": run.show_rate, "seed": run.seed,
              "sizes": sizes, "result": result}
    with path.open("a") as out:  # one short line per write: appends do not interleave
        out.write(json.dumps(record) + "\n")


def _rates(table: dict[tuple[str, float], Any]) -> list[float]:
    return sorted({rate for _, rate in table})


def _summary(values: list[float | None]) -> tuple[float, float]:
    numbers = [v for v in values if v is not None]
    if not numbers:
        return float("nan"), float("nan")
    spread = statistics.stdev(numbers) if len(numbers) > 1 else 0.0
    return statistics.fmean(numbers), spread


def summarise(results: dict[Run, dict[str, Any]]) -> dict[tuple[str, float], dict[str, Any]]:
    """Mean and standard deviation of every figure per (policy, show rate)."""
    table: dict[tuple[str, float], dict[str, Any]] = {}
    for policy in POLICIES:
        for rate in sorted({run.show_rate for run in results}):
            rows = [r for run, r in results.items()
                    if run.policy == policy and run.show_rate == rate]
            if rows:
                # A result kept from before a figure existed has none of it (n/a).
                table[(policy, rate)] = {
                    figure: _summary([row.get(figure) for row in rows]) for figure in FIGURES
                } | {"runs": len(rows), "seconds": _summary([row["seconds"] for row in rows])}
    return table


def verdicts(table: dict[tuple[str, float], dict[str, Any]]) -> dict[float, dict[str, bool]]:
    """The claim per show rate, on the means: adaptive fills at least as often, with at most
    60 % of fixed's surplus, and no more SMS per filled slot."""
    checks = {}
    for rate in _rates(table):
        fixed, adaptive = table.get(("fixed", rate)), table.get(("adaptive", rate))
        if fixed is None or adaptive is None:
            continue
        checks[rate] = {
            "fill_rate": adaptive["fill_rate"][0] >= fixed["fill_rate"][0],
            "surplus": adaptive["surplus_per_order"][0]
            <= 0.6 * fixed["surplus_per_order"][0],
            "sms_per_filled_slot": adaptive["sms_per_filled_slot"][0]
            <= fixed["sms_per_filled_slot"][0],
        }
    return checks


def plot(table: dict[tuple[str, float], dict[str, Any]], path: Path = PLOT) -> None:
    """Fill rate and surplus per order against the show rate, both policies, with spreads."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for policy, marker in zip(POLICIES, ("o", "s"), strict=True):
        rates = [rate for rate in _rates(table) if (policy, rate) in table]
        for axis, name in ((left, "fill_rate"), (right, "surplus_per_order")):
            means = [table[(policy, rate)][name][0] for rate in rates]
            spreads = [table[(policy, rate)][name][1] for rate in rates]
            axis.errorbar(rates, means, yerr=spreads, marker=marker, capsize=4, label=policy)
    left.set(title="Orders fully staffed at the start", xlabel="mean show rate",
             ylabel="fill rate")
    right.set(title="Workers present beyond the headcount", xlabel="mean show rate",
              ylabel="surplus per order")
    for axis in (left, right):
        axis.set_xticks(_rates(table))
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _cell(pair: tuple[float, float], digits: int) -> str:
    mean, spread = pair
    if math.isnan(mean):  # no value in any run
        return "n/a"
    return f"{mean:.{digits}f} ± {spread:.{digits}f}"


def _why() -> str:
    """What each policy books for a pool whose people all come with the same chance."""
    from dispatch.overbooking import adaptive_target, fixed_target, prob_at_least

    target = 0.95
    rows = []
    for rate in SHOW_RATES:
        cells = []
        for n in (2, 5, 12):
            fixed = fixed_target(n)
            chance = prob_at_least([rate] * fixed, n)
            adaptive = adaptive_target(n, [rate] * 100, target).booking_target
            cells.append(f"{n}: {fixed} ({chance:.2f}) vs {adaptive}")
        rows.append(f"at {rate:.2f}, " + "; ".join(cells))
    return (
        "Why. Both policies book to a chance that the crew turns up; they differ in which "
        "chance. The adaptive one books until at least the headcount comes with probability "
        f"{target}, counting a worker with little history at the show rate the franchise has "
        "seen lately. The house rule's chance is whatever 1.5 x gives (headcount: fixed booking "
        "(its chance) vs adaptive booking, when everyone comes with the same chance: "
        + "; ".join(rows) + "). At 0.55 the house rule fills fewer than half of the larger "
        "orders and the adaptive policy books far more to fill them; at 0.70 it books more "
        "for a chance of 0.95 instead of 0.72-0.84, and fills more orders with more surplus "
        "and more SMS; at 0.85 the two book about the same, and the difference is the standby "
        "called an hour before the start: the house rule calls one beside every silent "
        "worker, the adaptive policy only as far as the answers leave the crew short of its "
        "target, which gives less surplus and fewer SMS for a few points of fill rate. "
        "Surplus at most 60 % of the "
        "house rule's at an equal or higher fill rate would need to know, well before the "
        "start, which booked workers will come. Here the only signs are a worker's own record "
        "(about one booking per worker over these ten days) and the answers to the reminders "
        "(a worker who means to come answers with their reply propensity, mean 0.75, one who "
        "does not with 0.3 of it): before the start the adaptive policy calls standby only as "
        "far as those answers leave the crew short of its target, which trims surplus on "
        "crews that re-confirmed but cannot make the turn-out of the others predictable. "
        "The number of shows among the booked stays a sum of coin flips, and filling as often "
        "as the house rule costs about as many bookings as it makes."
    )


def _durations(table: dict[tuple[str, float], dict[str, Any]]) -> str:
    runs = sum(row["runs"] for row in table.values())
    seconds = sum(row["seconds"][0] * row["runs"] for row in table.values())
    return (f"{runs} simulations, {seconds / 60:.0f} min of simulation in all, "
            f"{seconds / max(runs, 1) / 60:.1f} min each on average")


def _seed_text(seeds: dict[float, list[int]]) -> str:
    if len({tuple(found) for found in seeds.values()}) <= 1:
        return ", ".join(map(str, next(iter(seeds.values()), [])))
    return "; ".join(f"{', '.join(map(str, found))} at show rate {rate:.2f}"
                     for rate, found in sorted(seeds.items()) if found)


def section(table: dict[tuple[str, float], dict[str, Any]], *, sizes: dict[str, int],
            seeds: dict[float, list[int]], argv: list[str] | None) -> str:
    """The Markdown section for docs/benchmarks.md."""
    shown = [arg for arg in (sys.argv[1:] if argv is None else argv) if arg != "--cached-only"]
    lines = [
        HEADING, "",
        f"Measured {now_utc()} on {machine_facts()}. Reproduce with "
        f"`{command_line('bench.bench_policies', shown)}` ({_durations(table)}).", "",
        f"`manage.py simulate` with {sizes['workers']:,} workers, {sizes['orders']} orders over "
        f"{sizes['days']} days, seeds {_seed_text(seeds)}; the real pipeline on a "
        "virtual clock against simulated workers (bench/SIMULATION.md). Each cell is the mean "
        "± the sample standard deviation over the seeds"
        + (" (± 0 where one seed ran; the full comparison, five seeds at each show rate, is "
           "`--seeds 5`, 30 simulations)." if min(map(len, seeds.values()), default=0) < 5
           else "."), "",
        "| show rate | policy | fill rate | slot fill rate | surplus / order | SMS / filled slot "
        "| median min to fill | no-show rate | over-booking cost / order | margin / order |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for rate in _rates(table):
        for policy in POLICIES:
            row = table.get((policy, rate))
            if row is None:
                continue
            lines.append(
                f"| {rate:.2f} | {policy} | {_cell(row['fill_rate'], 3)} | "
                f"{_cell(row['slot_fill_rate'], 3)} | {_cell(row['surplus_per_order'], 2)} | "
                f"{_cell(row['sms_per_filled_slot'], 1)} | "
                f"{_cell(row['median_minutes_to_fill'], 0)} | {_cell(row['no_show_rate'], 3)} | "
                f"{_cell(row['overbooking_cost_per_order'], 0)} | "
                f"{_cell(row['margin_per_order'], 0)} |"
            )
    lines += ["", "The claim (adaptive: fill rate at least fixed's, surplus at most 60 % of "
              "fixed's, SMS per filled slot no higher), on the means:", ""]
    for rate, check in verdicts(table).items():
        held = [name for name, ok in check.items() if ok]
        failed = [name for name, ok in check.items() if not ok]
        lines.append(f"- show rate {rate:.2f}: " + ("holds" if not failed else
                     "holds for " + (", ".join(held) or "nothing") + "; fails for "
                     + ", ".join(failed)))
    lines += ["", _why(), "", f"![Fill rate and surplus per order by policy and show rate]"
              f"({PLOT.name})", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=3000)
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--rates", type=float, nargs="+", default=list(SHOW_RATES))
    parser.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 1)))
    parser.add_argument("--results", type=Path, default=None,
                        help="append each simulation's figures here and reuse those found")
    parser.add_argument("--cached-only", action="store_true",
                        help="run nothing: report the simulations --results already holds")
    parser.add_argument("--write", action="store_true",
                        help="write docs/benchmarks.md's section and docs/policies.png")
    options = parser.parse_args(argv)
    sizes = {"workers": options.workers, "orders": options.orders, "days": options.days}
    seeds = list(range(1, options.seeds + 1))
    runs = [Run(policy, rate, seed) for rate in options.rates for seed in seeds
            for policy in POLICIES]
    results = _load_results(options.results, sizes)
    if options.cached_only:
        # Only what the results file holds, and only seeds both policies have run.
        runs = [run for run in runs if run in results
                and Run(_other(run.policy), run.show_rate, run.seed) in results]
    missing = [run for run in runs if run not in results]
    if missing:
        with tempfile.TemporaryDirectory(prefix="bench-policies-") as scratch:
            directory = Path(scratch)
            base = _migrated_database(directory)

            def simulate_and_keep(run: Run) -> dict[str, Any]:
                result = _simulate(run, base, directory, sizes)
                _keep_result(options.results, run, sizes, result)
                return result

            with ThreadPoolExecutor(max_workers=options.jobs) as pool:
                outcomes = list(pool.map(simulate_and_keep, missing))
        results.update(zip(missing, outcomes, strict=True))
    results = {run: results[run] for run in runs}
    table = summarise(results)
    seeds_by_rate = {rate: sorted({run.seed for run in runs if run.show_rate == rate})
                     for rate in options.rates}
    text = section(table, sizes=sizes, seeds=seeds_by_rate, argv=argv)
    print(text)
    if options.write:
        plot(table)
        write_section(HEADING, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
