"""``manage.py solve_assignment``: the optimiser as a command, with no database."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from dispatch.management.commands.solve_assignment import run

REPO_ROOT = Path(__file__).resolve().parents[2]

PROBLEM = {
    "orders": [
        {"id": "o1", "slots": 2, "lat": 59.93, "lng": 30.31},
        {"id": 2, "slots": 1, "lat": 59.85, "lng": 30.20},
        {"id": "o3", "slots": 4, "lat": 59.99, "lng": 30.45},
    ],
    "workers": [
        {"id": "w1", "lat": 59.95, "lng": 30.30, "rating": 4.2, "reliability": 0.9},
        {"id": 7, "lat": 59.86, "lng": 30.21, "rating": 3.0, "reliability": 0.6},
        {"id": "w3", "lat": 59.94, "lng": 30.32, "rating": 5.0, "reliability": 1.0},
    ],
    "eligible": [["w1", "o1"], [7, 2], [7, "o1"], ["w3", "o1"], ["w1", "o1"]],
}


@pytest.fixture
def problem_file(tmp_path: Path) -> Path:
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(PROBLEM), encoding="utf-8")
    return path


def check_result(result: dict) -> None:
    assert sorted(map(tuple, result["assignments"]), key=str) == sorted(
        [("w1", "o1"), ("w3", "o1"), (7, 2)], key=str
    )
    assert result["filled"] == {"o1": 2, "2": 1, "o3": 0}
    assert result["objective"] > 0
    assert result["solve_seconds"] >= 0


def test_prints_the_result_json(problem_file, capsys):
    call_command("solve_assignment", str(problem_file))
    result = json.loads(capsys.readouterr().out)
    check_result(result)


def test_reads_standard_input(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(PROBLEM)))
    call_command("solve_assignment", "-")
    check_result(json.loads(capsys.readouterr().out))


def test_run_accepts_parsed_json_and_paths(problem_file):
    from_data = run(PROBLEM)
    from_path = run(problem_file)
    assert from_data["assignments"] == from_path["assignments"]
    assert from_data["filled"] == {"o1": 2, 2: 1, "o3": 0}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "invalid JSON"),
        ("[" * 100_000 + "]" * 100_000, "invalid JSON"),
        ('{"orders": [], "workers": [], "eligible": [["w", "o"]]}', "unknown worker id 'w'"),
        (
            json.dumps({**PROBLEM, "orders": [{"id": "o1", "slots": -1, "lat": 0, "lng": 0}]}),
            "slots must be a non-negative integer",
        ),
        (
            json.dumps(
                {
                    **PROBLEM,
                    "workers": [{"id": "w1", "lat": 0, "lng": 0, "rating": 7, "reliability": 1}],
                }
            ),
            "rating must be within 0..5",
        ),
        (json.dumps({**PROBLEM, "weights": {"speed": 1}}), "unknown weight key"),
        ("[]", "must be an object"),
    ],
)
def test_bad_input_is_a_command_error(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CommandError, match=message):
        call_command("solve_assignment", str(path))


def test_missing_file_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("solve_assignment", str(tmp_path / "absent.json"))


@pytest.mark.parametrize(
    "database_url", ["postgres://nobody:secret@127.0.0.1:1/nowhere", ""],
    ids=["nowhere", "set but empty"],
)
def test_works_with_the_database_pointing_nowhere(problem_file, database_url):
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    completed = subprocess.run(
        [sys.executable, "manage.py", "solve_assignment", str(problem_file)],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    check_result(json.loads(completed.stdout))

    failed = subprocess.run(
        [sys.executable, "manage.py", "solve_assignment", "-"],
        cwd=REPO_ROOT,
        env=environment,
        input='{"orders": [], "workers": [], "eligible": [["ghost", "o"]]}',
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert failed.returncode != 0
    assert "unknown worker id 'ghost'" in failed.stderr
