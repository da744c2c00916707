"""The policy comparison: the house rule (book R x headcount) against adaptive booking (book
for a chance C of a full crew), as curves, by simulation.

``python -m bench.bench_policies [--seeds 5] [--write]`` runs ``manage.py simulate`` for both
policies at mean show rates 0.55, 0.7 and 0.85, on a pool with a past (``--history-days``
56, "warm") and on a cold one (``--history-days 0``). The house rule is swept over booking
ratios (``--ratios``, default 1.2-1.8) and the adaptive policy over target chances
(``--targets``, default 0.80-0.97). The two defaults (1.5 x, and the setting
``ADAPTIVE_SHOW_TARGET``) run with every seed (``--seeds``); the other points of the curves
with ``--curve-seeds`` seeds (default: as many).

It prints, and with ``--write`` puts into docs/benchmarks.md's section "## Policies: fixed
versus adaptive" (other sections are kept): the defaults on the warm pool with the issue's
claim checked on the means; each curve point's fill rate, surplus per order and SMS per filled
slot; and on each pool the adaptive policy's surplus at the house rule's fill (read off its
curve, straight between neighbouring points). It also saves the plot docs/policies.png.

Each simulation is a separate ``manage.py simulate`` process against its own throwaway SQLite
database (migrated once, then copied), so runs can go in parallel (``--jobs``) and nothing
touches the project's own database. The population of a seed is the same for every policy and
setting: the hidden propensities depend on the seed and the show rate only.

``--claim`` runs only the two defaults on the warm pool, with every seed, and writes them
(with ``--write``) under "## Policies: the claim at simulate's defaults": the measurement the
claim is judged on, without the curves around it.

With ``--results FILE`` every finished simulation is appended to FILE (one JSON object a
line) and simulations already there (same sizes and run) are not run again, so an interrupted
sweep resumes where it stopped. Delete the file when the code changes: a simulation's figures
are only valid for the code that made them.
"""

from __future__ import annotations

import argparse
import itertools
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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.report import REPO, command_line, machine_facts, now_utc, write_section

HEADING = "## Policies: fixed versus adaptive"
CLAIM_HEADING = "## Policies: the claim at simulate's defaults"
PLOT = REPO / "docs" / "policies.png"
POLICIES = ("fixed", "adaptive")
SHOW_RATES = (0.55, 0.7, 0.85)
RATIOS = (1.2, 1.35, 1.5, 1.65, 1.8)
TARGETS = (0.8, 0.85, 0.9, 0.95, 0.97)
HOUSE_RATIO = 1.5
WARM_DAYS = 56
FIGURES = ("fill_rate", "slot_fill_rate", "surplus_per_order", "sms_per_filled_slot",
           "median_minutes_to_fill", "no_show_rate", "overbooking_cost_per_order",
           "margin_per_order", "mean_show_propensity")


def default_target() -> float:
    """The adaptive policy's target chance as the settings have it."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.conf import settings

    django.setup()
    return float(settings.DISPATCH["ADAPTIVE_SHOW_TARGET"])


@dataclass(frozen=True)
class Run:
    """One simulation: a policy at a setting (the ratio or the target chance), a show rate, a
    pool (days of history) and a seed."""

    policy: str
    setting: float
    show_rate: float
    history_days: int
    seed: int


def _migrated_database(directory: Path) -> Path:
    base = directory / "base.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{base}"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO, env=env,
                   check=True)
    return base


def _simulate(run: Run, base: Path, directory: Path, sizes: dict[str, int]) -> dict[str, Any]:
    name = f"{run.policy}-{run.setting}-{run.show_rate}-{run.history_days}-{run.seed}"
    database = directory / f"{name}.sqlite3"
    shutil.copyfile(base, database)
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}
    knob = "--booking-ratio" if run.policy == "fixed" else "--target-chance"
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "manage.py", "simulate", "--workers", str(sizes["workers"]),
         "--orders", str(sizes["orders"]), "--days", str(sizes["days"]),
         "--policy", run.policy, "--seed", str(run.seed),
         "--mean-show-rate", str(run.show_rate), "--history-days", str(run.history_days),
         knob, str(run.setting), "--json"],
        cwd=REPO, env=env, check=True, capture_output=True, text=True,
    )
    database.unlink(missing_ok=True)
    result = json.loads(done.stdout)
    result["seconds"] = round(time.monotonic() - started, 1)
    print(f"{name}: fill {result['fill_rate']:.3f} surplus {result['surplus_per_order']:.2f} "
          f"sms/slot {result['sms_per_filled_slot']} ({result['seconds']} s)", flush=True)
    return result


def _load_results(path: Path | None, sizes: dict[str, int]) -> dict[Run, dict[str, Any]]:
    if path is None or not path.exists():
        return {}
    found = {}
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if record.get("sizes") == sizes and "run" in record:
            found[Run(**record["run"])] = record["result"]
    return found


def _keep_result(path: Path | None, run: Run, sizes: dict[str, int],
                 result: dict[str, Any]) -> None:
    if path is None:
        return
    record = {"run": asdict(run), "sizes": sizes, "result": result}
    with path.open("a") as out:  # one short line per write: appends do not interleave
        out.write(json.dumps(record) + "\n")


def _summary(values: list[float | None]) -> tuple[float, float]:
    numbers = [v for v in values if v is not None]
    if not numbers:
        return float("nan"), float("nan")
    spread = statistics.stdev(numbers) if len(numbers) > 1 else 0.0
    return statistics.fmean(numbers), spread


Point = tuple[str, float, float, int]  # policy, setting, show rate, history days


def summarise(results: dict[Run, dict[str, Any]]) -> dict[Point, dict[str, Any]]:
    """Mean and standard deviation of every figure per curve point, over its seeds."""
    grouped: dict[Point, list[dict[str, Any]]] = {}
    for run, result in results.items():
        grouped.setdefault((run.policy, run.setting, run.show_rate, run.history_days),
                           []).append(result)
    return {
        point: {figure: _summary([row.get(figure) for row in rows]) for figure in FIGURES}
        | {"runs": len(rows), "seconds": _summary([row["seconds"] for row in rows])}
        for point, rows in grouped.items()
    }


def verdicts(table: dict[Point, dict[str, Any]], target: float, history_days: int
             ) -> dict[float, dict[str, bool]]:
    """The claim per show rate on the warm pool, on the means: the adaptive policy at its
    default target fills at least as many orders as the house rule at 1.5 x (less 0.01), with
    at most 60 % of its surplus per order and no more SMS per filled slot."""
    checks = {}
    for rate in sorted({point[2] for point in table}):
        fixed = table.get(("fixed", HOUSE_RATIO, rate, history_days))
        adaptive = table.get(("adaptive", target, rate, history_days))
        if fixed is None or adaptive is None:
            continue
        checks[rate] = {
            "fill_rate": adaptive["fill_rate"][0] >= fixed["fill_rate"][0] - 0.01,
            "surplus": adaptive["surplus_per_order"][0]
            <= 0.6 * fixed["surplus_per_order"][0],
            "sms_per_filled_slot": adaptive["sms_per_filled_slot"][0]
            <= fixed["sms_per_filled_slot"][0],
        }
    return checks


def curve(table: dict[Point, dict[str, Any]], policy: str, rate: float, history_days: int
          ) -> list[tuple[float, float, float, float]]:
    """(setting, fill rate, surplus per order, SMS per filled slot) along a policy's curve."""
    return sorted(
        (setting, row["fill_rate"][0], row["surplus_per_order"][0],
         row["sms_per_filled_slot"][0])
        for (p, setting, r, days), row in table.items()
        if p == policy and r == rate and days == history_days
    )


def surplus_at_fill(points: list[tuple[float, float, float, float]], fill: float
                    ) -> float | None:
    """The surplus per order a curve gives at `fill`, straight between the two neighbouring
    points by fill rate; None when the curve does not reach that fill."""
    ordered = sorted((f, s) for _, f, s, _ in points)
    if len(ordered) == 1 and ordered[0][0] == fill:
        return ordered[0][1]
    for (f0, s0), (f1, s1) in itertools.pairwise(ordered):
        if f0 <= fill <= f1:
            return s0 if f1 == f0 else s0 + (s1 - s0) * (fill - f0) / (f1 - f0)
    return None


def plot(table: dict[Point, dict[str, Any]], pools: list[int], path: Path = PLOT) -> None:
    """For each pool and show rate: surplus per order and SMS per filled slot against the fill
    rate, one curve per policy, each point labelled with its setting."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rates = sorted({point[2] for point in table})
    figure, axes = plt.subplots(2 * len(pools), len(rates), squeeze=False,
                                figsize=(4.2 * len(rates), 3.3 * 2 * len(pools)))
    for row, days in enumerate(pools):
        pool = "warm pool" if days else "cold pool"
        for column, rate in enumerate(rates):
            for policy, marker in zip(POLICIES, ("o", "s"), strict=True):
                points = curve(table, policy, rate, days)
                if not points:
                    continue
                fills = [p[1] for p in points]
                for offset, index, label in ((0, 2, "surplus per order"),
                                             (1, 3, "SMS per filled slot")):
                    axis = axes[2 * row + offset][column]
                    axis.plot(fills, [p[index] for p in points], marker=marker, label=policy)
                    for point in points:
                        axis.annotate(f"{point[0]:g}", (point[1], point[index]), fontsize=7,
                                      xytext=(3, 3), textcoords="offset points")
                    axis.set(title=f"{pool}, show rate {rate:.2f}", xlabel="fill rate",
                             ylabel=label)
                    axis.grid(alpha=0.3)
                    axis.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)


def _cell(pair: tuple[float, float], digits: int) -> str:
    mean, spread = pair
    if math.isnan(mean):  # no value in any run
        return "n/a"
    return f"{mean:.{digits}f} ± {spread:.{digits}f}"


def _durations(table: dict[Point, dict[str, Any]]) -> str:
    runs = sum(row["runs"] for row in table.values())
    seconds = sum(row["seconds"][0] * row["runs"] for row in table.values())
    return (f"{runs} simulations, {seconds / 60:.0f} min of simulation in all, "
            f"{seconds / max(runs, 1) / 60:.1f} min each on average")


def defaults_lines(table: dict[Point, dict[str, Any]], *, target: float, warm: int,
                   rates: list[float]) -> list[str]:
    """The two defaults on the warm pool, each figure's mean and spread, and the claim checked
    on the means."""
    lines = [
        f"### The defaults on the warm pool (house rule 1.5 x, adaptive at {target:g})", "",
        "| show rate | policy | fill rate | slot fill rate | surplus / order | "
        "SMS / filled slot | median min to fill | no-show rate | over-booking cost / order "
        "| margin / order |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for rate in rates:
        for policy, setting in (("fixed", HOUSE_RATIO), ("adaptive", target)):
            row = table.get((policy, setting, rate, warm))
            if row is None:
                continue
            lines.append(
                f"| {rate:.2f} | {policy} | {_cell(row['fill_rate'], 3)} | "
                f"{_cell(row['slot_fill_rate'], 3)} | "
                f"{_cell(row['surplus_per_order'], 2)} | "
                f"{_cell(row['sms_per_filled_slot'], 1)} | "
                f"{_cell(row['median_minutes_to_fill'], 0)} | "
                f"{_cell(row['no_show_rate'], 3)} | "
                f"{_cell(row['overbooking_cost_per_order'], 0)} | "
                f"{_cell(row['margin_per_order'], 0)} |"
            )
    lines += ["", "The claim (adaptive at its default target: fill rate at least the house "
              "rule's less 0.01, surplus at most 60 % of the house rule's, SMS per filled "
              "slot no higher), on the means:", ""]
    for rate, check in verdicts(table, target, warm).items():
        held = [name for name, ok in check.items() if ok]
        failed = [name for name, ok in check.items() if not ok]
        lines.append(f"- show rate {rate:.2f}: " + ("holds" if not failed else
                     "holds for " + (", ".join(held) or "nothing") + "; fails for "
                     + ", ".join(failed)))
    lines.append("")
    return lines


def section(table: dict[Point, dict[str, Any]], *, sizes: dict[str, int], target: float,
            pools: list[int], seeds: int, curve_seeds: int, argv: list[str] | None) -> str:
    """The Markdown section for docs/benchmarks.md."""
    shown = [arg for arg in (sys.argv[1:] if argv is None else argv) if arg != "--cached-only"]
    warm = max(pools)
    rates = sorted({point[2] for point in table})
    lines = [
        HEADING, "",
        f"Measured {now_utc()} on {machine_facts()}. Reproduce with "
        f"`{command_line('bench.bench_policies', shown)}` ({_durations(table)}).", "",
        f"`manage.py simulate` with {sizes['workers']:,} workers, {sizes['orders']} orders over "
        f"{sizes['days']} days; the real pipeline on a virtual clock against simulated workers "
        "(bench/SIMULATION.md). The warm pool has "
        f"{warm} days of recorded past (`--history-days {warm}`), about a fifth of it new with "
        "no record and a few joining during the run; the cold pool has none "
        "(`--history-days 0`). The two defaults (house rule 1.5 x, adaptive at target chance "
        f"{target:g}) ran with {seeds} seed(s), the other points of the curves with "
        f"{curve_seeds}. Each cell is the mean ± the sample standard deviation over the seeds "
        "(± 0 where one seed ran).", "",
    ]
    if warm:
        lines += defaults_lines(table, target=target, warm=warm, rates=rates)
    lines += ["### The curves", "",
              "Setting: the booking ratio of the house rule, the target chance of the adaptive "
              "policy. Means over the seeds.", "",
              "| pool | show rate | policy | setting | fill rate | surplus / order | "
              "SMS / filled slot | runs |",
              "|---|---|---|---|---|---|---|---|"]
    for days in pools:
        for rate in rates:
            for policy in POLICIES:
                for setting, fill, surplus, sms in curve(table, policy, rate, days):
                    runs = table[(policy, setting, rate, days)]["runs"]
                    lines.append(f"| {'warm' if days else 'cold'} | {rate:.2f} | {policy} | "
                                 f"{setting:g} | {fill:.3f} | {surplus:.2f} | {sms:.1f} | "
                                 f"{runs} |")
    lines += ["", "The adaptive policy's surplus at the house rule's fill (its curve read "
              "straight between neighbouring points):", "",
              "| pool | show rate | house rule 1.5 x: fill | its surplus | adaptive's surplus "
              "at that fill |", "|---|---|---|---|---|"]
    for days in pools:
        for rate in rates:
            house = table.get(("fixed", HOUSE_RATIO, rate, days))
            if house is None:
                continue
            fill = house["fill_rate"][0]
            read = surplus_at_fill(curve(table, "adaptive", rate, days), fill)
            lines.append(f"| {'warm' if days else 'cold'} | {rate:.2f} | {fill:.3f} | "
                         f"{house['surplus_per_order'][0]:.2f} | "
                         f"{'not reached' if read is None else f'{read:.2f}'} |")
    lines += ["", "![Surplus per order and SMS per filled slot against the fill rate, by "
              f"policy, show rate and pool]({PLOT.name})", ""]
    return "\n".join(lines)


def claim_section(table: dict[Point, dict[str, Any]], *, sizes: dict[str, int], target: float,
                  warm: int, seeds: int, argv: list[str] | None) -> str:
    """The Markdown section of a `--claim` run: the two defaults only, on the warm pool."""
    shown = [arg for arg in (sys.argv[1:] if argv is None else argv) if arg != "--cached-only"]
    rates = sorted({point[2] for point in table})
    return "\n".join([
        CLAIM_HEADING, "",
        f"Measured {now_utc()} on {machine_facts()}. Reproduce with "
        f"`{command_line('bench.bench_policies', shown)}` ({_durations(table)}).", "",
        f"`manage.py simulate` at its defaults: {sizes['workers']:,} workers, {sizes['orders']} "
        f"orders over {sizes['days']} days, on the pool with {warm} days of recorded past, "
        f"{seeds} seeds; the house rule at 1.5 x and the adaptive policy at its default target "
        f"chance ({target:g}). Each cell is the mean ± the sample standard deviation over the "
        "seeds.", "",
        *defaults_lines(table, target=target, warm=warm, rates=rates),
    ])


def _floats(text: str) -> list[float]:
    return [float(part) for part in text.split(",") if part.strip()]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--curve-seeds", type=int, default=None)
    parser.add_argument("--workers", type=int, default=3000)
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--rates", type=_floats, default=list(SHOW_RATES))
    parser.add_argument("--ratios", type=_floats, default=list(RATIOS))
    parser.add_argument("--targets", type=_floats, default=list(TARGETS))
    parser.add_argument("--pools", type=lambda text: [int(d) for d in text.split(",")],
                        default=[WARM_DAYS, 0],
                        help="days of history of each pool, comma-separated (0: cold)")
    parser.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 1)))
    parser.add_argument("--results", type=Path, default=None,
                        help="append each simulation's figures here and reuse those found")
    parser.add_argument("--cached-only", action="store_true",
                        help="run nothing: report the simulations --results already holds")
    parser.add_argument("--write", action="store_true",
                        help="write docs/benchmarks.md's section and docs/policies.png")
    parser.add_argument("--claim", action="store_true",
                        help="the two defaults only, on the warm pool (no curves, no plot); "
                        f"--write puts them under \"{CLAIM_HEADING[3:]}\"")
    return parser


def main(argv: list[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    target = default_target()
    curve_seeds = options.curve_seeds or options.seeds
    sizes = {"workers": options.workers, "orders": options.orders, "days": options.days}
    if options.claim:
        options.ratios, options.targets = [HOUSE_RATIO], [target]
        options.pools = [max(options.pools)]
    settings = {"fixed": sorted({*options.ratios, HOUSE_RATIO}),
                "adaptive": sorted({*options.targets, target})}
    defaults = {"fixed": HOUSE_RATIO, "adaptive": target}
    runs = [
        Run(policy, setting, rate, days, seed)
        for days in options.pools for rate in options.rates
        for seed in range(1, options.seeds + 1)
        for policy in POLICIES for setting in settings[policy]
        if setting == defaults[policy] or seed <= curve_seeds
    ]
    # The defaults first: the claim needs them; the curves fill in around them.
    runs.sort(key=lambda run: (run.setting != defaults[run.policy], run.seed))
    results = _load_results(options.results, sizes)
    if options.cached_only:
        runs = [run for run in runs if run in results]
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
    if options.claim:
        text = claim_section(table, sizes=sizes, target=target, warm=options.pools[0],
                             seeds=options.seeds, argv=argv)
        print(text)
        if options.write:
            write_section(CLAIM_HEADING, text)
        return 0
    text = section(table, sizes=sizes, target=target, pools=options.pools, seeds=options.seeds,
                   curve_seeds=curve_seeds, argv=argv)
    print(text)
    if options.write:
        plot(table, options.pools)
        write_section(HEADING, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
