"""A transaction PostgreSQL aborts as a deadlock victim is run again and lands; the webhook
relies on it so that a reply is not lost to a 500."""

import threading
from collections import Counter
from typing import Any

import pytest
from django.db import transaction

from core.retry import run_retrying
from franchises.models import Franchise
from tests.dispatch.conftest import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_deadlock_victim_runs_again_and_both_transactions_land(db: Any) -> None:
    rows = [Franchise.objects.create(name=f"Office {n}", kind=Franchise.Kind.OFFICIAL_OFFICE,
                                     city="Saint Petersburg").pk for n in (0, 1)]
    both_hold_one = threading.Barrier(2, timeout=30)
    tries: Counter[int] = Counter()

    def transfer(index: int) -> str:
        first, second = rows[index], rows[1 - index]

        def once() -> str:
            tries[index] += 1
            with transaction.atomic():
                Franchise.objects.filter(pk=first).update(city=f"by {index}")
                if tries[index] == 1:
                    both_hold_one.wait()  # each now waits for the row the other holds
                Franchise.objects.filter(pk=second).update(city=f"by {index}")
            return "done"

        return run_retrying(once, pause=lambda _: None)

    assert run_together(2, transfer) == ["done", "done"]
    # One is the victim and runs again; under load both may be (each waiter's deadlock check
    # can find the cycle before the other's abort has released its lock), and both retry.
    assert max(tries.values()) == 2
    cities = set(Franchise.objects.filter(pk__in=rows).values_list("city", flat=True))
    assert len(cities) == 1  # the transaction run again committed last, over both rows
