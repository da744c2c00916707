"""The raw SQL of messaging, in one place.

Each statement runs where the ORM's cost would be felt: the INSERT of every inbound SMS (the
webhook's whole budget is a few milliseconds, and the ORM's INSERT cost one and a half times
the CPU), the outbox's bulk INSERT of a batch's texts, and the send loop's claim and record of
rows. Table and column names come from the model, quoted for the database; columns are named,
never `*`, so a statement PostgreSQL keeps prepared stays valid when a migration adds one.
"""

import functools
from typing import Any

from django.db import connections

from core import rows

from .models import Message


def _fields() -> list[Any]:
    return [field for field in Message._meta.concrete_fields if not field.primary_key]


@functools.cache
def insert_one(alias: str) -> tuple[str, list[Any]]:
    """INSERT of one message unless one with its provider sid exists, returning its id (no row
    when it existed); and the fields whose values go in, in order."""
    quote = connections[alias].ops.quote_name
    meta = Message._meta
    fields = _fields()
    statement = (
        f"INSERT INTO {quote(meta.db_table)} "
        f"({', '.join(quote(rows.db_column(f)) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({quote(rows.db_column(meta.get_field('provider_sid')))}) DO NOTHING "
        f"RETURNING {quote(rows.db_column(meta.pk))}"
    )
    return statement, fields


@functools.cache
def insert_many(alias: str) -> tuple[str, list[Any]]:
    """PostgreSQL: INSERT of many messages, each column one array parameter that the server
    unnests, returning the ids; and the fields whose arrays go in, in order."""
    connection = connections[alias]
    fields = _fields()
    quote = connection.ops.quote_name
    # %b: binary parameters, so psycopg need not scan every string for characters to quote.
    arrays = ", ".join(f"%b::{field.db_type(connection)}[]" for field in fields)
    statement = (
        f"INSERT INTO {quote(Message._meta.db_table)} "
        f"({', '.join(quote(rows.db_column(field)) for field in fields)}) "
        f"SELECT * FROM unnest({arrays}) RETURNING {quote(rows.db_column(Message._meta.pk))}"
    )
    return statement, fields


@functools.cache
def columns(alias: str) -> dict[str, str]:
    """The message table's name and its columns by field name, quoted, for UPDATEs (SQLite's
    take no table alias)."""
    quoted = {
        field.name: rows.quote(alias, rows.db_column(field))
        for field in Message._meta.concrete_fields
    }
    return {**quoted, "table": rows.quote(alias, Message._meta.db_table)}


def claim_many(alias: str, count: int) -> str:
    """UPDATE moving the still-queued outbound rows among `count` ids to a status, with a
    lease, returning those moved. Parameters: the status, the lease's end, the ids, the
    direction out, the queued status."""
    column = columns(alias)
    ids = ", ".join(["%s"] * count)
    return (
        f"UPDATE {column['table']} SET {column['status']} = %s, {column['next_attempt_at']} = %s "
        f"WHERE {column['id']} IN ({ids}) AND {column['direction']} = %s "
        f"AND {column['status']} = %s RETURNING {column['id']}"
    )


@functools.cache
def record_sent(alias: str) -> str:
    """PostgreSQL: one UPDATE recording many sends (sid, time, segments, cost per row, each as
    an array), for the rows still in the given status; returns the ids it moved. Parameters:
    the new status, the five arrays, the status the rows must still be in."""
    m = rows.Table(alias, Message, "m")
    column = columns(alias)
    return (
        f"UPDATE {column['table']} AS m SET {column['status']} = %s, "
        f"{column['provider_sid']} = v.sid, {column['sent_at']} = v.sent_at, "
        f"{column['attempts']} = {m.attempts} + 1, {column['next_attempt_at']} = NULL, "
        f"{column['error_message']} = '', "
        f"{column['segments']} = COALESCE(v.segments, {m.segments}), "
        f"{column['cost_estimate']} = COALESCE(v.cost, {m.cost_estimate}) "
        f"FROM unnest(%s::bigint[], %s::text[], %s::timestamptz[], %s::integer[], "
        f"%s::numeric[]) AS v(id, sid, sent_at, segments, cost) "
        f"WHERE {m.id} = v.id AND {m.status} = %s RETURNING {m.id}"
    )
