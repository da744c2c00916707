"""The migrations describe the models exactly, and the project passes Django's checks."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_no_model_change_lacks_a_migration() -> None:
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db
def test_every_migration_is_applied_to_the_test_database() -> None:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    assert plan == []


def test_migration_graph_has_one_leaf_per_app() -> None:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    leaves: dict[str, list[str]] = {}
    for app, name in loader.graph.leaf_nodes():
        leaves.setdefault(app, []).append(name)
    conflicts = {app: names for app, names in leaves.items() if len(names) > 1}
    assert conflicts == {}


def test_manage_py_check_passes_in_a_fresh_process(tmp_path: Any) -> None:
    """Run as a user would: a fresh interpreter, where import order is not the test suite's."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'check.sqlite3'}",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "System check identified" in result.stdout


def test_check_passes_in_process() -> None:
    call_command("check", stdout=StringIO())
