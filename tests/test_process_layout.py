"""The process layout shipped for production: the Procfile honcho runs and the systemd units
that restart whatever stops."""

import configparser
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UNITS = ROOT / "deploy" / "systemd"


def _procfile() -> dict[str, str]:
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, command = line.partition(":")
            entries[name.strip()] = command.strip()
    return entries


def test_honcho_accepts_the_procfile_with_web_worker_and_beat() -> None:
    checked = subprocess.run([sys.executable, "-m", "honcho", "check"], check=False, cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr
    assert set(_procfile()) == {"web", "worker", "beat"}


def test_each_process_has_a_systemd_unit_that_always_restarts_it() -> None:
    for name, command in _procfile().items():
        unit = configparser.ConfigParser(strict=False, interpolation=None)
        unit.read(UNITS / f"crewdispatch-{name}.service")
        service = unit["Service"]
        assert service["Restart"] == "always", name
        program = command.split()[:2]  # e.g. "celery -A", "gunicorn config.wsgi"
        assert f"/.venv/bin/{program[0]} {program[1]}" in service["ExecStart"], name


def test_the_health_timer_checks_worker_and_beat() -> None:
    health = (UNITS / "crewdispatch-health.service").read_text()
    assert "manage.py health --worker" in health
    assert "manage.py health --beat" in health
    assert "OnUnitActiveSec" in (UNITS / "crewdispatch-health.timer").read_text()
