"""The one owner of an order's status and an offer's state.

Every change of either goes through these four functions, which hold the models' transition
tables (`Order.TRANSITIONS`, `Offer.TRANSITIONS`):

- `order_move` / `offer_move` change one row already in hand: an illegal move raises
  `IllegalTransition` before anything is written;
- `orders_move` / `offers_move` change a set of rows with one UPDATE that writes only the rows
  whose current state may go to the new one, and return how many moved. A row another writer
  has moved meanwhile (a worker's NO racing the batch) is refused, never overwritten.

Creating a row in its first state (an order as a draft, an offer as offered) is not a move.
"""

from collections.abc import Iterable, Mapping
from itertools import pairwise
from typing import Any

from django.db.models import Model, QuerySet

from .models import IllegalTransition, Offer, Order


def _allowed(table: Mapping[str, frozenset[str]], current: str, to: str) -> bool:
    return to in table.get(current, frozenset())


def sources(table: Mapping[str, frozenset[str]], to: str) -> list[str]:
    """The states from which `to` may be reached, in the table's order."""
    return [state for state, targets in table.items() if to in targets]


def _move_one(row: Model, field: str, table: Mapping[str, frozenset[str]], *, to: str,
              via: str | None, also: Iterable[str], values: dict[str, Any]) -> None:
    current = getattr(row, field)
    path = [current, *([via] if via is not None else []), to]
    for before, after in pairwise(path):
        if not _allowed(table, before, after):
            kind = type(row).__name__.lower()
            raise IllegalTransition(f"An {kind} cannot go from {before} to {after}.")
    setattr(row, field, to)
    for name, value in values.items():
        setattr(row, name, value)
    row.save(update_fields=[field, *also, *values])


def order_move(order: Order, *, to: str, via: str | None = None, also: Iterable[str] = (),
               **values: Any) -> None:
    """Move one order to status `to` and save it with `values` (set on it here) and the fields
    named in `also` (already set by the caller), in one UPDATE.

    `via` names a status the order passes through without stopping (completing a filled order
    goes by in progress): both steps must be legal, one row is written."""
    _move_one(order, "status", Order.TRANSITIONS, to=to, via=via, also=also, values=values)


def offer_move(offer: Offer, *, to: str, also: Iterable[str] = (), **values: Any) -> None:
    """Move one offer to state `to`, saved with `values` and the fields named in `also`."""
    _move_one(offer, "state", Offer.TRANSITIONS, to=to, via=None, also=also, values=values)


def orders_move(orders: QuerySet[Order], *, to: str, **values: Any) -> int:
    """Move every order of `orders` whose status may go to `to`; the others stay as they are.
    Returns how many moved."""
    return orders.filter(status__in=sources(Order.TRANSITIONS, to)).update(status=to, **values)


def offers_move(offers: QuerySet[Offer], *, to: str, **values: Any) -> int:
    """Move every offer of `offers` whose state may go to `to`; the others stay as they are.
    Returns how many moved."""
    return offers.filter(state__in=sources(Offer.TRANSITIONS, to)).update(state=to, **values)
