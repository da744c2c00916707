"""Model instances from hand-written SELECTs, for the few reads on the inbound SMS path.

The ORM compiles a query afresh on every call: about 1.5 ms of CPU for an offer read with
its order, franchise and site, where PostgreSQL answers a prepared statement in a tenth of
that. The webhook's reads are few and fixed, so they are written once as SQL text (built
from the models' metadata, so a renamed column cannot drift) and turned back into ordinary
model instances, related objects cached as `select_related` would cache them.
"""

import weakref
from collections.abc import Sequence
from typing import Any, TypeVar, overload

from django.db import connections
from django.db.models import Field, ForeignObjectRel, Model
from django.db.models.fields.mixins import FieldCacheMixin


def quote(alias: str, name: str) -> str:
    return connections[alias].ops.quote_name(name)


def column(alias: str, model: type[Model], field: str, table: str) -> str:
    """`table.column` for `model.field`, quoted for the connection."""
    return f"{table}.{quote(alias, db_column(model._meta.get_field(field)))}"


def columns(alias: str, model: type[Model], table: str) -> str:
    """Every concrete column of `model`, in field order, prefixed by the table alias."""
    return ", ".join(
        f"{table}.{quote(alias, db_column(f))}" for f in model._meta.concrete_fields
    )


def db_column(field: "Field[Any, Any] | ForeignObjectRel") -> str:
    """The column of a field the model's table has (a reverse relation has none)."""
    if not isinstance(field, Field) or field.column is None:
        raise ValueError(f"{field!r} has no column of its own")
    return field.column


def table(alias: str, model: type[Model], name: str) -> str:
    return f"{quote(alias, model._meta.db_table)} {name}"


_M1 = TypeVar("_M1", bound=Model)
_M2 = TypeVar("_M2", bound=Model)
_M3 = TypeVar("_M3", bound=Model)
_M4 = TypeVar("_M4", bound=Model)


@overload
def instances(alias: str, models: tuple[type[_M1]], row: Sequence[Any]) -> tuple[_M1]: ...
@overload
def instances(
    alias: str, models: tuple[type[_M1], type[_M2], type[_M3], type[_M4]], row: Sequence[Any]
) -> tuple[_M1, _M2, _M3, _M4]: ...
@overload
def instances(
    alias: str, models: Sequence[type[Model]], row: Sequence[Any]
) -> tuple[Model, ...]: ...
def instances(alias: str, models: Sequence[type[Model]], row: Sequence[Any]) -> tuple[Model, ...]:
    """Cut a row made of `columns()` of each model in turn into one instance per model, in
    the order of `models` (typed as such for one model and for four).

    Values go through the fields' database converters (`from_db_value`) as the ORM's own
    reads do, so a phone number comes back a PhoneNumber and a decimal a Decimal.
    """
    connection = connections[alias]
    result: list[Model] = []
    start = 0
    for model in models:
        fields = model._meta.concrete_fields
        values = list(row[start : start + len(fields)])
        for index, expression, converters in _converters(connection, model):
            value = values[index]
            for convert in converters:
                value = convert(value, expression, connection)
            values[index] = value
        result.append(model.from_db(alias, [f.attname for f in fields], values))
        start += len(fields)
    return tuple(result)


# Per connection (each thread has its own) and model: (position, column, converters) for the
# fields that have any; most have none on PostgreSQL.
_CONVERTERS: "weakref.WeakKeyDictionary[Any, dict[type[Model], list[Any]]]" = (
    weakref.WeakKeyDictionary()
)


def _converters(connection: Any, model: type[Model]) -> list[Any]:
    known = _CONVERTERS.setdefault(connection, {})
    if model not in known:
        table_name = model._meta.db_table
        found = []
        for index, field in enumerate(model._meta.concrete_fields):
            col = field.get_col(table_name)
            converters = [
                *connection.ops.get_db_converters(col),
                *col.get_db_converters(connection),
            ]
            if converters:
                found.append((index, col, converters))
        known[model] = found
    return known[model]


def cache_related(instance: Model, field: str, related: Model) -> None:
    """What `select_related(field)` leaves behind: `instance.field` without a query."""
    relation = instance._meta.get_field(field)
    if not isinstance(relation, FieldCacheMixin):
        raise ValueError(f"{field!r} is not a relation")
    relation.set_cached_value(instance, related)


class Table:
    """A model's table under an alias, for writing SQL with `str.format`: the table itself
    formats as `"db_table" alias` (for FROM and JOIN), and `{t.field}` as the field's quoted
    column, `alias."column"` (a foreign key's name gives its `_id` column)."""

    def __init__(self, db_alias: str, model: type[Model], name: str) -> None:
        self._db_alias, self._model, self._name = db_alias, model, name

    def __str__(self) -> str:
        return table(self._db_alias, self._model, self._name)

    def __getattr__(self, field: str) -> str:
        if field.startswith("_"):
            raise AttributeError(field)
        return column(self._db_alias, self._model, field, self._name)
