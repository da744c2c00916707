"""Database expressions the ORM lacks, written for both backends the project runs on."""

from typing import Any

from django.db.models import FloatField, Func


class MillisecondsBetween(Func):
    """``MillisecondsBetween(later, earlier)``: the milliseconds from `earlier` to `later`
    (negative when `later` is the earlier one), computed by the database itself.

    Django's own datetime arithmetic on SQLite runs a Python function for every row (it parses
    both timestamps), which over a month of bookings is most of an aggregate's time. SQLite
    uses its native ``julianday`` here, rounded to whole milliseconds (about the precision of
    its day fraction), and PostgreSQL the interval's epoch.
    """

    arity = 2
    output_field = FloatField()
    arg_joiner = " - "
    template = "CAST(EXTRACT(EPOCH FROM (%(expressions)s)) * 1000 AS double precision)"

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, arg_joiner=") - julianday(",
            template="ROUND((julianday(%(expressions)s)) * 86400000.0)", **extra,
        )
