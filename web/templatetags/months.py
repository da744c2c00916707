"""A month as a person reads it, in the page's language's own year-and-month format
("November 2026", "Ноябрь 2026 г."), from the "YYYY-MM" the books and reports key their months
by (links and forms keep that form)."""

from datetime import date
from typing import Any

from django import template
from django.utils import formats

register = template.Library()


@register.filter
def month(value: Any) -> Any:
    try:
        year, number = (int(part) for part in str(value).split("-"))
        first = date(year, number, 1)
    except (TypeError, ValueError):
        return value
    return formats.date_format(first, "YEAR_MONTH_FORMAT")
