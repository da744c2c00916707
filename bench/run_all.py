"""Run every benchmark in turn, each writing its section of ``docs/benchmarks.md``.

    python -m bench.run_all [--skip bench_webhooks] [--only bench_dispatch]
                                     (``make bench`` runs it with no options)

1. ``bench.bench_optimizer``: the OR-Tools assignment alone, no database ("## Optimiser");
2. ``bench.bench_dispatch``: candidate search and region batch on PostgreSQL at network scale
   ("## Dispatch at network scale");
3. ``bench.bench_webhooks``, when present: inbound SMS webhook throughput through gunicorn
   ("## Inbound webhook throughput"), with a short measuring window and a bounded wait for a
   quiet machine, to bound the run time;
4. ``bench.bench_console``: the board of a 1,000-order day and the client lookup over 10,000
   clients on PostgreSQL, their queries (flat as the data grows) and server times
   ("## Operator console");
5. ``bench.bench_scale``: a whole day's orders of the network (100,000 workers, 450
   franchises, 5,000 orders) placed, sent, answered and assigned end to end, with real Celery
   worker processes on Redis db 5 and SMS through the ``twilio`` client to a local fake
   ("## Network scale run"); the longest: 12-15 minutes on a 2-core machine (time
   limit 60).
6. ``bench.bench_morning``: a morning replayed on loopback, 20,000 signed inbound replies at
   200/s while operators place 500 orders, start their call-outs and read the board, through
   gunicorn, a Celery worker and beat on a private redis-server, and PostgreSQL
   ("## Morning replay"): errors, p99 per request, rows stored = replies sent (time limit 60).

Each runs in its own process with ``--write``, one after the other (the machine has few cores
and they would disturb each other's figures). The PostgreSQL benchmarks create and drop their
own databases through ``BENCH_ADMIN_DATABASE_URL`` (default
``postgres://postgres@127.0.0.1:5432/postgres``). A benchmark that overruns its time limit is
interrupted (so it cleans up) and counted as failed. A summary is printed at the end; the exit
status is non-zero when any benchmark failed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import REPO, admin_database_url, stop_group

WEBHOOK_SECONDS = 10
# Seconds the webhook benchmark may wait for a quiet machine before each of its runs.
QUIET_TIMEOUT = 60


@dataclass(frozen=True)
class Benchmark:
    module: str
    args: tuple[str, ...]
    timeout_seconds: int


BENCHMARKS = (
    Benchmark("bench.bench_optimizer", ("--write",), 300),
    Benchmark("bench.bench_dispatch", ("--write",), 900),
    Benchmark("bench.bench_webhooks", ("--write", "--seconds", str(WEBHOOK_SECONDS)), 600),
    Benchmark("bench.bench_console", ("--write",), 900),
    Benchmark("bench.bench_scale", ("--write",), 3600),
    Benchmark("bench.bench_morning", ("--write",), 3600),
)


@dataclass(frozen=True)
class Outcome:
    module: str
    status: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def run(benchmark: Benchmark, env: dict[str, str]) -> Outcome:
    command = [sys.executable, "-m", benchmark.module, *benchmark.args, *extra_args(benchmark)]
    print(f"\n=== {' '.join(command[1:])}", flush=True)
    started = time.perf_counter()
    # Its own process group, so an overrun can be stopped with everything it started.
    process = subprocess.Popen(command, cwd=REPO, env=env, start_new_session=True)
    try:
        returncode = process.wait(timeout=benchmark.timeout_seconds)
    except subprocess.TimeoutExpired:
        stop(process)
        return Outcome(
            benchmark.module, f"timed out after {benchmark.timeout_seconds} s",
            time.perf_counter() - started,
        )
    status = "ok" if returncode == 0 else f"failed (exit {returncode})"
    return Outcome(benchmark.module, status, time.perf_counter() - started)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Interrupt first (its cleanup drops its database and stops its servers), then insist."""
    stop_group(process, ((signal.SIGINT, 60), (signal.SIGTERM, 10), (signal.SIGKILL, 5)))


def extra_args(benchmark: Benchmark) -> tuple[str, ...]:
    """Bound the webhook benchmark's wait for an idle machine where it offers that option."""
    if benchmark.module != "bench.bench_webhooks":
        return ()
    spec = importlib.util.find_spec(benchmark.module)
    source = Path(spec.origin).read_text() if spec and spec.origin else ""
    return ("--quiet-timeout", str(QUIET_TIMEOUT)) if "--quiet-timeout" in source else ()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    names = [benchmark.module.removeprefix("bench.") for benchmark in BENCHMARKS]
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--skip", action="append", default=[], choices=names,
                        help="leave this benchmark out (repeatable)")
    parser.add_argument("--only", action="append", default=[], choices=names,
                        help="run only this benchmark (repeatable)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    admin_url = admin_database_url()
    env = dict(os.environ)
    env["BENCH_ADMIN_DATABASE_URL"] = admin_url
    # The webhook benchmark reads its admin URL under this name.
    env.setdefault("BENCH_PG_ADMIN_URL", admin_url)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    outcomes = []
    for benchmark in BENCHMARKS:
        name = benchmark.module.removeprefix("bench.")
        if name in args.skip or (args.only and name not in args.only):
            print(f"\n=== {benchmark.module}: skipped on request", flush=True)
            outcomes.append(Outcome(benchmark.module, "skipped (on request)", 0.0))
            continue
        if not available(benchmark.module):
            print(f"\n=== {benchmark.module}: not present, skipped", flush=True)
            outcomes.append(Outcome(benchmark.module, "skipped (module not present)", 0.0))
            continue
        outcomes.append(run(benchmark, env))
    print("\n| benchmark | result | seconds |\n|---|---|---:|")
    for outcome in outcomes:
        print(f"| {outcome.module} | {outcome.status} | {outcome.seconds:.0f} |")
    failed = [o for o in outcomes if not o.ok and not o.status.startswith("skipped")]
    print(
        f"\n{len(outcomes) - len(failed)} of {len(outcomes)} passed or skipped; figures in "
        f"{(REPO / 'docs' / 'benchmarks.md').relative_to(REPO)}",
        flush=True,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
