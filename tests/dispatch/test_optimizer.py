"""The assignment optimiser against brute force, scipy and the contract (pure: no Django)."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from geopy.distance import EARTH_RADIUS, great_circle
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from dispatch.optimizer import (
    EARTH_RADIUS_KM,
    Candidate,
    OrderSlots,
    Problem,
    ProblemError,
    Solution,
    Weights,
    great_circle_km,
    solve,
)
from dispatch.optimizer_json import problem_from_json, solution_to_json

FAST = settings(max_examples=60, deadline=None)

CONTRACT_EXAMPLE = {
    "orders": [{"id": "o1", "slots": 15, "lat": 59.93, "lng": 30.31}],
    "workers": [{"id": "w1", "lat": 59.95, "lng": 30.30, "rating": 4.2, "reliability": 0.9}],
    "eligible": [["w1", "o1"]],
    "weights": {"distance_per_km": 1.0, "rating_point": 2.0, "unreliability": 10.0},
}


# --- an independent reference: geopy distances and exhaustive search -------------------------


def pair_cost(problem: Problem, worker_id, order_id) -> float:
    worker = next(w for w in problem.workers if w.id == worker_id)
    order = next(o for o in problem.orders if o.id == order_id)
    weights = problem.weights
    km = great_circle((worker.lat, worker.lng), (order.lat, order.lng)).km
    return (
        km * weights.distance_per_km
        + (5 - worker.rating) * weights.rating_point
        + (1 - worker.reliability) * weights.unreliability
        + problem.pair_cost_adjustments.get((worker_id, order_id), 0.0)
    )


def foreman_places_held(problem: Problem, assignments) -> int:
    foremen = {w.id for w in problem.workers if w.is_foreman}
    held = 0
    for order in problem.orders:
        crew_foremen = sum(1 for w, o in assignments if o == order.id and w in foremen)
        held += min(order.needs_foreman, order.slots, crew_foremen)
    return held


def brute_force(problem: Problem) -> tuple[int, int, float]:
    """Best (filled, foreman places held, cost) over every feasible assignment."""
    eligible = set(problem.eligible)
    options = [
        [None] + [o.id for o in problem.orders if (w.id, o.id) in eligible] for w in problem.workers
    ]
    slots = {o.id: o.slots for o in problem.orders}
    best: tuple[int, int, float] = (0, 0, 0.0)
    for choice in itertools.product(*options):
        taken = [o for o in choice if o is not None]
        if any(taken.count(order_id) > cap for order_id, cap in slots.items()):
            continue
        assignments = [
            (w.id, o) for w, o in zip(problem.workers, choice, strict=True) if o is not None
        ]
        cost = math.fsum(pair_cost(problem, w, o) for w, o in assignments)
        key = (len(assignments), foreman_places_held(problem, assignments), -cost)
        if key > (best[0], best[1], -best[2]):
            best = (key[0], key[1], cost)
    return best


def check_contract(problem: Problem, solution: Solution) -> None:
    """Every guarantee of CONTRACT.md section 5 except optimality."""
    eligible = set(problem.eligible)
    workers = [w for w, _ in solution.assignments]
    assert len(workers) == len(set(workers)), "a worker was assigned twice"
    assert set(solution.assignments) <= eligible, "a non-eligible pair was chosen"
    assert list(solution.filled) == [o.id for o in problem.orders]
    for order in problem.orders:
        crew = sum(1 for _, o in solution.assignments if o == order.id)
        assert solution.filled[order.id] == crew
        assert crew <= order.slots
    expected = math.fsum(pair_cost(problem, w, o) for w, o in solution.assignments)
    assert solution.objective == pytest.approx(expected, rel=1e-9, abs=1e-9)


city_lat = st.floats(59.80, 60.05)
city_lng = st.floats(30.0, 30.6)
any_lat = st.floats(-90, 90)
any_lng = st.floats(-180, 180)


@st.composite
def problems(
    draw,
    max_workers: int = 5,
    max_orders: int = 3,
    max_slots: int = 3,
    foremen: bool = False,
):
    worldwide = draw(st.booleans())
    lat, lng = (any_lat, any_lng) if worldwide else (city_lat, city_lng)
    orders = [
        OrderSlots(
            id=f"o{i}",
            slots=draw(st.integers(0, max_slots)),
            lat=draw(lat),
            lng=draw(lng),
            needs_foreman=draw(st.integers(0, 2)) if foremen else 0,
        )
        for i in range(draw(st.integers(0, max_orders)))
    ]
    workers = [
        Candidate(
            id=i,
            lat=draw(lat),
            lng=draw(lng),
            rating=draw(st.floats(0, 5)),
            reliability=draw(st.floats(0, 1)),
            is_foreman=draw(st.booleans()) if foremen else False,
        )
        for i in range(draw(st.integers(0, max_workers)))
    ]
    pairs = [(w.id, o.id) for w in workers for o in orders]
    eligible = draw(st.lists(st.sampled_from(pairs), max_size=2 * len(pairs))) if pairs else []
    adjustments = {}
    if eligible and draw(st.booleans()):
        for pair in draw(st.lists(st.sampled_from(eligible), max_size=3)):
            adjustments[pair] = draw(st.floats(-20, 20))
    weights = Weights(
        distance_per_km=draw(st.sampled_from([0.0, 0.5, 1.0, 3.0])),
        rating_point=draw(st.sampled_from([0.0, 2.0, 7.5])),
        unreliability=draw(st.sampled_from([0.0, 10.0, 25.0])),
    )
    return Problem(
        orders=orders,
        workers=workers,
        eligible=eligible,
        weights=weights,
        pair_cost_adjustments=adjustments,
    )


# --- optimality -------------------------------------------------------------------------------


@given(problem=problems())
@settings(max_examples=120, deadline=None)
def test_flow_matches_brute_force(problem):
    solution = solve(problem)
    check_contract(problem, solution)
    filled, _, cost = brute_force(problem)
    assert sum(solution.filled.values()) == filled
    assert solution.objective == pytest.approx(cost, rel=1e-3, abs=1e-4)
    assert solution.method == "min_cost_flow"


def lsa_optimum(problem: Problem) -> tuple[int, float]:
    """Maximum filling and its minimum cost via scipy, one column per slot.

    Non-eligible cells cost more than any whole assignment, so scipy uses as few as it can:
    the cells it cannot avoid are exactly the slots a maximum filling leaves empty.
    """
    columns = [o for o in problem.orders for _ in range(o.slots)]
    if not problem.workers or not columns:
        return 0, 0.0
    eligible = set(problem.eligible)
    cost = np.zeros((len(problem.workers), len(columns)))
    allowed = np.zeros_like(cost, dtype=bool)
    for i, worker in enumerate(problem.workers):
        for j, order in enumerate(columns):
            if (worker.id, order.id) in eligible:
                cost[i, j] = pair_cost(problem, worker.id, order.id)
                allowed[i, j] = True
    big = 1.0 + 2.0 * np.abs(cost).sum()
    rows, cols = linear_sum_assignment(np.where(allowed, cost, big))
    used = allowed[rows, cols]
    return int(used.sum()), float(cost[rows, cols][used].sum())


@given(problem=problems(max_workers=12, max_orders=4, max_slots=4))
@FAST
def test_flow_matches_linear_sum_assignment(problem):
    solution = solve(problem)
    filled, cost = lsa_optimum(problem)
    assert sum(solution.filled.values()) == filled
    assert solution.objective == pytest.approx(cost, rel=1e-3, abs=1e-4)


def random_problem(seed: int, n_workers: int, n_orders: int, density: float) -> Problem:
    rng = np.random.default_rng(seed)
    orders = [
        OrderSlots(
            id=i,
            slots=int(rng.integers(1, 9)),
            lat=float(rng.uniform(59.8, 60.1)),
            lng=float(rng.uniform(30.0, 30.7)),
        )
        for i in range(n_orders)
    ]
    workers = [
        Candidate(
            id=i,
            lat=float(rng.uniform(59.8, 60.1)),
            lng=float(rng.uniform(30.0, 30.7)),
            rating=float(rng.uniform(0, 5)),
            reliability=float(rng.uniform(0, 1)),
            is_foreman=bool(rng.random() < 0.15),
        )
        for i in range(n_workers)
    ]
    eligible = [(w.id, o.id) for w in workers for o in orders if rng.random() < density]
    return Problem(orders=orders, workers=workers, eligible=eligible)


@pytest.mark.parametrize(("seed", "density"), [(1, 0.05), (2, 0.15), (3, 0.5)])
def test_flow_matches_linear_sum_assignment_on_a_larger_instance(seed, density):
    problem = random_problem(seed, n_workers=150, n_orders=25, density=density)
    solution = solve(problem)
    check_contract(problem, solution)
    filled, cost = lsa_optimum(problem)
    assert sum(solution.filled.values()) == filled
    assert solution.objective == pytest.approx(cost, rel=1e-3)


def test_huge_costs_stay_in_the_solvers_integer_range():
    # Antipodal distances at a billion per km: costs near 2e13 must not overflow the solver.
    problem = Problem(
        orders=[OrderSlots("north", 2, 89.0, 0.0), OrderSlots("south", 1, -89.0, 179.0)],
        workers=[
            Candidate("a", 88.0, 10.0, 5.0, 1.0),
            Candidate("b", -88.0, -170.0, 0.0, 0.0),
            Candidate("c", 0.0, 0.0, 2.5, 0.5),
        ],
        eligible=[(w, o) for w in "abc" for o in ("north", "south")],
        weights=Weights(distance_per_km=1e9),
    )
    solution = solve(problem)
    check_contract(problem, solution)
    filled, cost = lsa_optimum(problem)
    assert sum(solution.filled.values()) == filled == 3
    assert solution.objective == pytest.approx(cost, rel=1e-3)


def test_tiny_weights_still_pick_the_cheapest_worker():
    # Weights are any non-negative numbers: at a ten-millionth of a point per km the near
    # worker still costs 27 times less than the far one.
    problem = Problem(
        orders=[OrderSlots("o1", 1, 59.93, 30.31)],
        workers=[Candidate("far", 59.957, 30.31, 5.0, 1.0),
                 Candidate("near", 59.931, 30.31, 5.0, 1.0)],
        eligible=[("far", "o1"), ("near", "o1")],
        weights=Weights(distance_per_km=1e-7, rating_point=0.0, unreliability=0.0),
    )
    assert solve(problem).assignments == [("near", "o1")]


@given(problem=problems(), exponent=st.integers(min_value=-12, max_value=0))
@FAST
def test_the_optimum_does_not_depend_on_the_unit_of_cost(problem, exponent):
    scale = 10.0**exponent
    weights = problem.weights
    scaled = Problem(
        orders=problem.orders, workers=problem.workers, eligible=problem.eligible,
        weights=Weights(weights.distance_per_km * scale, weights.rating_point * scale,
                        weights.unreliability * scale),
    )
    solution = solve(scaled)
    filled, _, cost = brute_force(scaled)
    assert sum(solution.filled.values()) == filled
    assert solution.objective == pytest.approx(cost, rel=1e-3, abs=1e-9 * scale)


def test_maximum_filling_beats_a_cheaper_partial_one():
    # "near" is cheapest at o1, but only the other way round fills both orders.
    problem = Problem(
        orders=[OrderSlots("o1", 1, 59.93, 30.31), OrderSlots("o2", 1, 60.5, 31.5)],
        workers=[Candidate("near", 59.93, 30.31, 5, 1), Candidate("only_o1", 59.0, 29.0, 0, 0)],
        eligible=[("near", "o1"), ("near", "o2"), ("only_o1", "o1")],
    )
    solution = solve(problem)
    assert sorted(solution.assignments) == [("near", "o2"), ("only_o1", "o1")]
    assert solution.filled == {"o1": 1, "o2": 1}


def test_cost_terms_follow_the_weights():
    problem = Problem(
        orders=[OrderSlots("o", 1, 59.93, 30.31)],
        workers=[Candidate("w", 59.95, 30.30, 4.2, 0.9)],
        eligible=[("w", "o")],
        weights=Weights(distance_per_km=3.0, rating_point=1.5, unreliability=20.0),
    )
    km = great_circle((59.95, 30.30), (59.93, 30.31)).km
    expected = 3.0 * km + 1.5 * (5 - 4.2) + 20.0 * (1 - 0.9)
    assert solve(problem).objective == pytest.approx(expected, rel=1e-12)


# --- contract guarantees --------------------------------------------------------------------


def test_each_guarantee_on_a_random_instance():
    problem = random_problem(7, n_workers=120, n_orders=15, density=0.1)
    solution = solve(problem)
    check_contract(problem, solution)
    assert solution.method == "min_cost_flow"
    assert solution.optimal


def test_duplicate_pairs_count_once():
    problem = random_problem(8, n_workers=40, n_orders=6, density=0.3)
    doubled = Problem(
        orders=problem.orders,
        workers=problem.workers,
        eligible=list(problem.eligible) * 3,
    )
    once, thrice = solve(problem), solve(doubled)
    assert thrice.assignments == once.assignments
    assert thrice.objective == once.objective


def test_filled_lists_every_order_including_empty_ones():
    problem = Problem(
        orders=[
            OrderSlots("busy", 2, 59.9, 30.3),
            OrderSlots("nobody_eligible", 3, 59.9, 30.3),
            OrderSlots("no_slots", 0, 59.9, 30.3),
        ],
        workers=[Candidate("w1", 59.9, 30.3, 4, 0.9), Candidate("w2", 59.9, 30.3, 4, 0.9)],
        eligible=[("w1", "busy"), ("w2", "no_slots")],
    )
    solution = solve(problem)
    assert solution.filled == {"busy": 1, "nobody_eligible": 0, "no_slots": 0}
    assert solution.assignments == [("w1", "busy")]


def test_integer_ids_are_echoed_as_given_even_when_they_clash_across_kinds():
    problem = Problem(
        orders=[OrderSlots(1, 1, 59.9, 30.3), OrderSlots(2, 1, 59.9, 30.4)],
        workers=[Candidate(1, 59.9, 30.31, 4, 0.9), Candidate(2, 59.9, 30.41, 4, 0.9)],
        eligible=[(1, 1), (2, 2), (1, 2)],
    )
    solution = solve(problem)
    assert solution.assignments == [(1, 1), (2, 2)]
    assert solution.filled == {1: 1, 2: 1}
    encoded = json.loads(json.dumps(solution_to_json(solution)))
    assert encoded["assignments"] == [[1, 1], [2, 2]]
    assert encoded["filled"] == {"1": 1, "2": 1}


def test_assignments_are_ordered_by_order_then_worker_input_order():
    problem = random_problem(9, n_workers=60, n_orders=8, density=0.4)
    solution = solve(problem)
    order_rank = {o.id: i for i, o in enumerate(problem.orders)}
    keys = [(order_rank[o], w) for w, o in solution.assignments]
    assert keys == sorted(keys)


@pytest.mark.parametrize(
    "problem",
    [
        Problem(orders=[], workers=[], eligible=[]),
        Problem(orders=[OrderSlots("o", 3, 0, 0)], workers=[], eligible=[]),
        Problem(orders=[], workers=[Candidate("w", 0, 0, 3, 0.5)], eligible=[]),
        Problem(
            orders=[OrderSlots("o", 3, 0, 0)], workers=[Candidate("w", 0, 0, 3, 0.5)], eligible=[]
        ),
        Problem(
            orders=[OrderSlots("o", 0, 0, 0, needs_foreman=1)],
            workers=[Candidate("w", 0, 0, 3, 0.5, is_foreman=True)],
            eligible=[("w", "o")],
        ),
    ],
    ids=["nothing", "no-workers", "no-orders", "no-eligible", "zero-slots"],
)
def test_empty_problems_solve_to_nothing(problem):
    solution = solve(problem)
    assert solution.assignments == []
    assert solution.filled == {o.id: 0 for o in problem.orders}
    assert solution.objective == 0.0
    assert solution.foreman_shortfall == 0


def test_eligible_may_be_a_one_shot_iterator():
    problem = Problem(
        orders=[OrderSlots("o", 1, 0, 0)],
        workers=[Candidate("w", 0, 0, 3, 0.5)],
        eligible=iter([("w", "o")]),
    )
    assert solve(problem).assignments == [("w", "o")]
    assert solve(problem).assignments == [("w", "o")]


def test_cost_adjustments_change_the_choice_and_count_in_the_objective():
    orders = [OrderSlots("o", 1, 59.93, 30.31)]
    workers = [
        Candidate("close", 59.93, 30.31, 4, 0.9),
        Candidate("favourite", 59.99, 30.5, 4, 0.9),
    ]
    eligible = [("close", "o"), ("favourite", "o")]
    plain = solve(Problem(orders, workers, eligible))
    assert plain.assignments == [("close", "o")]
    adjustments = {("favourite", "o"): -50.0, ("close", "elsewhere"): -999.0, ("ghost", "o"): 1.0}
    favoured = Problem(orders, workers, eligible, pair_cost_adjustments=adjustments)
    solution = solve(favoured)
    assert solution.assignments == [("favourite", "o")]
    assert solution.objective == pytest.approx(pair_cost(favoured, "favourite", "o"))
    assert solution.objective < 0


# --- distances --------------------------------------------------------------------------------


@given(points=st.lists(st.tuples(any_lat, any_lng, any_lat, any_lng), min_size=1, max_size=20))
@FAST
def test_vectorised_distance_matches_geopy_great_circle(points):
    lat1, lng1, lat2, lng2 = (np.array(column) for column in zip(*points, strict=True))
    ours = great_circle_km(lat1, lng1, lat2, lng2)
    for i, (a, b, c, d) in enumerate(points):
        assert ours[i] == pytest.approx(great_circle((a, b), (c, d)).km, rel=1e-9, abs=1e-6)


def test_distance_sphere_is_geopys():
    assert EARTH_RADIUS == EARTH_RADIUS_KM
    assert great_circle_km(0.0, 0.0, 0.0, 180.0) == pytest.approx(math.pi * EARTH_RADIUS_KM)


# --- foremen (CP-SAT) ---------------------------------------------------------------------------


def crew_problem(**overrides) -> Problem:
    """Order "a" (2 slots, wants a foreman) and order "b" (1 slot).

    The foreman lives next to "b", so the cheapest filling sends him there.
    """
    a, b = (59.90, 30.20), (60.00, 30.50)
    orders = [
        OrderSlots("a", 2, *a, needs_foreman=overrides.get("needs_foreman", 1)),
        OrderSlots("b", 1, *b),
    ]
    workers = [
        Candidate("foreman", *b, 4.0, 0.9, is_foreman=True),
        Candidate("x", *a, 4.0, 0.9),
        Candidate("y", *a, 4.0, 0.9),
        Candidate("z", *b, 4.0, 0.9),
    ]
    eligible = [("foreman", "a"), ("foreman", "b"), ("x", "a"), ("y", "a"), ("z", "b")]
    return Problem(orders=orders, workers=workers, eligible=eligible)


def test_foreman_requirement_moves_the_foreman_to_his_crew():
    problem = crew_problem()
    solution = solve(problem, time_limit_seconds=5)
    check_contract(problem, solution)
    assert solution.method == "cp_sat"
    assert solution.optimal
    assert ("foreman", "a") in solution.assignments
    assert solution.filled == {"a": 2, "b": 1}
    assert solution.foreman_shortfall == 0
    filled, held, cost = brute_force(problem)
    assert (filled, held) == (3, 1)
    assert solution.objective == pytest.approx(cost, rel=1e-3)


def test_without_a_requirement_the_cheapest_filling_stands():
    solution = solve(crew_problem(needs_foreman=0))
    assert solution.method == "min_cost_flow"
    assert ("foreman", "a") not in solution.assignments


def test_foreman_rule_never_costs_a_filled_slot():
    # Both orders can be filled only if the foreman goes to "b".
    problem = Problem(
        orders=[OrderSlots("a", 1, 59.9, 30.2, needs_foreman=1), OrderSlots("b", 1, 60.0, 30.5)],
        workers=[
            Candidate("foreman", 59.9, 30.2, 5, 1, is_foreman=True),
            Candidate("x", 59.9, 30.2, 5, 1),
        ],
        eligible=[("foreman", "a"), ("foreman", "b"), ("x", "a")],
    )
    solution = solve(problem)
    assert sorted(solution.assignments) == [("foreman", "b"), ("x", "a")]
    assert solution.foreman_shortfall == 1


def test_requirement_already_met_by_the_flow_skips_cp_sat():
    problem = Problem(
        orders=[OrderSlots("a", 2, 59.9, 30.2, needs_foreman=1)],
        workers=[
            Candidate("foreman", 59.9, 30.2, 5, 1, is_foreman=True),
            Candidate("x", 59.9, 30.2, 5, 1),
        ],
        eligible=[("foreman", "a"), ("x", "a")],
    )
    solution = solve(problem)
    assert solution.method == "min_cost_flow"
    assert solution.foreman_shortfall == 0


def test_unmeetable_requirement_is_reported_not_fatal():
    problem = Problem(
        orders=[OrderSlots("a", 3, 59.9, 30.2, needs_foreman=2)],
        workers=[Candidate("x", 59.9, 30.2, 5, 1)],
        eligible=[("x", "a")],
    )
    solution = solve(problem)
    assert solution.assignments == [("x", "a")]
    assert solution.foreman_shortfall == 2


@st.composite
def crew_problems(draw):
    """Small, dense city instances where foremen are scarce: where the flow alone goes wrong."""
    orders = [
        OrderSlots(
            id=f"o{i}",
            slots=draw(st.integers(1, 2)),
            lat=draw(city_lat),
            lng=draw(city_lng),
            needs_foreman=draw(st.integers(0, 1)),
        )
        for i in range(draw(st.integers(2, 3)))
    ]
    workers = [
        Candidate(
            id=i,
            lat=draw(city_lat),
            lng=draw(city_lng),
            rating=draw(st.floats(0, 5)),
            reliability=draw(st.floats(0, 1)),
            is_foreman=draw(st.booleans()),
        )
        for i in range(draw(st.integers(2, 5)))
    ]
    pairs = [(w.id, o.id) for w in workers for o in orders]
    keep = draw(st.lists(st.booleans(), min_size=len(pairs), max_size=len(pairs)))
    eligible = [pair for pair, kept in zip(pairs, keep, strict=True) if kept]
    return Problem(orders=orders, workers=workers, eligible=eligible)


@given(problem=st.one_of(problems(foremen=True), crew_problems()))
@settings(max_examples=80, deadline=None)
def test_foreman_solutions_match_brute_force(problem):
    solution = solve(problem, time_limit_seconds=5)
    check_contract(problem, solution)
    filled, held, cost = brute_force(problem)
    assert sum(solution.filled.values()) == filled
    places = sum(min(o.needs_foreman, o.slots) for o in problem.orders)
    assert places - solution.foreman_shortfall == held
    assert foreman_places_held(problem, solution.assignments) == held
    assert solution.objective == pytest.approx(cost, rel=1e-3, abs=1e-4)


# --- validation -------------------------------------------------------------------------------

ORDER = OrderSlots("o", 1, 59.9, 30.3)
WORKER = Candidate("w", 59.9, 30.3, 4.0, 0.9)


@pytest.mark.parametrize(
    ("problem", "message"),
    [
        (Problem([ORDER], [WORKER], [("nobody", "o")]), "unknown worker id 'nobody'"),
        (Problem([ORDER], [WORKER], [("w", "nowhere")]), "unknown order id 'nowhere'"),
        (Problem([ORDER], [WORKER], [("w", "o", "x")]), r"eligible\[0\] must be a"),
        (Problem([ORDER], [WORKER], [("w", ["o"])]), "unhashable"),
        (Problem([OrderSlots("o", -1, 0, 0)], [], []), "slots must be a non-negative integer"),
        (Problem([OrderSlots("o", 1.5, 0, 0)], [], []), "slots must be a non-negative integer"),
        (Problem([OrderSlots("o", 1, 0, 0, -1)], [], []), "needs_foreman"),
        (Problem([OrderSlots("o", 10**30, 0, 0)], [], []), "slots must be a non-negative"),
        (Problem([OrderSlots("o", 1, 10**400, 0)], [], []), "lat must be a number"),
        (Problem([ORDER, ORDER], [], []), "duplicate order id 'o'"),
        (Problem([], [WORKER, WORKER], []), "duplicate worker id 'w'"),
        (Problem([], [Candidate("w", 0, 0, 5.5, 0.5)], []), "rating must be within 0..5, got 5.5$"),
        (Problem([], [Candidate("w", 0, 0, -1, 0.5)], []), "rating must be within 0..5"),
        (Problem([], [Candidate("w", 0, 0, math.nan, 0.5)], []), "rating"),
        (Problem([], [Candidate("w", 0, 0, 3, 1.2)], []), "reliability must be within 0..1"),
        (Problem([OrderSlots("o", 1, 91, 0)], [], []), "lat must be within -90..90"),
        (Problem([OrderSlots("o", 1, 0, -181)], [], []), "lng must be within -180..180"),
        (Problem([OrderSlots("o", 1, math.inf, 0)], [], []), "lat must be a finite number"),
        (Problem([], [Candidate("w", 0, math.nan, 3, 0.5)], []), "lng must be a finite number"),
        (Problem([], [Candidate("w", "north", 0, 3, 0.5)], []), "lat must be a number"),
        (Problem([], [], [], Weights(distance_per_km=-1)), "distance_per_km"),
        (Problem([], [], [], Weights(unreliability=math.inf)), "unreliability"),
        (
            Problem([ORDER], [WORKER], [("w", "o")], pair_cost_adjustments={("w", "o"): math.nan}),
            "must be finite",
        ),
    ],
)
def test_invalid_problems_are_rejected_with_a_clear_message(problem, message):
    with pytest.raises(ProblemError, match=message):
        solve(problem)


def test_problem_error_is_a_value_error():
    assert issubclass(ProblemError, ValueError)


# --- JSON -------------------------------------------------------------------------------------


def test_contract_example_round_trip():
    solution = solve(problem_from_json(CONTRACT_EXAMPLE))
    result = json.loads(json.dumps(solution_to_json(solution)))
    assert set(result) == {"assignments", "filled", "objective", "solve_seconds"}
    assert result["assignments"] == [["w1", "o1"]]
    assert result["filled"] == {"o1": 1}
    km = great_circle((59.95, 30.30), (59.93, 30.31)).km
    assert result["objective"] == pytest.approx(km + 0.8 * 2 + 0.1 * 10)
    assert result["solve_seconds"] >= 0


def test_json_weights_are_optional_each_key_too():
    data = {k: v for k, v in CONTRACT_EXAMPLE.items() if k != "weights"}
    assert problem_from_json(data).weights == Weights()
    partial = problem_from_json({**data, "weights": {"rating_point": 0.5}})
    assert partial.weights == Weights(rating_point=0.5)
    assert problem_from_json({**data, "weights": None}).weights == Weights()


def test_json_mixed_ids_and_optional_crew_fields():
    problem = problem_from_json(
        {
            "orders": [{"id": 7, "slots": 2.0, "lat": 1, "lng": 2, "needs_foreman": 1}],
            "workers": [
                {"id": "w", "lat": 1, "lng": 2, "rating": 5, "reliability": 1, "is_foreman": True},
                {"id": 8, "lat": 1, "lng": 2, "rating": 5, "reliability": 1, "name": "ignored"},
            ],
            "eligible": [["w", 7], [8, 7], [8, 7]],
        }
    )
    assert problem.orders[0] == OrderSlots(7, 2, 1.0, 2.0, needs_foreman=1)
    assert problem.workers[0].is_foreman
    solution = solution_to_json(solve(problem))
    assert solution["assignments"] == [["w", 7], [8, 7]]
    assert solution["filled"] == {7: 2}


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(weights={"distance": 1.0}), "unknown weight key.*'distance'"),
        (lambda d: d.update(weights={"rating_point": "2"}), "rating_point must be a number"),
        (lambda d: d.update(weights=[1, 2]), "'weights' must be an object"),
        (lambda d: d.update(eligible=[["w1", "o1", "x"]]), r"eligible\[0\] must be a"),
        (lambda d: d.update(eligible=["w1o1"]), r"eligible\[0\] must be a"),
        (lambda d: d.update(eligible=[[True, "o1"]]), "id must be a string or an integer"),
        (lambda d: d.update(eligible=[[1.5, "o1"]]), "id must be a string or an integer"),
        (lambda d: d.pop("eligible"), "missing 'eligible'"),
        (lambda d: d.update(orders={"id": "o1"}), "'orders' must be a list"),
        (lambda d: d["orders"][0].pop("slots"), r"orders\[0\]: missing 'slots'"),
        (lambda d: d["orders"][0].update(slots=1.5), "slots must be an integer"),
        (lambda d: d["orders"][0].update(slots=True), "slots must be an integer"),
        (lambda d: d["workers"][0].pop("rating"), r"workers\[0\]: missing 'rating'"),
        (lambda d: d["workers"][0].update(lat="59.9"), "lat must be a number"),
        (lambda d: d["workers"][0].update(lat=10**400), "lat is out of range"),
        (lambda d: d["workers"][0].update(is_foreman="yes"), "is_foreman"),
        (lambda d: d["workers"][0].pop("id"), r"workers\[0\]: missing 'id'"),
        (lambda d: d["orders"].append("o2"), r"orders\[1\] must be an object"),
        (
            lambda d: (
                d["orders"].append({"id": 1, "slots": 1, "lat": 0, "lng": 0})
                or d["orders"].append({"id": "1", "slots": 1, "lat": 0, "lng": 0})
            ),
            "same key",
        ),
    ],
)
def test_json_shape_errors(mutate, message):
    data = json.loads(json.dumps(CONTRACT_EXAMPLE))
    mutate(data)
    with pytest.raises(ProblemError, match=message):
        problem_from_json(data)


def test_json_top_level_must_be_an_object():
    with pytest.raises(ProblemError, match="must be an object"):
        problem_from_json([1, 2])  # type: ignore[arg-type]


def test_cp_sat_out_of_time_still_keeps_every_guarantee():
    problem = random_problem(11, n_workers=300, n_orders=30, density=0.1)
    with_foremen = Problem(
        orders=[OrderSlots(o.id, o.slots, o.lat, o.lng, needs_foreman=1) for o in problem.orders],
        workers=problem.workers,
        eligible=problem.eligible,
    )
    plain = solve(problem)
    rushed = solve(with_foremen, time_limit_seconds=0.01)
    check_contract(with_foremen, rushed)
    assert sum(rushed.filled.values()) == sum(plain.filled.values())
    # Never worse than the cheapest filling it started from.
    assert foreman_places_held(with_foremen, rushed.assignments) >= foreman_places_held(
        with_foremen, plain.assignments
    )
    assert rushed.method == "cp_sat"
