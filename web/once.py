"""A console form sent twice (a double click, a reload after a slow answer) writes once.

Each render of a guarded form carries a fresh key in a hidden field (`FIELD`); the write runs
under that key (franchises.idempotency), so a second post of the same render finds the first
one's outcome instead of writing again. Without the field (an old page, a script) the form
works as before.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.http import HttpRequest

from franchises.idempotency import Claim, KeyMalformed, claimed, clean_key

FIELD = "form_key"
# A form's key stands for the whole render: what was typed in it does not change the request.
SAME_FORM = "form"


def new_form_key() -> str:
    return uuid.uuid4().hex


@contextmanager
def once(request: HttpRequest, *, scope: str) -> Iterator[Claim | None]:
    """Hold the posted form's key for `scope` while the body writes; None when there is none.

    A claim with `replay` set is a second post of the same render: its `body` is what the
    first one `record`ed."""
    try:
        key = clean_key(request.POST.get(FIELD) or None)
    except KeyMalformed:
        key = None
    if key is None:
        yield None
        return
    with claimed(user=request.user, scope=f"web:{scope}", key=key, asked=SAME_FORM) as claim:
        yield claim
