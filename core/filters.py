"""Filtering for the API: foreign keys filter by plain id, so a list never tells a caller
which ids exist outside their scope.

Kept apart from the views: DRF reads DEFAULT_FILTER_BACKENDS while its generic views are
being imported, so the backend's module must not import them.
"""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from rest_framework.exceptions import ValidationError


class _RowIdField(forms.IntegerField):
    # Only what a database integer column can hold: a bigger number would not match nothing,
    # it would overflow the query parameter (a 500 on SQLite).
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", -(2**63))
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(**kwargs)


class RelatedIdFilter(filters.Filter):
    """A related row by its id, taken as given and never looked up."""

    field_class = _RowIdField


class ScopedFilterSet(filters.FilterSet):
    """A filter set for a scoped queryset: its foreign keys filter by plain id.

    django-filter's default for a foreign key is a choice among every row of the related
    table, so another franchise's id passed (and matched nothing in the scoped queryset)
    while an id that exists nowhere was a 400 'Select a valid choice': the difference told
    the caller which ids exist elsewhere. By plain id, both simply find nothing. A value that
    is not a whole number is still a 400.
    """

    @classmethod
    def filter_for_lookup(cls, field: Any, lookup_type: str) -> tuple[Any, dict[str, Any]]:
        if lookup_type == "exact" and (field.many_to_one or field.one_to_one):
            return RelatedIdFilter, {}
        return super().filter_for_lookup(field, lookup_type)


EMPTY_FILTER = _("Give a value, or leave this filter out.")


def _query_names(name: str, field: forms.Field) -> list[str]:
    """The query parameters a filter's form field reads: its name, or one per part of a
    compound widget (`start_after`, `start_before`)."""
    suffixes = getattr(field.widget, "widgets_names", None)
    if suffixes:
        return [f"{name}{suffix}" for suffix in suffixes]
    return [name]


class ScopedFilterBackend(filters.DjangoFilterBackend):
    """The project's filter backend: filter sets built from a view's `filterset_fields` are
    `ScopedFilterSet`s too, so no list answers differently for another franchise's id and a
    missing one.

    A filter given with no value (`?status=`) is a 400 naming it. django-filter would drop
    it, and the caller, who asked for some status, would get every row instead.
    """

    filterset_base = ScopedFilterSet

    def filter_queryset(self, request: Any, queryset: Any, view: Any) -> Any:
        filterset = self.get_filterset(request, queryset, view)
        if filterset is not None:
            empty = {
                key: [EMPTY_FILTER]
                for name, field in filterset.form.fields.items()
                for key in _query_names(name, field)
                if key in request.query_params
                and all(value == "" for value in request.query_params.getlist(key))
            }
            if empty:
                raise ValidationError(empty)
        return super().filter_queryset(request, queryset, view)
