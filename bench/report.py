"""What every benchmark report shares: the machine it ran on and its section of the docs.

``docs/benchmarks.md`` is written by several benchmarks; each owns one ``## `` section and
replaces only that one, so running one benchmark never erases another's figures.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "benchmarks.md"
DEFAULT_ADMIN_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"


def admin_database_url() -> str:
    """A PostgreSQL URL allowed to create and drop the benchmark databases."""
    return (
        os.environ.get("BENCH_ADMIN_DATABASE_URL")
        or os.environ.get("BENCH_PG_ADMIN_URL")
        or DEFAULT_ADMIN_DATABASE_URL
    )


def database_url(admin_url: str, name: str) -> str:
    """`admin_url` pointing at the database `name` instead."""
    return urlunsplit(urlsplit(admin_url)._replace(path="/" + name))


def drop_database(admin_url: str, name: str) -> None:
    """Drop a benchmark's database, closing whatever connections it still has."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as admin:
        try:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except psycopg.errors.SyntaxError:  # PostgreSQL before 13
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


def create_database(admin_url: str, name: str) -> str:
    """A fresh, empty database `name` (dropped first if left over); returns the server's
    version."""
    import psycopg

    drop_database(admin_url, name)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        row = admin.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "unknown"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> str:
    try:
        return " / ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "n/a"


def machine_facts(postgres_version: str | None = None) -> str:
    """One line: cores, CPU, Python, PostgreSQL (when used), load average at the start."""
    parts = [
        f"{os.cpu_count()} CPUs (`nproc`), {cpu_model()}",
        f"Python {platform.python_version()}",
    ]
    if postgres_version:
        parts.append(f"PostgreSQL {postgres_version}")
    parts.append(f"{platform.system()} {platform.release()}")
    parts.append(f"load average {load_average()} (1/5/15 min) at the start")
    return "; ".join(parts)


def now_utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def command_line(module: str, argv: list[str] | None) -> str:
    args = sys.argv[1:] if argv is None else argv
    return " ".join(["python", "-m", module, *args])


def write_section(heading: str, section: str, doc: Path = DOC) -> None:
    """Replace the section that starts with ``heading`` (up to the next ``## ``), or append it.

    ``section`` must start with the heading line itself. Every other section is kept as it is.
    """
    doc.parent.mkdir(parents=True, exist_ok=True)
    text = doc.read_text() if doc.exists() else "# Benchmarks\n"
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == heading), None)
    block = section.rstrip("\n") + "\n"
    if start is None:
        text = text.rstrip("\n") + "\n\n" + block
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        after = "".join(lines[end:])
        text = "".join(lines[:start]) + block + ("\n" + after if after else "")
    doc.write_text(text)


def stop_group(process: Any, steps: tuple[tuple[int, float], ...]) -> None:
    """Signal the process group of `process` with each (signal, seconds to wait) in turn,
    until it has exited."""
    import subprocess

    for signal_number, wait in steps:
        if process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal_number)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def proc_stats() -> Iterator[tuple[int, str, str]]:
    """(pid, command name, the rest of /proc/PID/stat after the name) of every process."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        yield int(entry), raw[raw.index("(") + 1 : raw.rindex(")")], raw[raw.rindex(")") + 2 :]
