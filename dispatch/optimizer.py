"""Assignment of accepted workers to open orders: maximum filled slots first, then minimum cost.

Pure: no Django. Dataclasses in (``Problem``), dataclasses out (``Solution``).

The common case is a min-cost max-flow (OR-Tools ``SimpleMinCostFlow``): workers supply one unit,
orders absorb up to ``slots``, one arc per eligible (worker, order) pair with unit capacity.
Crew-mix side constraints (``needs_foreman``) go to CP-SAT, which is orders of magnitude slower, so
it only runs when the cheapest flow provably falls short of them.

Cost of a pair (in "kilometre equivalents")::

    distance_km * distance_per_km + (5 - rating) * rating_point
    + (1 - reliability) * unreliability + adjustment

where ``distance_km`` is the great-circle distance on geopy's sphere (R = 6371.009 km) and the
adjustment is an optional extra term per pair supplied by the service layer.
"""

from __future__ import annotations

import math
import time
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, Generic, TypeVar

import numpy as np
from ortools.graph.python import max_flow, min_cost_flow

from core.geo.points import EARTH_RADIUS_KM, haversine_km_vec

__all__ = [
    "EARTH_RADIUS_KM",
    "Candidate",
    "OrderSlots",
    "Problem",
    "ProblemError",
    "Solution",
    "SolverError",
    "Weights",
    "great_circle_km",
    "solve",
]

# Distances are core.geo's, on the sphere geopy's great_circle uses (its EARTH_RADIUS_KM).
great_circle_km = haversine_km_vec
MAX_RATING = 5.0
# Far above any real order; keeps slot counts inside the solvers' integer types.
MAX_SLOTS = 1_000_000
DEFAULT_TIME_LIMIT_SECONDS = 10.0

METHOD_FLOW = "min_cost_flow"
METHOD_CP_SAT = "cp_sat"

# Costs become integers in units of this many cost points (a millimetre at 1 per km). Rounding
# moves each chosen pair's cost by at most half a unit, so the optimum found is within
# filled_slots * resolution of the true one: under 0.1 % whenever the mean chosen pair costs
# more than a thousandth of a point. On the benchmark instance this costs no time against 1e-3;
# 1e-9 would add refine rounds to the cost-scaling solver (about 25 % slower).
COST_RESOLUTION = 1e-6
# With small weights (costs of a millionth of a point and less) the unit shrinks so that the
# largest cost still spans this many units: the bound above then holds relative to the costs
# themselves, whatever their scale. Ordinary costs (above 10 points) keep COST_RESOLUTION.
MIN_COST_UNITS = 1e7

# Safety factor between the worst-case potentials of the cost-scaling solver and 2**62; a
# BAD_COST_RANGE nevertheless retries with costs 1024 times coarser.
_OVERFLOW_HEADROOM = 8.0
_COARSEN_ON_BAD_RANGE = 1024.0
_MAX_COARSENINGS = 3


class ProblemError(ValueError):
    """The problem is malformed: unknown or duplicate ids, out-of-range values, bad JSON shape."""


class SolverError(RuntimeError):
    """The underlying solver failed on a well-formed problem (should not happen)."""


@dataclass(frozen=True, slots=True)
class Weights:
    """Cost weights; each must be finite and non-negative."""

    distance_per_km: float = 1.0
    rating_point: float = 2.0
    unreliability: float = 10.0


# The caller's ids of orders and workers (database keys, say): solve gives back the same kind.
Id = TypeVar("Id", bound=Hashable)


@dataclass(frozen=True, slots=True)
class OrderSlots(Generic[Id]):
    """An open order: ``slots`` places to fill at (lat, lng).

    ``needs_foreman``: how many of the workers assigned to it should be foremen (see ``solve``);
    capped at ``slots``.
    """

    id: Id
    slots: int
    lat: float
    lng: float
    needs_foreman: int = 0


@dataclass(frozen=True, slots=True)
class Candidate(Generic[Id]):
    """A worker who may be assigned: home point, rating 0-5, reliability 0-1."""

    id: Id
    lat: float
    lng: float
    rating: float
    reliability: float
    is_foreman: bool = False


@dataclass(frozen=True)
class Problem(Generic[Id]):
    """Orders, workers and the allowed (worker_id, order_id) pairs.

    ``eligible`` may repeat a pair (it counts once) and may be any iterable; it is stored as a
    tuple. ``pair_cost_adjustments`` adds an extra cost term per (worker_id, order_id) (negative
    for a client's favourite, for instance); an adjustment for a pair that is not eligible has no
    effect. Values are validated by ``solve``.
    """

    orders: Sequence[OrderSlots[Id]]
    workers: Sequence[Candidate[Id]]
    eligible: Iterable[tuple[Id, Id]]
    weights: Weights = field(default_factory=Weights)
    pair_cost_adjustments: Mapping[tuple[Id, Id], float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "orders", tuple(self.orders))
        object.__setattr__(self, "workers", tuple(self.workers))
        object.__setattr__(self, "eligible", tuple(self.eligible))


@dataclass(frozen=True, slots=True)
class Solution(Generic[Id]):
    """The chosen (worker_id, order_id) pairs and what they achieve.

    ``assignments`` is sorted by order (in input order), then worker (in input order).
    ``filled`` has every order id, 0 included. ``objective`` is the sum of the true (unscaled)
    costs of the chosen pairs. ``method`` is ``"min_cost_flow"`` or ``"cp_sat"``.
    ``foreman_shortfall`` is the number of foreman places (``min(needs_foreman, slots)`` per order)
    not held by a foreman (0 without foreman requirements). ``optimal`` is False only when CP-SAT
    stopped at its time limit before proving its answer. ``timings`` splits ``solve_seconds`` into
    phases, for benchmarks and logs.
    """

    assignments: list[tuple[Id, Id]]
    filled: dict[Id, int]
    objective: float
    solve_seconds: float
    method: str
    foreman_shortfall: int = 0
    optimal: bool = True
    timings: dict[str, float] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# The cost of a worker for an order


def worker_cost(rating: Any, reliability: Any, weights: Weights) -> Any:
    """The part of a worker's cost that is the same for every order: rating points below the
    best and unreliability, weighted. Element-wise on arrays."""
    return (MAX_RATING - rating) * weights.rating_point + (
        1.0 - reliability
    ) * weights.unreliability


def pair_cost(distance_km: Any, worker_part: Any, weights: Weights) -> Any:
    """A worker's cost for an order `distance_km` from their home, `worker_part` being their
    `worker_cost`: the rule the call-out ranks candidates by and the assignment minimises.
    Element-wise on arrays. Written in SQL too, with the flat distance, as
    dispatch/sql.approximate_cost."""
    return distance_km * weights.distance_per_km + worker_part


# --------------------------------------------------------------------------------------------
# Validation and compilation to arrays


@dataclass(frozen=True, slots=True)
class _Compiled(Generic[Id]):
    order_ids: list[Id]
    worker_ids: list[Id]
    slots: np.ndarray  # int64 per order
    needs_foreman: np.ndarray  # int64 per order
    is_foreman: np.ndarray  # bool per worker
    # One entry per distinct eligible pair, sorted by worker index, then order index.
    pair_worker: np.ndarray  # int64
    pair_order: np.ndarray  # int64
    pair_cost: np.ndarray  # float64, true cost


def _index_ids(ids: Sequence[Hashable], kind: str) -> dict[Hashable, int]:
    try:
        index = {item: position for position, item in enumerate(ids)}
    except TypeError as exc:
        raise ProblemError(f"{kind} ids must be hashable: {exc}") from None
    if len(index) != len(ids):
        seen: set[Hashable] = set()
        for item in ids:
            if item in seen:
                raise ProblemError(f"duplicate {kind} id {item!r}")
            seen.add(item)
    return index


def _is_integer(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _float_column(values: list[Any], name: str, kind: str, ids: Sequence[Hashable]) -> np.ndarray:
    try:
        column = np.array(values, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        for position, value in enumerate(values):
            try:
                float(value)
            except (TypeError, ValueError, OverflowError):
                raise ProblemError(
                    f"{kind} {ids[position]!r}: {name} must be a number, got {value!r}"
                ) from None
        raise ProblemError(f"{kind}s: {name} must be numbers") from None
    if column.ndim != 1:
        raise ProblemError(f"{kind}s: {name} must be numbers")
    return column


def _check_range(
    column: np.ndarray, low: float, high: float, *, name: str, kind: str, ids: Sequence[Hashable]
) -> None:
    # NaN fails both comparisons, so it is reported too.
    bad = ~((column >= low) & (column <= high))
    if bad.any():
        position = int(np.argmax(bad))
        raise ProblemError(
            f"{kind} {ids[position]!r}: {name} must be within {low:g}..{high:g}, "
            f"got {float(column[position])!r}"
        )


def _check_points(lat: np.ndarray, lng: np.ndarray, kind: str, ids: Sequence[Hashable]) -> None:
    for column, name in ((lat, "lat"), (lng, "lng")):
        bad = ~np.isfinite(column)
        if bad.any():
            position = int(np.argmax(bad))
            raise ProblemError(
                f"{kind} {ids[position]!r}: {name} must be a finite number, "
                f"got {float(column[position])!r}"
            )
    _check_range(lat, -90.0, 90.0, name="lat", kind=kind, ids=ids)
    _check_range(lng, -180.0, 180.0, name="lng", kind=kind, ids=ids)


def _check_weights(weights: Weights) -> None:
    for name in ("distance_per_km", "rating_point", "unreliability"):
        value = getattr(weights, name)
        if isinstance(value, bool) or not isinstance(value, int | float | np.number):
            raise ProblemError(f"weight {name} must be a number, got {value!r}")
        if not math.isfinite(value) or value < 0:
            raise ProblemError(f"weight {name} must be finite and non-negative, got {value!r}")


def _bad_pair_error(
    pairs: tuple[Any, ...],
    worker_index: Mapping[Hashable, int],
    order_index: Mapping[Hashable, int],
) -> ProblemError:
    """Names the first offending entry of ``eligible``; runs only after the fast pass failed."""
    for position, pair in enumerate(pairs):
        try:
            worker_id, order_id = pair
        except (TypeError, ValueError):
            return ProblemError(
                f"eligible[{position}] must be a (worker_id, order_id) pair, got {pair!r}"
            )
        try:
            known_worker = worker_id in worker_index
            known_order = order_id in order_index
        except TypeError:
            return ProblemError(f"eligible[{position}] holds an unhashable id: {pair!r}")
        if not known_worker:
            return ProblemError(f"eligible[{position}]: unknown worker id {worker_id!r}")
        if not known_order:
            return ProblemError(f"eligible[{position}]: unknown order id {order_id!r}")
    return ProblemError("eligible: malformed pairs")


def _compile(problem: Problem[Id]) -> _Compiled[Id]:
    """Validates the problem and turns it into arrays; raises ``ProblemError``."""
    orders = problem.orders
    workers = problem.workers
    _check_weights(problem.weights)

    order_ids = [order.id for order in orders]
    worker_ids = [worker.id for worker in workers]
    order_index = _index_ids(order_ids, "order")
    worker_index = _index_ids(worker_ids, "worker")

    for order in orders:
        if not _is_integer(order.slots) or not 0 <= order.slots <= MAX_SLOTS:
            raise ProblemError(
                f"order {order.id!r}: slots must be a non-negative integer up to {MAX_SLOTS:,}, "
                f"got {order.slots!r}"
            )
        if not _is_integer(order.needs_foreman) or not 0 <= order.needs_foreman <= MAX_SLOTS:
            raise ProblemError(
                f"order {order.id!r}: needs_foreman must be a non-negative integer up to "
                f"{MAX_SLOTS:,}, got {order.needs_foreman!r}"
            )
    slots = np.array([order.slots for order in orders], dtype=np.int64)
    needs_foreman = np.array([order.needs_foreman for order in orders], dtype=np.int64)
    order_lat = _float_column([o.lat for o in orders], "lat", "order", order_ids)
    order_lng = _float_column([o.lng for o in orders], "lng", "order", order_ids)
    _check_points(order_lat, order_lng, "order", order_ids)

    worker_lat = _float_column([w.lat for w in workers], "lat", "worker", worker_ids)
    worker_lng = _float_column([w.lng for w in workers], "lng", "worker", worker_ids)
    _check_points(worker_lat, worker_lng, "worker", worker_ids)
    rating = _float_column([w.rating for w in workers], "rating", "worker", worker_ids)
    _check_range(rating, 0.0, MAX_RATING, name="rating", kind="worker", ids=worker_ids)
    reliability = _float_column(
        [w.reliability for w in workers], "reliability", "worker", worker_ids
    )
    _check_range(reliability, 0.0, 1.0, name="reliability", kind="worker", ids=worker_ids)
    is_foreman = np.array([bool(w.is_foreman) for w in workers], dtype=bool)

    # A tuple since __post_init__; the test narrows the declared iterable for the checker.
    eligible = problem.eligible
    pairs = eligible if isinstance(eligible, tuple) else tuple(eligible)
    n_pairs = len(pairs)
    try:
        # map() over bound dict methods keeps the per-pair work in C: about 3x faster than
        # generator expressions on the benchmark's 45,000 pairs.
        if n_pairs and set(map(len, pairs)) != {2}:
            raise ValueError("not pairs")
        worker_column = map(itemgetter(0), pairs)
        order_column = map(itemgetter(1), pairs)
        pair_worker = np.fromiter(map(worker_index.__getitem__, worker_column), np.int64, n_pairs)
        pair_order = np.fromiter(map(order_index.__getitem__, order_column), np.int64, n_pairs)
    except (KeyError, TypeError, ValueError):
        raise _bad_pair_error(pairs, worker_index, order_index) from None

    # Duplicates count once: one code per (worker, order), sorted (so by worker, then order).
    n_orders = max(len(orders), 1)
    codes = np.sort(pair_worker * n_orders + pair_order)
    if n_pairs > 1:
        codes = codes[np.concatenate(([True], codes[1:] != codes[:-1]))]
    pair_worker = codes // n_orders
    pair_order = codes % n_orders

    weights = problem.weights
    distance = great_circle_km(
        worker_lat[pair_worker],
        worker_lng[pair_worker],
        order_lat[pair_order],
        order_lng[pair_order],
    )
    costs = pair_cost(distance, worker_cost(rating, reliability, weights)[pair_worker], weights)
    if problem.pair_cost_adjustments:
        costs = costs + _adjustments(
            problem.pair_cost_adjustments, codes, n_orders, worker_index, order_index
        )

    return _Compiled(
        order_ids=order_ids,
        worker_ids=worker_ids,
        slots=slots,
        needs_foreman=needs_foreman,
        is_foreman=is_foreman,
        pair_worker=pair_worker,
        pair_order=pair_order,
        pair_cost=costs,
    )


def _adjustments(
    adjustments: Mapping[tuple[Id, Id], float],
    codes: np.ndarray,
    n_orders: int,
    worker_index: Mapping[Hashable, int],
    order_index: Mapping[Hashable, int],
) -> np.ndarray:
    """Per-pair extra cost aligned with the sorted pair ``codes``; non-eligible pairs ignored."""
    extra = np.zeros(len(codes), dtype=np.float64)
    wanted: list[int] = []
    values: list[float] = []
    for key, value in adjustments.items():
        try:
            worker_id, order_id = key
            amount = float(value)
        except (TypeError, ValueError, OverflowError):
            raise ProblemError(
                f"pair_cost_adjustments: {key!r} -> {value!r} is not a (worker_id, order_id) "
                "pair with a number"
            ) from None
        if not math.isfinite(amount):
            raise ProblemError(f"pair_cost_adjustments[{key!r}] must be finite, got {value!r}")
        worker = worker_index.get(worker_id)
        order = order_index.get(order_id)
        if worker is not None and order is not None:
            wanted.append(worker * n_orders + order)
            values.append(amount)
    if wanted and len(codes):
        wanted_codes = np.array(wanted, dtype=np.int64)
        position = np.minimum(np.searchsorted(codes, wanted_codes), len(codes) - 1)
        hit = codes[position] == wanted_codes
        extra[position[hit]] = np.array(values, dtype=np.float64)[hit]
    return extra


# --------------------------------------------------------------------------------------------
# Solvers


def _integer_costs(cost: np.ndarray, ceiling: float, coarsening: float = 1.0) -> np.ndarray:
    """Costs rounded to ``COST_RESOLUTION`` units (finer when the costs are small, see
    ``MIN_COST_UNITS``), coarser only if ``max|cost|`` would pass ``ceiling`` units."""
    peak = float(np.max(np.abs(cost))) if cost.size else 0.0
    scale = 1.0 / COST_RESOLUTION
    if peak > 0.0:
        scale = max(scale, MIN_COST_UNITS / peak)
    scale /= coarsening
    if peak * scale > ceiling:
        scale = ceiling / peak
    return np.rint(cost * scale).astype(np.int64)


def _solve_flow(compiled: _Compiled[Any]) -> np.ndarray:
    """Min-cost maximum flow; returns a boolean mask over the pairs.

    ``solve_max_flow_with_min_cost`` runs a max-flow from a super source (feeding every node with
    positive supply) to a super sink, then a min-cost flow of exactly that value over the same
    graph, so the result is the cheapest among all maximum fillings.
    """
    # Only workers with at least one eligible pair become nodes: fewer nodes shorten every
    # cost-scaling pass and the scaling factor itself.
    used_workers, worker_node = np.unique(compiled.pair_worker, return_inverse=True)
    n_worker_nodes = len(used_workers)
    n_orders = len(compiled.slots)
    n_nodes = n_worker_nodes + n_orders

    tails = worker_node.astype(np.int32)
    heads = (compiled.pair_order + n_worker_nodes).astype(np.int32)
    capacities = np.ones(len(tails), dtype=np.int64)
    # A demand above the number of workers can never be met and only inflates capacity sums.
    demands = np.minimum(compiled.slots, n_worker_nodes)
    nodes = np.arange(n_nodes, dtype=np.int32)
    supplies = np.concatenate([np.ones(n_worker_nodes, dtype=np.int64), -demands])

    # Cost scaling multiplies costs by (nodes + 1) and node potentials drift to roughly nodes
    # times that: keep max|cost| * nodes**2 well inside int64.
    ceiling = 2.0**62 / (_OVERFLOW_HEADROOM * float(n_nodes + 2) ** 2)
    for attempt in range(_MAX_COARSENINGS + 1):
        unit_costs = _integer_costs(
            compiled.pair_cost, ceiling, coarsening=_COARSEN_ON_BAD_RANGE**attempt
        )
        flow = min_cost_flow.SimpleMinCostFlow()
        arcs = flow.add_arcs_with_capacity_and_unit_cost(tails, heads, capacities, unit_costs)
        flow.set_nodes_supplies(nodes, supplies)
        status = flow.solve_max_flow_with_min_cost()
        if status == flow.OPTIMAL:
            return np.asarray(flow.flows(arcs)) > 0
        if status != flow.BAD_COST_RANGE:
            break
    raise SolverError(f"min-cost flow failed with status {status!r}")


def _foreman_places(compiled: _Compiled[Any]) -> np.ndarray:
    """Per order, how many of its places should hold a foreman: ``min(needs_foreman, slots)``."""
    places: np.ndarray = np.minimum(compiled.needs_foreman, compiled.slots)
    return places


def _foremen_placed(compiled: _Compiled[Any], chosen: np.ndarray) -> np.ndarray:
    """Per order, the foreman places actually held by a foreman."""
    pair_is_foreman = compiled.is_foreman[compiled.pair_worker]
    foremen = np.bincount(
        compiled.pair_order[chosen & pair_is_foreman], minlength=len(compiled.slots)
    )
    placed: np.ndarray = np.minimum(_foreman_places(compiled), foremen)
    return placed


def _most_foremen_placeable(compiled: _Compiled[Any]) -> int:
    """An upper bound on the foreman places that can be held: foremen alone, fill ignored.

    A max-flow over the foremen's pairs, each order taking at most its foreman places. When the
    cheapest maximum filling already reaches it, that filling is the lexicographic optimum and
    CP-SAT is not needed.
    """
    places = _foreman_places(compiled)
    pair_is_foreman = compiled.is_foreman[compiled.pair_worker] & (places[compiled.pair_order] > 0)
    if not pair_is_foreman.any():
        return 0
    used, worker_node = np.unique(compiled.pair_worker[pair_is_foreman], return_inverse=True)
    source, sink = 0, 1
    n_fixed = 2 + len(used)
    tails = np.concatenate(
        [
            np.full(len(used), source),
            worker_node + 2,
            n_fixed + np.arange(len(places)),
        ]
    ).astype(np.int32)
    heads = np.concatenate(
        [
            np.arange(len(used)) + 2,
            compiled.pair_order[pair_is_foreman] + n_fixed,
            np.full(len(places), sink),
        ]
    ).astype(np.int32)
    capacities = np.concatenate(
        [np.ones(len(used) + int(pair_is_foreman.sum()), dtype=np.int64), places]
    )
    flow = max_flow.SimpleMaxFlow()
    flow.add_arcs_with_capacity(tails, heads, capacities)
    status = flow.solve(source, sink)
    if status != flow.OPTIMAL:
        raise SolverError(f"max flow failed with status {status!r}")
    return int(flow.optimal_flow())


def _solve_with_foremen(
    compiled: _Compiled[Any], flow_choice: np.ndarray, time_limit_seconds: float
) -> tuple[np.ndarray, bool]:
    """CP-SAT, lexicographic: filled slots, then foreman places held, then cost.

    The filled count is fixed to the flow's maximum (the rule is soft, so it cannot change that
    maximum). One objective, ``cost - held * bonus``, with ``bonus`` above any cost difference
    between two fillings of that size (``filled * (max cost - min cost)``), so one more foreman
    place always wins: a single solve, where two phases would pay CP-SAT's presolve twice.
    The flow's answer is the hint. Returns (mask, proven optimal); an answer found before the
    time limit but not proven is kept only if it beats the flow's.
    """
    # CP-SAT takes seconds to load; only solves short of foremen need it.
    from ortools.sat.python import cp_model  # noqa: PLC0415

    started = time.perf_counter()
    n_pairs = len(compiled.pair_cost)
    pair_worker = compiled.pair_worker
    pair_order = compiled.pair_order
    pair_is_foreman = compiled.is_foreman[pair_worker]
    places = _foreman_places(compiled)
    filled = int(flow_choice.sum())

    # The objective must stay exact in CP-SAT's doubles: |objective| <= units * filled *
    # (2 * places + 1) must stay below 2**53, units being the integer cost range.
    max_places = int(places.sum())
    unit_costs = _integer_costs(
        compiled.pair_cost, 2.0**52 / (max(filled, 1) * (2 * max_places + 2))
    )
    bonus = filled * int(unit_costs.max() - unit_costs.min()) + 1

    model = cp_model.CpModel()
    take = [model.new_bool_var(f"take_{i}") for i in range(n_pairs)]

    # Pairs are sorted by worker, so each worker's pairs are one contiguous run.
    worker_starts = np.flatnonzero(np.diff(pair_worker, prepend=-1))
    worker_ends = np.append(worker_starts[1:], n_pairs)
    for start, end in zip(worker_starts.tolist(), worker_ends.tolist(), strict=True):
        if end - start > 1:
            model.add_at_most_one(take[start:end])

    by_order = np.argsort(pair_order, kind="stable")
    order_starts = np.searchsorted(pair_order[by_order], np.arange(len(compiled.slots) + 1))
    flow_held = _foremen_placed(compiled, flow_choice).tolist()
    held = []
    for order, slots in enumerate(compiled.slots.tolist()):
        members = by_order[order_starts[order] : order_starts[order + 1]].tolist()
        if len(members) > slots:
            model.add(cp_model.LinearExpr.sum([take[i] for i in members]) <= slots)
        foremen = [take[i] for i in members if pair_is_foreman[i]]
        if places[order] > 0 and foremen:
            placed = model.new_int_var(0, int(places[order]), f"foremen_placed_{order}")
            model.add(placed <= cp_model.LinearExpr.sum(foremen))
            model.add_hint(placed, flow_held[order])
            held.append(placed)
    model.add(cp_model.LinearExpr.sum(take) == filled)
    for variable, value in zip(take, flow_choice.tolist(), strict=True):
        model.add_hint(variable, value)
    model.minimize(
        cp_model.LinearExpr.weighted_sum(take, unit_costs.tolist())
        - bonus * cp_model.LinearExpr.sum(held)
    )

    solver = cp_model.CpSolver()
    # Building the model counts against the limit (about 0.5 s for 45,000 pairs).
    solver.parameters.max_time_in_seconds = max(
        0.05, time_limit_seconds - (time.perf_counter() - started)
    )
    # The model as written is an assignment problem with one extra count, whose LP relaxation
    # is nearly integral; presolve rewrites it into clauses whose relaxation is weak. Measured on
    # random instances: 300 workers 0.06 s instead of 4 s, 2,000 workers 1.7 s instead of no
    # proof within 20 s.
    solver.parameters.cp_model_presolve = False
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return flow_choice, False
    found = np.array([solver.boolean_value(variable) for variable in take], dtype=bool)
    if status == cp_model.OPTIMAL:
        return found, True
    return max(found, flow_choice, key=lambda mask: _rank(compiled, mask)), False


def _rank(compiled: _Compiled[Any], chosen: np.ndarray) -> tuple[int, int, float]:
    """Lexicographic quality of a choice: filled slots, foreman places held, minus cost."""
    return (
        int(chosen.sum()),
        int(_foremen_placed(compiled, chosen).sum()),
        -float(compiled.pair_cost[chosen].sum()),
    )


def solve(
    problem: Problem[Id], *, time_limit_seconds: float = DEFAULT_TIME_LIMIT_SECONDS
) -> Solution[Id]:
    """Assigns workers to orders.

    Guarantees: each worker at most once; each order at most ``slots`` workers; only eligible
    pairs (duplicates count once); the number of filled slots is the maximum possible; among all
    maximum fillings the total cost is minimal (within 0.1 %, see ``COST_RESOLUTION``).

    Foremen: an order with ``needs_foreman = r`` has ``min(r, slots)`` foreman places, each held
    when one more of its assigned workers is a foreman. The rule is soft but prioritised: filled
    slots first, then the most foreman places held, then cost. It never leaves a slot empty to wait
    for a foreman (an unfilled slot loses the client's money; a crew without its leader is a
    problem the franchise can still fix by phone), and it counts places rather than crews: an
    order nobody else can staff does not lose workers because no foreman can reach it. When the
    cheapest flow already holds as many places as the foremen could hold at all (a max-flow bound)
    it is the answer (``method="min_cost_flow"``); otherwise CP-SAT decides within
    ``time_limit_seconds`` (``method="cp_sat"``; ``optimal`` is False if it ran out of time, the
    answer being the best found and never worse than the flow's).

    Raises ``ProblemError`` for invalid input: unknown or duplicate ids, malformed pairs, negative
    slots, rating outside 0-5, reliability outside 0-1, non-finite or out-of-range coordinates,
    negative or non-finite weights.
    """
    started = time.perf_counter()
    compiled = _compile(problem)
    built = time.perf_counter()
    timings = {"build_seconds": built - started}

    n_pairs = len(compiled.pair_cost)
    method = METHOD_FLOW
    optimal = True
    if n_pairs == 0 or not compiled.slots.any():
        chosen = np.zeros(n_pairs, dtype=bool)
    else:
        chosen = _solve_flow(compiled)
        flowed = time.perf_counter()
        timings["flow_seconds"] = flowed - built
        short_of_foremen = compiled.needs_foreman.any() and (
            _foremen_placed(compiled, chosen).sum() < _most_foremen_placeable(compiled)
        )
        if short_of_foremen:
            method = METHOD_CP_SAT
            chosen, optimal = _solve_with_foremen(compiled, chosen, time_limit_seconds)
            timings["cp_sat_seconds"] = time.perf_counter() - flowed

    return _solution(
        compiled, chosen, method=method, optimal=optimal, started=started, timings=timings
    )


def _solution(
    compiled: _Compiled[Id],
    chosen: np.ndarray,
    *,
    method: str,
    optimal: bool,
    started: float,
    timings: dict[str, float],
) -> Solution[Id]:
    workers = compiled.pair_worker[chosen]
    orders = compiled.pair_order[chosen]
    ranked = np.lexsort((workers, orders))
    worker_ids, order_ids = compiled.worker_ids, compiled.order_ids
    assignments = [
        (worker_ids[w], order_ids[o])
        for w, o in zip(workers[ranked].tolist(), orders[ranked].tolist(), strict=True)
    ]
    counts = np.bincount(orders, minlength=len(order_ids)).tolist()
    filled = dict(zip(order_ids, counts, strict=True))
    shortfall = int(_foreman_places(compiled).sum() - _foremen_placed(compiled, chosen).sum())
    objective = math.fsum(compiled.pair_cost[chosen].tolist())
    return Solution(
        assignments=assignments,
        filled=filled,
        objective=objective,
        solve_seconds=time.perf_counter() - started,
        method=method,
        foreman_shortfall=shortfall,
        optimal=optimal,
        timings=timings,
    )
