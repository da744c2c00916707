"""The embedded SQLite database under concurrent writers: `make run` serves requests from
several threads and runs the sweeper beside them, all on one file."""

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connections, transaction

ALIAS = "embedded"


@pytest.fixture
def embedded(tmp_path: Path, django_db_blocker: Any) -> Iterator[Path]:
    """A database alias for a SQLite file configured as the embedded default is (each thread
    gets its own connection to it, as each request's thread does)."""
    path = tmp_path / "db.sqlite3"
    config = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path),
              "OPTIONS": dict(settings.SQLITE_OPTIONS)}
    configured = connections.configure_settings({"default": dict(config), ALIAS: config})
    connections.settings[ALIAS] = configured[ALIAS]
    try:
        with django_db_blocker.unblock():
            yield path
    finally:
        connections[ALIAS].close()
        del connections.settings[ALIAS]


def _connection(path: Path) -> Any:
    return connections[ALIAS]


def test_a_transaction_that_reads_then_writes_waits_for_another_writer(embedded: Path) -> None:
    # The shape of every webhook and API write: read (who sent this, which order), then
    # write. With SQLite's deferred transactions the second writer failed at once with
    # "database is locked" instead of waiting for the first.
    path = embedded
    setup = _connection(path)
    with setup.cursor() as cursor:
        cursor.execute("CREATE TABLE inbox (id INTEGER PRIMARY KEY, body TEXT)")
    setup.close()

    first_has_read = threading.Event()
    second_started = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        db = _connection(path)
        try:
            with transaction.atomic(using=db.alias), db.cursor() as cursor:
                cursor.execute("SELECT COUNT(*) FROM inbox")
                first_has_read.set()
                second_started.wait(5)
                cursor.execute("INSERT INTO inbox (body) VALUES ('first')")
        except BaseException as exc:
            errors.append(exc)
        finally:
            db.close()

    def second() -> None:
        db = _connection(path)
        try:
            first_has_read.wait(5)
            second_started.set()
            with transaction.atomic(using=db.alias), db.cursor() as cursor:
                cursor.execute("SELECT COUNT(*) FROM inbox")
                cursor.execute("INSERT INTO inbox (body) VALUES ('second')")
        except BaseException as exc:
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    check = _connection(path)
    with check.cursor() as cursor:
        cursor.execute("SELECT body FROM inbox ORDER BY id")
        assert [row[0] for row in cursor.fetchall()] == ["first", "second"]
    check.close()
