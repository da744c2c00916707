"""A month as a person reads it, in the page's language's own year-and-month format
("November 2026", "ноябрь 2026 г."), from the "YYYY-MM" the books and reports key their months
by (links and forms keep that form)."""

from datetime import date
from typing import Any

from django import template
from django.utils import formats, translation

register = template.Library()

# Languages that write a month's name in lower case inside a sentence (Django's calendar gives
# the standalone name capitalised), and every page puts the month inside one.
LOWER_CASE_MONTHS = frozenset({"ru"})


@register.filter
def month(value: Any) -> Any:
    try:
        year, number = (int(part) for part in str(value).split("-"))
        first = date(year, number, 1)
    except (TypeError, ValueError):
        return value
    label = formats.date_format(first, "YEAR_MONTH_FORMAT")
    if (translation.get_language() or "").split("-")[0] in LOWER_CASE_MONTHS:
        label = label[:1].lower() + label[1:]
    return label
