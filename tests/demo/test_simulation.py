"""The simulator: deterministic, honest about its keys, and driving the real dispatch path."""

import json
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, Q, Sum

from billing.models import InvoiceLine, PayLine
from billing.pricing import money
from demo.simulation import EPOCH, METRIC_KEYS, Simulation, SimulationConfig, simulate
from dispatch.models import Offer, Order, Step
from messaging.models import Direction, Message
from ratings import scoring
from ratings.models import RatingEvent
from ratings.services import rating_params, worker_ratings_recompute
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
    with pytest.raises(ValueError, match="--history-days"):
        SimulationConfig(history_days=-1)
    with pytest.raises(ValueError, match="--booking-ratio"):
        SimulationConfig(booking_ratio=0.9)
    with pytest.raises(ValueError, match="--target-chance"):
        SimulationConfig(target_chance=1.0)


def test_the_simulation_goes_through_offers_sms_grammar_and_timed_steps() -> None:
    simulation = Simulation(SimulationConfig(**SMALL, policy="adaptive", seed=7))
    result = simulate(simulation.config, keep=True)
    orders = Order.objects.filter(client__name__startswith="Simulated client", start__gte=EPOCH)
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
    orders = Order.objects.filter(
        client__name__startswith="Simulated client", start__gte=EPOCH
    ).annotate(
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


# --- A pool with a past ----------------------------------------------------------------------

# What the simulator printed for these runs before pools had a past (the cold start it had).
COLD_START = {
    0.7: {"policy": "fixed", "orders": 5, "slots": 29, "fill_rate": 0.8,
          "slot_fill_rate": 0.9655, "surplus_per_order": 1.0, "sms_sent": 587,
          "sms_per_filled_slot": 20.9643, "median_minutes_to_fill": 19.58,
          "no_show_rate": 0.2273, "overbooking_cost_per_order": 600.0,
          "margin_per_order": 4296.0},
    0.55: {"policy": "fixed", "orders": 5, "slots": 29, "fill_rate": 0.4,
           "slot_fill_rate": 0.8276, "surplus_per_order": 0.4, "sms_sent": 532,
           "sms_per_filled_slot": 22.1667, "median_minutes_to_fill": 15.68,
           "no_show_rate": 0.413, "overbooking_cost_per_order": 300.0,
           "margin_per_order": 3876.0},
}


@pytest.mark.parametrize("show_rate", [0.7, 0.55])
def test_no_history_is_the_cold_start_as_it_was(show_rate: float) -> None:
    result = _run(history_days=0, mean_show_rate=show_rate)
    assert result["history_days"] == 0
    assert {k: v for k, v in result.items()
            if k not in ("history_days", "mean_show_propensity")} == COLD_START[show_rate]


def test_a_history_is_drawn_from_the_seed_and_reported() -> None:
    first = _run(policy="adaptive", history_days=14)
    assert json.dumps(first) == json.dumps(_run(policy="adaptive", history_days=14))
    assert tuple(first) == METRIC_KEYS
    assert first["history_days"] == 14
    assert 0.6 < first["mean_show_propensity"] < 0.8
    assert first != _run(policy="adaptive", history_days=0)


def test_the_history_goes_through_the_rating_path_and_the_franchise_books() -> None:
    """Known workers start with the figures of their recorded events (a recompute from those
    events changes nothing); about a fifth are new with the priors; a few join later; the
    past orders carry the bookings' attendance that the franchise's show rates are read from."""

    simulation = Simulation(SimulationConfig(workers=300, orders=3, days=2, seed=5,
                                             history_days=28))
    with transaction.atomic():
        simulation._build_network()
        known = [p for p in simulation.people if p.standing == "known"]
        new = [p for p in simulation.people if p.standing == "new"]
        joining = [p for p in simulation.people if p.standing == "joins"]
        assert 0.1 < len(new) / 300 < 0.3
        assert 0 < len(joining) < len(new)
        assert not Worker.objects.filter(phone__in=[p.phone for p in joining]).exists()
        with_events = 0
        for person in known:
            worker = Worker.objects.get(pk=person.worker_id)
            events = list(RatingEvent.objects.filter(worker=worker).order_by("id"))
            with_events += bool(events)
            state = scoring.replay(
                [scoring.Event(e.kind, e.at, e.score, e.source or None) for e in events],
                rating_params(),
            )
            assert worker.reliability == pytest.approx(state.reliability)
            assert worker.no_shows == state.no_shows
            assert worker.shifts_completed == state.shifts_completed
            assert worker.offers_received >= worker.offers_answered >= worker.offers_accepted
            assert all(e.at < EPOCH and e.order_ref for e in events)
            before = (worker.rating, worker.reliability)
            worker_ratings_recompute(worker=worker, now=EPOCH)
            worker.refresh_from_db()
            assert (worker.rating, worker.reliability) == pytest.approx(before)
        assert with_events > 0.8 * len(known)
        for person in new:
            worker = Worker.objects.get(pk=person.worker_id)
            assert not RatingEvent.objects.filter(worker=worker).exists()
            assert worker.reliability == rating_params().prior_show_rate
        judged = Offer.objects.filter(order__franchise=simulation.franchise,
                                      attendance__isnull=False)
        assert judged.exists()
        assert not judged.filter(order__start__gte=EPOCH).exists()
        # Workers who come more often have the better record.
        steady = sorted(known, key=lambda p: p.show)
        low = [Worker.objects.get(pk=p.worker_id).reliability for p in steady[:40]]
        high = [Worker.objects.get(pk=p.worker_id).reliability for p in steady[-40:]]
        assert sum(high) / 40 > sum(low) / 40 + 0.1
        transaction.set_rollback(True)
