"""The optimiser's problem and solution as JSON (CONTRACT.md section 5), for `manage.py
solve_assignment`: the solver itself (`dispatch.optimizer`) takes and gives dataclasses.

Pure: no Django.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

from .optimizer import Candidate, OrderSlots, Problem, ProblemError, Solution, Weights

_WEIGHT_KEYS = ("distance_per_km", "rating_point", "unreliability")


def _json_id(value: object, where: str) -> Hashable:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ProblemError(f"{where}: id must be a string or an integer, got {value!r}")
    return value


def _json_number(item: Mapping[str, Any], key: str, where: str) -> float:
    if key not in item:
        raise ProblemError(f"{where}: missing {key!r}")
    value = item[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProblemError(f"{where}: {key} must be a number, got {value!r}")
    try:
        return float(value)
    except OverflowError:
        raise ProblemError(f"{where}: {key} is out of range, got {value!r}") from None


def _json_count(item: Mapping[str, Any], key: str, where: str, default: int | None) -> int:
    if key not in item:
        if default is None:
            raise ProblemError(f"{where}: missing {key!r}")
        return default
    value = item[key]
    # 15.0 is accepted as 15: some JSON writers emit every number as a float.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProblemError(f"{where}: {key} must be an integer, got {value!r}")
    return value


def _json_list(data: Mapping[str, Any], key: str) -> list[Any]:
    if key not in data:
        raise ProblemError(f"missing {key!r}")
    value = data[key]
    if not isinstance(value, list):
        raise ProblemError(f"{key!r} must be a list, got {type(value).__name__}")
    return value


def _json_object(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ProblemError(f"{where} must be an object, got {value!r}")
    return value


def problem_from_json(data: Mapping[str, Any]) -> Problem[Hashable]:
    """Builds a ``Problem`` from the contract's JSON (already parsed).

    ``orders``, ``workers`` and ``eligible`` are required; ``weights`` is optional and so is each
    of its keys (an unknown key is an error). Ids may be strings or integers and are kept as given.
    Orders may carry ``needs_foreman`` and workers ``is_foreman``; other extra keys are ignored.
    Raises ``ProblemError`` on a malformed shape; value ranges are checked by ``solve``.
    """
    data = _json_object(data, "the problem")

    orders = []
    for position, raw in enumerate(_json_list(data, "orders")):
        where = f"orders[{position}]"
        item = _json_object(raw, where)
        if "id" not in item:
            raise ProblemError(f"{where}: missing 'id'")
        orders.append(
            OrderSlots(
                id=_json_id(item["id"], where),
                slots=_json_count(item, "slots", where, default=None),
                lat=_json_number(item, "lat", where),
                lng=_json_number(item, "lng", where),
                needs_foreman=_json_count(item, "needs_foreman", where, default=0),
            )
        )
    # `filled` is a JSON object, so 1 and "1" would collide as keys there.
    keys: dict[str, Hashable] = {}
    for order in orders:
        other = keys.setdefault(str(order.id), order.id)
        if other != order.id:
            raise ProblemError(
                f"order ids {other!r} and {order.id!r} are the same key in a JSON object"
            )

    workers = []
    for position, raw in enumerate(_json_list(data, "workers")):
        where = f"workers[{position}]"
        item = _json_object(raw, where)
        if "id" not in item:
            raise ProblemError(f"{where}: missing 'id'")
        is_foreman = item.get("is_foreman", False)
        if not isinstance(is_foreman, bool):
            raise ProblemError(f"{where}: is_foreman must be true or false, got {is_foreman!r}")
        workers.append(
            Candidate(
                id=_json_id(item["id"], where),
                lat=_json_number(item, "lat", where),
                lng=_json_number(item, "lng", where),
                rating=_json_number(item, "rating", where),
                reliability=_json_number(item, "reliability", where),
                is_foreman=is_foreman,
            )
        )

    eligible = []
    for position, pair in enumerate(_json_list(data, "eligible")):
        where = f"eligible[{position}]"
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise ProblemError(f"{where} must be a [worker_id, order_id] list, got {pair!r}")
        eligible.append((_json_id(pair[0], where), _json_id(pair[1], where)))

    raw_weights = data.get("weights")
    raw_weights = _json_object({} if raw_weights is None else raw_weights, "'weights'")
    unknown = sorted(set(raw_weights) - set(_WEIGHT_KEYS))
    if unknown:
        raise ProblemError(
            f"unknown weight key(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(_WEIGHT_KEYS)}"
        )
    weights = Weights(**{key: _json_number(raw_weights, key, "weights") for key in raw_weights})
    return Problem(orders=orders, workers=workers, eligible=eligible, weights=weights)


def solution_to_json(solution: Solution[Any]) -> dict[str, Any]:
    """The contract's result: assignments, filled (every order), objective, solve_seconds.

    Ids are echoed as given; ``json.dumps`` turns integer order ids into string keys of
    ``filled``, as JSON requires.
    """
    return {
        "assignments": [[worker_id, order_id] for worker_id, order_id in solution.assignments],
        "filled": dict(solution.filled),
        "objective": solution.objective,
        "solve_seconds": solution.solve_seconds,
    }
