"""The verbs that change dispatch state, one module per area."""

from .assignment import assignment_run
from .attendance import booking_withdraw, standby_promote
from .callout import callout_start, wave_next
from .orders import order_place, order_update
from .replies import offer_respond

__all__ = [
    "assignment_run",
    "booking_withdraw",
    "callout_start",
    "offer_respond",
    "order_place",
    "order_update",
    "standby_promote",
    "wave_next",
]
