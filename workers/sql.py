"""The raw SQL of the worker pool, in one place.

Read on every inbound SMS, the sender lookup is written once as SQL (core.rows): built by the
ORM, it (two dozen columns and an EXISTS) cost the webhook three times the CPU of the same
query written out. Columns are named, not `*`, so a statement PostgreSQL keeps prepared stays
valid when a migration adds a column.
"""

import functools

from core import rows
from messaging.models import OptOut

from .models import Worker


@functools.cache
def sender(alias: str) -> str:
    """The worker with a phone (their columns, NULL for a stranger) and whether the phone has
    opted out, as one row either way. Parameters: the phone, twice."""
    phone = rows.column(alias, Worker, "phone", "w")
    optout_phone = rows.column(alias, OptOut, "phone", "o")
    # The LEFT JOIN leaves the worker's columns NULL for a stranger; the opt-out is asked
    # either way.
    return (
        f"SELECT {rows.columns(alias, Worker, 'w')}, "
        f"EXISTS (SELECT 1 FROM {rows.table(alias, OptOut, 'o')} WHERE {optout_phone} = %s) "
        f"FROM (SELECT 1) one LEFT JOIN {rows.table(alias, Worker, 'w')} ON {phone} = %s"
    )
