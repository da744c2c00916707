"""A small set of tags stored in one indexed text column.

Skills are a handful of fixed words per worker and are filtered on with every candidate
search. Stored as ",general,loading," the test "has skill X" is `LIKE '%,X,%'` on every
database we run on (SQLite has neither arrays nor JSON containment), and the Python value is
a sorted list.
"""

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Lookup
from django.utils.translation import gettext as _


class TagSetField(models.CharField):
    # For the type checker's Django plugin: a model's attribute takes tags and reads a list
    # (django-stubs types every CharField's value as a str).
    _pyi_private_set_type: Iterable[str] | str  # type: ignore[assignment]
    _pyi_private_get_type: list[str]  # type: ignore[assignment]

    def __init__(self, *args: Any, choices_list: Iterable[str] = (), **kwargs: Any) -> None:
        self.allowed = tuple(choices_list)
        kwargs.setdefault("max_length", 200)
        kwargs.setdefault("default", list)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["choices_list"] = self.allowed
        if kwargs.get("default") is list:
            del kwargs["default"]
        if kwargs.get("max_length") == 200:
            del kwargs["max_length"]
        if kwargs.get("blank") is True:
            del kwargs["blank"]
        return name, path, args, kwargs

    @staticmethod
    def _split(value: str) -> list[str]:
        return [tag for tag in value.split(",") if tag]

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> list[str]:
        return [] if value is None else self._split(value)

    def to_python(self, value: Any) -> list[str]:
        if value is None:
            return []
        if isinstance(value, str):
            return self._split(value)
        return sorted({str(tag) for tag in value})

    def get_prep_value(self, value: Any) -> str:
        tags = self.to_python(value)
        return "," + ",".join(tags) + "," if tags else ""

    def validate(self, value: Any, model_instance: Any) -> None:
        tags = self.to_python(value)
        unknown = [tag for tag in tags if self.allowed and tag not in self.allowed]
        if unknown:
            raise ValidationError(
                _("Unknown skill(s) %(unknown)s; choose from %(choices)s.")
                % {"unknown": unknown, "choices": list(self.allowed)}, code="invalid"
            )
        if not tags and not self.blank:
            raise ValidationError(self.error_messages["blank"], code="blank")

    def value_to_string(self, obj: Any) -> str:
        return self.get_prep_value(self.value_from_object(obj))

    def formfield(self, **kwargs: Any) -> Any:
        return super(models.CharField, self).formfield(**kwargs)


@TagSetField.register_lookup
class HasTag(Lookup):
    """`skills__has="loading"`: the set contains that tag."""

    lookup_name = "has"
    prepare_rhs = False

    def get_prep_lookup(self) -> Any:
        return str(self.rhs)

    def get_db_prep_lookup(self, value: Any, connection: Any) -> Any:
        return ("%s", [f"%,{value},%"])

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} LIKE {rhs}", (*lhs_params, *rhs_params)
