"""The simulator: deterministic, honest about its keys, and driving the real dispatch path."""

import json
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import Count, Q, Sum

from billing.models import InvoiceLine, PayLine
from billing.pricing import money
from demo.simulation import METRIC_KEYS, Simulation, SimulationConfig, simulate
from dispatch.models import Offer, Order, Step
from messaging.models import Direction, Message
from workers.models import Worker

SMALL = {"workers": 100, "orders": 5, "days": 1}

pytestmark = pytest.mark.django_db


def _run(**changes: Any) -> dict[str, Any]:
    return simulate(SimulationConfig(**{**SMALL, "policy": "fixed", "seed": 3, **changes}))


def test_same_seed_same_result_and_nothing_left_behind() -> None:
    first = _run()
    second = _run()
    assert json.dumps(first) == json.dumps(second)
    assert not Order.objects.exists()
    assert not Worker.objects.exists()
    assert not Message.objects.exists()


def test_a_different_seed_gives_a_different_result() -> None:
    assert _run(seed=3) != _run(seed=4)


def test_the_command_prints_one_json_object_with_exactly_the_contract_keys() -> None:
    out = StringIO()
    call_command("simulate", "--workers", "100", "--orders", "5", "--days", "1",
                 "--policy", "adaptive", "--seed", "5", "--mean-show-rate", "0.8", "--json",
                 stdout=out)
    result = json.loads(out.getvalue())
    assert tuple(result) == METRIC_KEYS
    assert result["policy"] == "adaptive"
    assert result["orders"] == 5
    assert result["slots"] >= 5
    for key in ("fill_rate", "slot_fill_rate", "no_show_rate"):
        assert 0.0 <= result[key] <= 1.0
    assert result["surplus_per_order"] >= 0
    assert result["sms_sent"] > 0
    if result["sms_per_filled_slot"] is not None:
        assert result["sms_per_filled_slot"] > 0
    if result["median_minutes_to_fill"] is not None:
        assert result["median_minutes_to_fill"] >= 0
    assert not Order.objects.exists()


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="policy"):
        SimulationConfig(policy="greedy")
    with pytest.raises(ValueError, match="--mean-show-rate"):
        SimulationConfig(mean_show_rate=1.5)


def test_the_simulation_goes_through_offers_sms_grammar_and_timed_steps() -> None:
    simulation = Simulation(SimulationConfig(**SMALL, policy="adaptive", seed=7))
    result = simulate(simulation.config, keep=True)
    orders = Order.objects.filter(client__name__startswith="Simulated client")
    assert orders.count() == result["orders"] == SMALL["orders"]
    assert set(orders.values_list("overbook_policy", flat=True)) == {"adaptive"}
    assert Offer.objects.filter(order__in=orders).exists()
    assert Offer.objects.filter(order__in=orders, response=Offer.Response.ACCEPTED).exists()
    assert Offer.objects.filter(order__in=orders, state=Offer.State.CONFIRMED).exists()
    # Every offer went out as an SMS: a call-out's or, after no-shows, an urgent one.
    offers_sent = Message.objects.filter(order__in=orders, purpose__in=["offer", "urgent_offer"],
                                         direction=Direction.OUT)
    assert offers_sent.count() == Offer.objects.filter(order__in=orders).count()
    # Workers' texts were parsed by the grammar and acted on by its handlers.
    commands = set(
        Message.objects.filter(direction=Direction.IN, worker__isnull=False)
        .values_list("command", flat=True)
    )
    assert {"accept", "check_in"} <= commands
    assert Offer.objects.filter(order__in=orders, checked_in_at__isnull=False).exists()
    # The sweeper ran the timed steps: batch assignments, reminders, no-show checks.
    done = set(Step.objects.filter(done_at__isnull=False).values_list("kind", flat=True))
    assert {Step.Kind.ASSIGN, Step.Kind.NO_SHOW_CHECK} <= done
    assert set(orders.values_list("status", flat=True)) <= {Order.Status.COMPLETED}


def test_the_money_figures_are_the_books_completion_wrote() -> None:
    """Over-booking cost and margin per order come from the invoice and pay lines: the surplus
    of each order went home with the show-up fee, standby never called got the standby fee,
    and the client was billed at most its headcount."""



    result = simulate(SimulationConfig(**{**SMALL, "orders": 8}, policy="fixed", seed=3),
                      keep=True)
    orders = Order.objects.filter(client__name__startswith="Simulated client").annotate(
        came=Count("offers", filter=Q(offers__attendance__in=["present", "late"])),
        standby=Count("offers", filter=Q(offers__state=Offer.State.STANDBY)),
    )
    assert orders.count() == result["orders"] == 8
    for order in orders:
        lines = PayLine.objects.filter(order=order)
        assert lines.filter(kind="show_up_fee").count() == max(0, order.came - order.headcount)
        assert lines.filter(kind="standby_fee").count() == order.standby
        assert InvoiceLine.objects.filter(order=order).count() == min(order.came, order.headcount)
    fees = PayLine.objects.filter(order__in=orders).exclude(kind="hours").aggregate(
        total=Sum("amount"))["total"] or Decimal(0)
    billed = InvoiceLine.objects.filter(order__in=orders).aggregate(
        total=Sum("amount"))["total"]
    paid = PayLine.objects.filter(order__in=orders).aggregate(total=Sum("amount"))["total"]
    assert result["overbooking_cost_per_order"] == float(money(fees / 8))
    assert result["margin_per_order"] == float(money((billed - paid) / 8))
    assert fees > 0  # the house rule's surplus and standby cost something on these orders
