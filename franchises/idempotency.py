"""Retries that change nothing: an `Idempotency-Key` on the writes a person may repeat (placing
an order, recording a payment), and the console forms' own key against a double click.

The key row is inserted in the same transaction as the work it guards. A second request with
the same key waits on that row (the unique index) until the first transaction ends: if it
committed, the second gets the first one's answer; if it rolled back (a refusal), the key is
free again. So the same key can never make two records, even at the same instant.
"""

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils.functional import lazy
from django.utils.translation import gettext, gettext_lazy

from core import clock

from .models import IdempotentRequest

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


class KeyReused(Exception):
    """The key was used for another request: its first answer does not fit this one."""

    message = gettext_lazy("This Idempotency-Key was already used with a different request. "
                           "Send a new key for a new request; repeat the first request "
                           "unchanged to get its answer.")


def _malformed_message() -> str:
    return gettext("An Idempotency-Key is 1 to %(most)s printable characters, e.g. a "
                   "UUID.") % {"most": MAX_KEY_LENGTH}


class KeyMalformed(Exception):
    message = lazy(_malformed_message, str)()


def fingerprint(scope: str, body: Any) -> str:
    """What was asked, as a hash: the scope and the body with its keys in a fixed order."""
    canonical = json.dumps(body, sort_keys=True, cls=DjangoJSONEncoder, separators=(",", ":"))
    return hashlib.sha256(f"{scope}\n{canonical}".encode()).hexdigest()


def clean_key(raw: str | None) -> str | None:
    """The key as sent, or None when none was; KeyMalformed for an unusable one."""
    if raw is None:
        return None
    key = raw.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise KeyMalformed
    return key


@dataclass
class Claim:
    """A key held for one request. `replay` is the first answer when the key was used before;
    otherwise the caller does the work and `record`s its answer."""

    row: IdempotentRequest
    replay: tuple[int, Any] | None = None
    recorded: bool = field(default=False)

    def record(self, status: int, body: Any) -> None:
        self.row.response_status = status
        self.row.response_body = body
        self.row.save(update_fields=["response_status", "response_body"])
        self.recorded = True


@contextmanager
def claimed(*, user: Any, scope: str, key: str, asked: str) -> Iterator[Claim]:
    """Hold `key` of `user` for `scope` while the body runs, in one transaction.

    `asked` is the request's fingerprint. Raises KeyReused when the key was used with another
    one. A body that neither records an answer nor raises leaves the key unused (rolled
    back), as does any exception."""
    now = clock.now()
    kept_from = now - timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)
    with transaction.atomic():
        # Keys past their time are forgotten: the caller's own, so this stays small and cheap.
        IdempotentRequest.objects.filter(user=user, created_at__lt=kept_from).delete()
        row, created = IdempotentRequest.objects.get_or_create(
            user=user, scope=scope, key=key,
            defaults={"fingerprint": asked, "created_at": now},
        )
        if not created:
            if row.fingerprint != asked:
                raise KeyReused
            yield Claim(row=row, replay=(row.response_status, row.response_body))
            return
        claim = Claim(row=row)
        yield claim
        if not claim.recorded:
            transaction.set_rollback(True)
