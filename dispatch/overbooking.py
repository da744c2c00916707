"""Booking targets and call-out wave sizes.

Pure functions (standard library only) used by the dispatch services:

- ``fixed_target``: the house rule, ``ceil(ratio * headcount)`` ("the client wants 10, invite 15").
- ``adaptive_target``: the fewest best-ranked candidates whose chance that at least ``headcount``
  of them turn up reaches a target probability (an exact Poisson-binomial tail).
- ``wave_size``: how many ranked candidates to message now to expect enough acceptances.
- ``shrunk_rate`` and ``calibrated_show_probability``: show probabilities measured against the
  population the franchise actually has, not the default every newcomer starts from.
- ``reweighted_probability`` and ``standby_to_call``: before the start, what a re-confirmation
  (or silence) says about each booked worker, and how many standby workers that leaves to call.
- ``likely_first``: candidates in the order an adaptive order offers to them, the most likely to
  accept and come first.
- ``crew_to_book``: of the acceptors a batch would book, how few reach the target beside the
  crew already booked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

__all__ = [
    "AdaptiveTarget",
    "adaptive_target",
    "calibrated_show_probability",
    "crew_to_book",
    "fixed_target",
    "likely_first",
    "prob_at_least",
    "reweighted_probability",
    "shrunk_rate",
    "standby_to_call",
    "wave_size",
]

DEFAULT_FIXED_RATIO = "1.5"
DEFAULT_SHOW_TARGET = 0.95


def _check_headcount(headcount: int) -> None:
    if isinstance(headcount, bool) or not isinstance(headcount, int):
        raise TypeError(f"headcount must be an int, got {headcount!r}")
    if headcount < 1:
        raise ValueError(f"headcount must be at least 1, got {headcount}")


def _check_probabilities(probabilities: Sequence[float], what: str) -> None:
    for index, p in enumerate(probabilities):
        # `not (0 <= p <= 1)` also rejects NaN.
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{what}[{index}] must be within 0..1, got {p!r}")


def _check_target(target: float) -> None:
    if not 0.0 < target <= 1.0:
        raise ValueError(f"target must be within (0, 1], got {target!r}")


def _exact_ratio(ratio: Decimal | float | str) -> Fraction:
    """The ratio as an exact fraction of what the caller wrote.

    A float goes through ``repr`` first: the binary double nearest 1.1 is slightly above 1.1,
    so taking it literally would book 12 workers for a "1.1 x 10" franchise instead of 11.
    """
    if isinstance(ratio, bool):
        raise TypeError(f"ratio must be a number or a numeric string, got {ratio!r}")
    try:
        decimal = Decimal(repr(ratio)) if isinstance(ratio, float) else Decimal(ratio)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise ValueError(f"ratio must be a number, got {ratio!r}") from exc
    if not decimal.is_finite():
        raise ValueError(f"ratio must be finite, got {ratio!r}")
    return Fraction(decimal)


def fixed_target(headcount: int, ratio: Decimal | float | str = DEFAULT_FIXED_RATIO) -> int:
    """Booking target under the fixed policy: ``ceil(ratio * headcount)``, computed exactly.

    ``ratio`` is taken as written (decimal), so ``fixed_target(10, 1.1) == 11`` and
    ``fixed_target(10) == 15``.  Requires ``headcount >= 1`` and ``ratio >= 1``; raises
    ``ValueError`` (``TypeError`` for a non-integer headcount) otherwise.  The result is never
    below ``headcount``.
    """
    _check_headcount(headcount)
    exact = _exact_ratio(ratio)
    if exact < 1:
        raise ValueError(f"ratio must be at least 1, got {ratio!r}")
    return math.ceil(exact * headcount)


class _ShowTail:
    """Distribution of the number of shows among the candidates added so far, capped at ``n``.

    ``mass[j]`` for ``j < n`` is P(exactly j show); ``mass[n]`` is P(at least n show), an
    absorbing state.  Adding a candidate costs O(n), so scanning k candidates costs O(k * n)
    instead of recomputing the whole tail for every prefix.
    """

    __slots__ = ("mass", "n")

    def __init__(self, n: int) -> None:
        self.n = n
        self.mass = [1.0] + [0.0] * n

    def add(self, p: float) -> None:
        mass, n = self.mass, self.n
        q = 1.0 - p
        if n == 0:
            return
        mass[n] += mass[n - 1] * p
        for j in range(n - 1, 0, -1):
            mass[j] = mass[j] * q + mass[j - 1] * p
        mass[0] *= q

    @property
    def tail(self) -> float:
        # Rounding in the recurrence may leave the sum a few ulps outside [0, 1].
        return min(1.0, max(0.0, self.mass[self.n]))


def _fewest_beside(headcount: int, base: Sequence[float], extra: Sequence[float],
                   target: float) -> tuple[int, bool, float]:
    """The fewest of `extra` (in the order given) that, beside all of `base`, make the chance
    of at least `headcount` showing reach `target`: (that count, True, the chance); (all of
    them, False, their chance) when even all fall short. Inputs already checked."""
    shows = _ShowTail(headcount)
    for p in base:
        shows.add(float(p))
    # A positive chance of `headcount` showing needs that many people: no count test needed.
    if shows.tail >= target:
        return 0, True, shows.tail
    for count, p in enumerate(extra, start=1):
        shows.add(float(p))
        if shows.tail >= target:
            return count, True, shows.tail
    return len(extra), False, shows.tail


def prob_at_least(probabilities: Sequence[float], n: int) -> float:
    """P(at least ``n`` successes) among independent trials with the given probabilities.

    The exact Poisson-binomial tail by dynamic programming over the count of successes, capped at
    ``n``: O(len(probabilities) * n) time, O(n) memory.  ``n <= 0`` gives 1.0; ``n`` above the
    number of trials gives 0.0.  Every probability must be within 0..1 (``ValueError``).
    """
    _check_probabilities(probabilities, "probabilities")
    if n <= 0:
        return 1.0
    if n > len(probabilities):
        return 0.0
    shows = _ShowTail(n)
    for p in probabilities:
        shows.add(float(p))
    return shows.tail


@dataclass(frozen=True, slots=True)
class AdaptiveTarget:
    """Outcome of ``adaptive_target``.

    ``booking_target``: how many of the ranked candidates to book.
    ``probability``: P(at least headcount of those show up).
    ``reached``: whether ``probability`` reached the requested target.
    """

    booking_target: int
    probability: float
    reached: bool


def adaptive_target(
    headcount: int,
    show_probabilities: Sequence[float],
    target: float = DEFAULT_SHOW_TARGET,
) -> AdaptiveTarget:
    """Booking target under the adaptive policy.

    ``show_probabilities`` are the show-up probabilities of the ranked candidates, best first; the
    order is kept as given (the caller ranks by cost, not by probability).  Returns the smallest
    ``k >= headcount`` such that the first ``k`` candidates give P(at least ``headcount`` show up)
    ``>= target``, with that probability and ``reached=True``.  When even all candidates fall
    short, returns ``booking_target = max(len(show_probabilities), headcount)`` with the
    probability all of them achieve (0.0 when there are fewer candidates than ``headcount``) and
    ``reached=False``.

    Requires ``headcount >= 1``, ``0 < target <= 1`` and probabilities within 0..1
    (``ValueError``).  Runs in O(k * headcount): the distribution is extended one candidate at a
    time.
    """
    _check_headcount(headcount)
    _check_target(target)
    _check_probabilities(show_probabilities, "show_probabilities")
    count, reached, probability = _fewest_beside(headcount, [], show_probabilities, target)
    return AdaptiveTarget(
        booking_target=count if reached else max(count, headcount),
        probability=probability,
        reached=reached,
    )


def wave_size(needed_acceptances: float, accept_probabilities: Sequence[float]) -> int:
    """How many of the ranked candidates (in the order given) to message in this wave.

    ``accept_probabilities[i]`` is candidate i's chance of accepting, which the caller computes as
    reply rate x accept rate.  Returns the smallest ``k`` such that the expected number of
    acceptances among the first ``k`` candidates (the sum of their probabilities) reaches
    ``needed_acceptances``; all of them when it never does; 0 when ``needed_acceptances <= 0``.

    The sum is exact over the probabilities as written (their shortest decimal form): ten
    candidates at 0.1, or 0.7 + 0.2 + 0.1, cover one needed acceptance, where a float running sum
    stops at 0.9999999999999999 and would message one candidate too many.
    Probabilities must be within 0..1 (``ValueError``).
    """
    if math.isnan(needed_acceptances):
        raise ValueError("needed_acceptances must be a number, got NaN")
    _check_probabilities(accept_probabilities, "accept_probabilities")
    if needed_acceptances <= 0:
        return 0
    if math.isinf(needed_acceptances):
        return len(accept_probabilities)
    needed = Fraction(repr(float(needed_acceptances)))
    expected = Fraction(0)
    for k, p in enumerate(accept_probabilities, start=1):
        expected += Fraction(repr(float(p)))
        if expected >= needed:
            return k
    return len(accept_probabilities)


def shrunk_rate(successes: float, trials: float, prior_rate: float, prior_weight: float) -> float:
    """A rate observed over ``trials``, pulled towards ``prior_rate`` as if ``prior_weight``
    trials at that rate had been seen first: ``(successes + w p) / (trials + w)``.

    With no trials it is the prior; with many it is the observed share. Requires
    ``0 <= successes <= trials``, ``prior_rate`` within 0..1 and ``prior_weight > 0``.
    """
    if not 0.0 <= successes <= trials:
        raise ValueError(f"successes must be within 0..trials, got {successes!r} of {trials!r}")
    _check_probabilities([prior_rate], "prior_rate")
    if not prior_weight > 0.0:
        raise ValueError(f"prior_weight must be positive, got {prior_weight!r}")
    return (successes + prior_weight * prior_rate) / (trials + prior_weight)


def calibrated_show_probability(
    reliability: float,
    judged_shifts: float,
    *,
    base_rate: float,
    prior_rate: float,
    prior_shifts: float,
) -> float:
    """A worker's chance of turning up, with the franchise's observed show rate as the prior.

    A reliability score is a Beta posterior mean ``(prior_rate w + S) / (w + n)`` whose prior is
    the same for everybody (``prior_rate`` worth ``prior_shifts`` = w shifts) and ``n`` is the
    worker's judged shifts. Where the people of a franchise actually turn up at ``base_rate``,
    the same evidence on that prior gives ``reliability + (base_rate - prior_rate) w / (w + n)``:
    a newcomer counts at the franchise's rate, a veteran at (nearly) their own record.
    """
    _check_probabilities([reliability, base_rate, prior_rate], "rates")
    if not prior_shifts > 0.0:
        raise ValueError(f"prior_shifts must be positive, got {prior_shifts!r}")
    shift = (base_rate - prior_rate) * prior_shifts / (prior_shifts + max(0.0, judged_shifts))
    return min(1.0, max(0.0, reliability + shift))


def reweighted_probability(probability: float, group_rate: float, base_rate: float) -> float:
    """``probability`` moved by what is known of a group the worker belongs to.

    Among all bookings a share ``base_rate`` turns up; among those in the group (say, who
    re-confirmed) a share ``group_rate``. Bayes' rule in odds form multiplies the worker's own
    odds by the group's likelihood ratio, ``odds(group_rate) / odds(base_rate)``. Certainty (0 or
    1) in either the worker's probability or the group's rate is kept as it is.
    """
    _check_probabilities([probability, group_rate, base_rate], "rates")
    if probability in (0.0, 1.0):
        return probability
    if group_rate in (0.0, 1.0):
        return group_rate
    if base_rate in (0.0, 1.0):
        return probability
    # odds(p) x odds(g) / odds(b), written without dividing by an odds that may underflow.
    favour = probability * group_rate * (1.0 - base_rate)
    against = (1.0 - probability) * (1.0 - group_rate) * base_rate
    if favour + against == 0.0:
        return probability
    return favour / (favour + against)


def standby_to_call(
    headcount: int,
    crew: Sequence[float],
    standby: Sequence[float],
    target: float = DEFAULT_SHOW_TARGET,
) -> int:
    """How many of the standby workers (best first, as given) to call in beside the crew.

    ``crew`` are the show probabilities of those booked, ``standby`` of those waiting. Returns
    the fewest ``m`` such that the crew and the first ``m`` standby give P(at least
    ``headcount`` show) ``>= target``; all of them when even that falls short; 0 when the crew
    alone reaches it.
    """
    _check_headcount(headcount)
    _check_target(target)
    _check_probabilities(crew, "crew")
    _check_probabilities(standby, "standby")
    return _fewest_beside(headcount, crew, standby, target)[0]


def likely_first(accept: Sequence[float], show: Sequence[float]) -> list[int]:
    """Indices of candidates in the order to offer them, for an order that books to a chance:
    most expected comers per offer first (chance of accepting x chance of turning up), ties
    kept in the order given (the caller's ranking by cost). A candidate who comes for sure but
    never accepts is worth as little as one who accepts and never comes."""
    if len(accept) != len(show):
        raise ValueError("accept and show must be as long as each other")
    _check_probabilities(accept, "accept")
    _check_probabilities(show, "show")
    return sorted(range(len(accept)), key=lambda i: (-accept[i] * show[i], i))


def crew_to_book(
    headcount: int, booked: Sequence[float], acceptors: Sequence[float],
    target: float = DEFAULT_SHOW_TARGET,
) -> tuple[int, bool]:
    """How many of `acceptors` (best first, as given) to book beside those already `booked`
    (show probabilities of each) for the chance that at least `headcount` turn up to reach
    `target`: the fewest that do, with True; all of them, with False, when even all fall
    short; (0, True) when the booked crew already reaches it."""
    _check_headcount(headcount)
    _check_target(target)
    _check_probabilities(booked, "booked")
    _check_probabilities(acceptors, "acceptors")
    count, reached, _ = _fewest_beside(headcount, booked, acceptors, target)
    return count, reached
