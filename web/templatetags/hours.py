"""Hours worked as a person reads them: 7.25, 7.5, 6.0 (quarter hours are stored to two
places; a whole or half hour keeps one, as orders show their shift's length), with the page's
decimal mark (7,25 in Russian; the crew page's hours field takes either)."""

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils import formats

register = template.Library()

TENTH = Decimal("0.1")


@register.filter
def hours(value: Any) -> Any:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return value
    tenths = amount.quantize(TENTH)
    return formats.localize(tenths if tenths == amount else amount.quantize(Decimal("0.01")))
