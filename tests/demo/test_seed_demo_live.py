"""`seed_demo`'s live orders: work for the coming day in every official office, placed by the
real services at the current time, so the board, the crew page and the phone are not empty.

NOW is 09:00 in Saint Petersburg and Naberezhnye Chelny (Moscow time), 13:00 in Novosibirsk:
the Moscow-time offices still get an order for this evening, Novosibirsk is too late for one.
"""

import re
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, Q
from django.test import Client as Browser
from django.test import override_settings

from core import clock
from demo.live import TOMORROW
from dispatch.models import Offer, Order, Step
from dispatch.tasks import run_due_steps
from franchises.models import Franchise, User
from messaging.models import Direction, Message

NOW = datetime(2030, 3, 10, 6, 0, tzinfo=UTC)
# Each office's morning orders, plus this evening's where it is still before 13:00.
EXPECTED = {"Saint Petersburg office": len(TOMORROW) + 1,
            "Naberezhnye Chelny office": len(TOMORROW) + 1,
            "Novosibirsk office": len(TOMORROW)}


def _seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", "--no-history", *args, stdout=out)
    return out.getvalue()


def _live() -> list[Order]:
    return list(
        Order.objects.filter(status__in=Order.OPEN_STATUSES, start__gt=NOW)
        .select_related("franchise", "foreman").order_by("franchise_id", "start")
        .annotate(
            confirmed=Count("offers", filter=Q(offers__state=Offer.State.CONFIRMED)),
            standby=Count("offers", filter=Q(offers__state=Offer.State.STANDBY)),
            waiting=Count("offers", filter=Q(offers__state=Offer.State.OFFERED,
                                             offers__response=Offer.Response.ACCEPTED)),
        )
    )


@pytest.fixture(scope="module")
def seeded(django_db_setup: Any, django_db_blocker: Any) -> Any:
    """Seeded twice at NOW, for the whole module, in a transaction rolled back at the end (as
    in test_seed_demo); the history is left out, the live orders are not."""
    fast_hashing = override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]
    )
    with django_db_blocker.unblock(), fast_hashing, clock.use_clock(lambda: NOW):
        module_transaction = transaction.atomic()
        module_transaction.__enter__()
        try:
            first = _seed()
            orders = Order.objects.count()
            second = _seed()
            yield {"first": first, "second": second, "orders": orders}
        finally:
            transaction.set_rollback(True)
            module_transaction.__exit__(None, None, None)


@pytest.mark.django_db
class TestLiveOrders:
    def test_every_official_office_has_orders_ahead(self, seeded: Any) -> None:
        placed: dict[str, int] = {}
        for order in _live():
            placed[order.franchise.name] = placed.get(order.franchise.name, 0) + 1
            assert order.franchise.kind == Franchise.Kind.OFFICIAL_OFFICE
            assert NOW < order.start < NOW + timedelta(days=2)
            assert order.status in (Order.Status.CALLING, Order.Status.FILLED)
        assert placed == EXPECTED
        assert f"{sum(EXPECTED.values())} live orders placed" in seeded["first"]

    def test_a_second_seed_the_same_day_places_none(self, seeded: Any) -> None:
        assert "0 live orders placed" in seeded["second"]
        assert Order.objects.count() == seeded["orders"]

    def test_no_live_places_none(self, seeded: Any) -> None:
        later = NOW + timedelta(days=3)  # the orders placed at NOW are all past
        with clock.use_clock(lambda: later):
            assert "0 live orders placed" in _seed("--no-live")

    def test_days_later_fresh_ones_are_placed(self, seeded: Any) -> None:
        later = NOW + timedelta(days=3)
        with clock.use_clock(lambda: later):
            output = _seed()
        placed = int(re.search(r"(\d+) live orders placed", output).group(1))
        assert placed >= 3 * len(TOMORROW)
        assert Order.objects.filter(start__gt=later).count() == placed

    def test_the_stages_of_a_call_out(self, seeded: Any) -> None:
        orders = _live()
        filled = [o for o in orders if o.status == Order.Status.FILLED]
        assert filled
        assert all(o.confirmed >= o.booking_target for o in filled)
        assert any(o.standby for o in filled)
        calling = [o for o in orders if o.status == Order.Status.CALLING]
        # Partly booked: some of the crew confirmed, the call-out goes on.
        assert any(0 < o.confirmed < o.headcount for o in calling)
        # Just started: yeses waiting for the office's next batch, which is a timed step.
        waiting = [o for o in calling if o.waiting]
        assert waiting
        for order in waiting:
            assert Step.objects.filter(kind=Step.Kind.ASSIGN, franchise=order.franchise,
                                       done_at__isnull=True, due_at__gt=NOW).exists()
        assert {o.overbook_policy for o in orders} == {Order.Policy.FIXED,
                                                       Order.Policy.ADAPTIVE}

    def test_offers_went_out_and_workers_answered_by_sms(self, seeded: Any) -> None:
        for order in _live():
            offers = order.offers.count()
            assert offers > 0
            assert Message.objects.filter(order=order, purpose="offer",
                                          direction=Direction.OUT).count() == offers
            answered = order.offers.filter(response__isnull=False).count()
            texts = Message.objects.filter(direction=Direction.IN,
                                           body__iendswith=f" {order.code}")
            assert texts.count() == answered > 0
            assert set(texts.values_list("command", flat=True)) <= {"accept", "decline"}
        assert Message.objects.filter(purpose="confirmation").exists()

    def test_saint_petersburg_orders_are_the_foremans(self, seeded: Any) -> None:
        foreman = User.objects.get(username="foreman")
        spb = [o for o in _live() if o.franchise_id == foreman.franchise_id]
        assert spb
        assert all(o.foreman == foreman for o in spb)
        assert not [o for o in _live() if o.foreman and o.franchise_id != foreman.franchise_id]
        browser = Browser()
        browser.force_login(foreman)
        with clock.use_clock(lambda: NOW):
            page = browser.get("/crew/").content.decode()
        assert all(order.code in page for order in spb)
        assert "Today" in page  # this evening's order
        assert "Tomorrow" in page

    def test_the_board_shows_them(self, seeded: Any) -> None:
        browser = Browser()
        browser.force_login(User.objects.get(username="operator"))
        live = _live()
        # The board shows one day at a time: this evening's orders today, the rest tomorrow.
        with clock.use_clock(lambda: NOW):
            pages = "".join(
                browser.get("/board/", {"day": day}).content.decode()
                for day in ("2030-03-10", "2030-03-11")
            )
        assert all(f'data-order="{order.code}"' in pages for order in live)

    def test_the_sweeper_runs_their_steps_when_due(self, seeded: Any) -> None:
        waiting = [o for o in _live() if o.waiting]
        assert waiting
        later = NOW + timedelta(minutes=15)
        with clock.use_clock(lambda: later):
            assert run_due_steps() > 0
        after = {o.pk: o for o in _live()}
        for order in waiting:
            assert after[order.pk].waiting == 0
            assert after[order.pk].confirmed >= order.waiting
        # Every step due by then ran (a failing one would be left open for a retry).
        assert not Step.objects.filter(done_at__isnull=True, due_at__lte=later).exists()
