"""The morning replay's short smoke: the whole process layout (gunicorn, a Celery worker and
beat on their own redis-server, PostgreSQL) takes 300 signed replies while operators place 20
orders and read the board; nothing is lost and nothing errs. The full size runs in
`make bench`; speed is judged there, not here."""

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

ROOT = Path(__file__).resolve().parent.parent


def test_a_small_morning_stores_every_reply_and_places_every_order(db: object) -> None:
    own = urlsplit(os.environ["DATABASE_URL"])
    admin = urlunsplit(own._replace(path="/postgres"))
    name = f"bench_morning_smoke_{connection.settings_dict['NAME']}_{os.getpid()}"
    run = subprocess.run(
        [sys.executable, "-m", "bench.bench_morning", "--replies", "300", "--orders", "20",
         "--rate", "60", "--workers", "300", "--operators", "4", "--web", "3",
         "--drain", "60", "--budget", "150", "--database", name, "--json"],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=400,
        env={**os.environ, "BENCH_ADMIN_DATABASE_URL": admin},
    )
    assert run.returncode in (0, 1), run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["replies_sent"] == 300
    assert result["inbound_rows"] == 300
    assert result["replies_answered_200"] == 300
    assert result["orders_placed"] == 20
    errors = {kind: row["error_kinds"] for kind, row in result["requests"].items() if row["errors"]}
    assert errors == {}
    assert result["requests"]["board page"]["requests"] == 20
    assert result["texts_sent"] >= result["offers"] > 0
    assert result["outbox_left_after_drain"] == 0
    assert run.returncode == 0
