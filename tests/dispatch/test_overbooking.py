"""Booking targets and wave sizes (pure: runs without Django)."""

from __future__ import annotations

import itertools
import math
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.overbooking import (
    AdaptiveTarget,
    adaptive_target,
    calibrated_show_probability,
    crew_to_book,
    fixed_target,
    likely_first,
    prob_at_least,
    reweighted_probability,
    shrunk_rate,
    standby_to_call,
    wave_size,
)

probability = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
FAST = settings(max_examples=80, deadline=None)


def brute_force_at_least(probabilities: list[float], n: int) -> float:
    """P(at least n successes) by summing over every outcome."""
    total = 0.0
    for outcome in itertools.product((False, True), repeat=len(probabilities)):
        if sum(outcome) >= n:
            weight = 1.0
            for shows, p in zip(outcome, probabilities, strict=True):
                weight *= p if shows else 1.0 - p
            total += weight
    return total


# --- fixed_target ---------------------------------------------------------------------------


def test_fixed_house_rule_books_fifteen_for_ten():
    assert fixed_target(10) == 15


@pytest.mark.parametrize("ratio", [1.1, "1.1", Decimal("1.1")])
def test_fixed_ratio_is_taken_as_written_not_as_binary_float(ratio):
    assert fixed_target(10, ratio) == 11


@pytest.mark.parametrize(
    ("headcount", "ratio", "expected"),
    [(1, "1.5", 2), (3, "1.5", 5), (4, "1.25", 5), (7, 1.0, 7), (10, 2, 20), (3, 1.3, 4)],
)
def test_fixed_target_rounds_up(headcount, ratio, expected):
    assert fixed_target(headcount, ratio) == expected


@given(headcount=st.integers(1, 500), hundredths=st.integers(100, 400))
@FAST
def test_fixed_target_matches_integer_arithmetic(headcount, hundredths):
    ratio = hundredths / 100  # a float such as 1.1 or 2.35
    assert fixed_target(headcount, ratio) == -(-headcount * hundredths // 100)


@pytest.mark.parametrize(
    ("headcount", "ratio"),
    [(0, "1.5"), (-3, "1.5"), (10, "0.9"), (10, "nan"), (10, "inf"), (10, "many")],
)
def test_fixed_target_rejects_bad_input(headcount, ratio):
    with pytest.raises(ValueError, match=r"headcount|ratio"):
        fixed_target(headcount, ratio)


def test_fixed_target_rejects_non_integer_headcount():
    with pytest.raises(TypeError):
        fixed_target(2.5)  # type: ignore[arg-type]


# --- prob_at_least --------------------------------------------------------------------------


def test_prob_at_least_known_values():
    assert prob_at_least([0.5, 0.5], 1) == pytest.approx(0.75)
    assert prob_at_least([0.5, 0.5], 2) == pytest.approx(0.25)
    assert prob_at_least([0.9] * 10, 10) == pytest.approx(0.9**10)
    assert prob_at_least([1.0, 1.0, 0.0], 2) == 1.0
    assert prob_at_least([1.0, 1.0, 0.0], 3) == 0.0


def test_prob_at_least_edges():
    assert prob_at_least([], 0) == 1.0
    assert prob_at_least([0.3], -2) == 1.0
    assert prob_at_least([0.3, 0.4], 3) == 0.0


@given(probabilities=st.lists(probability, max_size=9), n=st.integers(-1, 11))
@FAST
def test_prob_at_least_matches_enumeration(probabilities, n):
    assert prob_at_least(probabilities, n) == pytest.approx(
        brute_force_at_least(probabilities, n), abs=1e-12
    )


@pytest.mark.parametrize("bad", [-0.1, 1.01, math.nan])
def test_prob_at_least_rejects_bad_probabilities(bad):
    with pytest.raises(ValueError, match=r"within 0\.\.1"):
        prob_at_least([0.5, bad], 1)


# --- adaptive_target ------------------------------------------------------------------------


def test_adaptive_target_depends_on_reliability():
    reliable = adaptive_target(10, [0.9] * 40)
    shaky = adaptive_target(10, [0.6] * 40)
    assert reliable == AdaptiveTarget(13, pytest.approx(prob_at_least([0.9] * 13, 10)), True)
    assert shaky.booking_target == 23
    assert shaky.reached
    assert reliable.booking_target < fixed_target(10) < shaky.booking_target


@pytest.mark.parametrize("p", [0.9, 0.6])
def test_adaptive_target_is_the_smallest_sufficient_prefix(p):
    result = adaptive_target(10, [p] * 40)
    k = result.booking_target
    assert prob_at_least([p] * k, 10) >= 0.95
    assert prob_at_least([p] * (k - 1), 10) < 0.95


def test_adaptive_target_keeps_the_callers_ranking():
    # Sorted by probability, one candidate would do; the ranking puts a poor one first.
    result = adaptive_target(1, [0.1, 0.99, 0.99])
    assert result.booking_target == 2
    assert result.probability == pytest.approx(1 - 0.9 * 0.01)


def test_adaptive_target_not_reached_books_everyone():
    result = adaptive_target(3, [0.5, 0.5, 0.5, 0.5])
    assert result == AdaptiveTarget(4, pytest.approx(prob_at_least([0.5] * 4, 3)), False)


def test_adaptive_target_with_too_few_candidates_never_books_below_headcount():
    assert adaptive_target(5, [0.99, 0.99]) == AdaptiveTarget(5, 0.0, False)
    assert adaptive_target(2, []) == AdaptiveTarget(2, 0.0, False)


def test_adaptive_target_certain_workers_need_no_overbooking():
    assert adaptive_target(4, [1.0] * 10, target=1.0) == AdaptiveTarget(4, 1.0, True)


@pytest.mark.parametrize("target", [0.0, -0.5, 1.5, math.nan])
def test_adaptive_target_rejects_bad_target(target):
    with pytest.raises(ValueError, match="target"):
        adaptive_target(2, [0.5] * 5, target=target)


def test_adaptive_target_is_incremental():
    # 60 x 5,000 steps: instant when the distribution is extended, minutes when recomputed.
    result = adaptive_target(60, [0.02] * 5000)
    assert result.reached
    assert result.booking_target > 3000


@given(
    headcount=st.integers(1, 6),
    probabilities=st.lists(probability, max_size=14),
    target=st.floats(min_value=0.05, max_value=0.99),
)
@FAST
def test_adaptive_target_contract(headcount, probabilities, target):
    result = adaptive_target(headcount, probabilities, target)
    k = result.booking_target
    assert k >= headcount
    if result.reached:
        assert k <= len(probabilities)
        assert result.probability >= target
        assert result.probability == pytest.approx(prob_at_least(probabilities[:k], headcount))
        if k - 1 >= headcount:
            assert prob_at_least(probabilities[: k - 1], headcount) < target
    else:
        assert k == max(len(probabilities), headcount)
        assert prob_at_least(probabilities, headcount) < target


@given(
    headcount=st.integers(1, 5),
    probabilities=st.lists(probability, min_size=1, max_size=14),
    target=st.floats(min_value=0.05, max_value=0.95),
    raise_by=st.floats(min_value=0.0, max_value=0.04),
)
@FAST
def test_adaptive_target_monotone_in_target_and_headcount(
    headcount, probabilities, target, raise_by
):
    base = adaptive_target(headcount, probabilities, target)
    stricter = adaptive_target(headcount, probabilities, target + raise_by)
    bigger_crew = adaptive_target(headcount + 1, probabilities, target)
    assert stricter.booking_target >= base.booking_target
    assert bigger_crew.booking_target >= base.booking_target
    assert stricter.reached <= base.reached
    assert bigger_crew.reached <= base.reached


@given(
    headcount=st.integers(1, 5),
    pairs=st.lists(st.tuples(probability, probability), min_size=1, max_size=14),
)
@FAST
def test_adaptive_target_never_grows_when_workers_become_more_reliable(headcount, pairs):
    worse = [min(a, b) for a, b in pairs]
    better = [max(a, b) for a, b in pairs]
    worse_result = adaptive_target(headcount, worse)
    better_result = adaptive_target(headcount, better)
    assert better_result.reached >= worse_result.reached
    if worse_result.reached:
        assert better_result.booking_target <= worse_result.booking_target


# --- wave_size ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("needed", "probabilities", "expected"),
    [
        (0, [0.5, 0.5], 0),
        (-2.0, [0.5], 0),
        (3, [0.5] * 10, 6),
        (1, [0.1] * 20, 10),  # a float running sum reaches only 0.9999999999999999
        (1, [0.7, 0.2, 0.1, 0.9], 3),
        (2.5, [0.9, 0.9, 0.9], 3),
        (5, [0.5] * 4, 4),  # never reached: message everyone
        (1, [], 0),
        (0.25, [0.0, 0.0, 0.3], 3),
        (math.inf, [0.5, 0.5], 2),
    ],
)
def test_wave_size(needed, probabilities, expected):
    assert wave_size(needed, probabilities) == expected


@given(needed=st.floats(0.01, 20), probabilities=st.lists(probability, max_size=30))
@FAST
def test_wave_size_is_the_shortest_sufficient_prefix(needed, probabilities):
    k = wave_size(needed, probabilities)
    assert 0 <= k <= len(probabilities)
    if k < len(probabilities):
        assert math.fsum(probabilities[:k]) >= needed * (1 - 1e-12)
    if k > 0:
        assert math.fsum(probabilities[: k - 1]) < needed * (1 + 1e-12)


@pytest.mark.parametrize(("needed", "bad"), [(1, [0.5, 1.5]), (1, [-0.2]), (math.nan, [0.5])])
def test_wave_size_rejects_bad_input(needed, bad):
    with pytest.raises(ValueError, match=r"within 0\.\.1|NaN"):
        wave_size(needed, bad)


# --- calibration: the franchise's own show rate ---------------------------------------------


def test_shrunk_rate_starts_at_the_prior_and_follows_the_evidence():
    assert shrunk_rate(0, 0, 0.8, 20) == pytest.approx(0.8)
    assert shrunk_rate(14, 20, 0.8, 20) == pytest.approx(0.75)  # (14 + 16) / 40
    assert shrunk_rate(7000, 10000, 0.8, 20) == pytest.approx(0.7, abs=0.001)


@pytest.mark.parametrize(
    ("successes", "trials", "prior", "weight"),
    [(3, 2, 0.5, 1), (-1, 2, 0.5, 1), (1, 2, 1.5, 1), (1, 2, 0.5, 0), (1, 2, 0.5, float("nan"))],
)
def test_shrunk_rate_rejects_bad_input(successes, trials, prior, weight):
    with pytest.raises(ValueError, match=r"successes|prior"):
        shrunk_rate(successes, trials, prior, weight)


def test_a_newcomer_counts_at_the_franchise_rate():
    # No history: the reliability is the ratings prior itself.
    assert calibrated_show_probability(
        0.8, 0, base_rate=0.62, prior_rate=0.8, prior_shifts=5
    ) == pytest.approx(0.62)


def test_a_veteran_counts_nearly_at_their_own_record():
    # 95 shifts on top of the prior: the population moves them by 5 % of the difference.
    veteran = calibrated_show_probability(0.95, 95, base_rate=0.6, prior_rate=0.8,
                                          prior_shifts=5)
    assert veteran == pytest.approx(0.95 - 0.2 * 5 / 100)


def test_the_same_reliability_from_the_same_prior_is_the_posterior_on_the_new_prior():
    # 3 shows and 1 no-show on a 0.8 x 5 prior: (4 + 3) / 9. On a 0.6 x 5 prior: (3 + 3) / 9.
    assert calibrated_show_probability(
        7 / 9, 4, base_rate=0.6, prior_rate=0.8, prior_shifts=5
    ) == pytest.approx(6 / 9)


@given(reliability=probability, judged=st.integers(0, 10_000), base=probability,
       prior=st.floats(0.01, 0.99), shifts=st.floats(0.1, 100))
@FAST
def test_calibrated_probability_is_a_probability_between_record_and_population(
    reliability, judged, base, prior, shifts
):
    result = calibrated_show_probability(reliability, judged, base_rate=base, prior_rate=prior,
                                         prior_shifts=shifts)
    assert 0.0 <= result <= 1.0
    # It moves in the direction of the population's rate, never past where the prior moves.
    if base >= prior:
        assert result >= reliability - 1e-12
    else:
        assert result <= reliability + 1e-12


# --- reweighting by the answer to a reminder ------------------------------------------------


def test_a_group_at_the_base_rate_says_nothing():
    assert reweighted_probability(0.73, 0.7, 0.7) == pytest.approx(0.73)


def test_answering_the_reminder_raises_the_chance_and_silence_lowers_it():
    # Odds 4 (0.8) times the likelihood ratio 9 / 4 (0.9 against 0.8): odds 9, 0.9.
    assert reweighted_probability(0.8, 0.9, 0.8) == pytest.approx(0.9)
    # Odds 4 times (1 / 1) / 4 (0.5 against 0.8): odds 1, 0.5.
    assert reweighted_probability(0.8, 0.5, 0.8) == pytest.approx(0.5)


def test_certainty_is_kept():
    assert reweighted_probability(1.0, 0.2, 0.8) == 1.0
    assert reweighted_probability(0.0, 0.99, 0.8) == 0.0
    assert reweighted_probability(0.6, 1.0, 0.8) == 1.0


@given(p=probability, group=probability, base=probability)
@FAST
def test_reweighting_stays_a_probability_and_follows_the_group(p, group, base):
    result = reweighted_probability(p, group, base)
    assert 0.0 <= result <= 1.0
    if 0.0 < p < 1.0 and 0.0 < base < 1.0 and 0.0 < group < 1.0:
        if group > base:
            assert result >= p - 1e-12
        elif group < base:
            assert result <= p + 1e-12


# --- standby_to_call ------------------------------------------------------------------------


def test_a_sure_crew_needs_no_standby():
    assert standby_to_call(2, [0.98, 0.98, 0.9], [0.8, 0.8]) == 0


def test_a_doubtful_crew_calls_standby_until_the_target_is_reached():
    # Two of three at 0.5 come with chance 0.5; with one standby at 0.9, 0.8375; with two,
    # 0.9725.
    crew = [0.5, 0.5, 0.5]
    assert standby_to_call(2, crew, [0.9] * 5, 0.95) == 2
    assert standby_to_call(2, crew, [0.9] * 5, 0.8) == 1


def test_every_standby_is_called_when_even_all_fall_short():
    assert standby_to_call(5, [0.5], [0.5, 0.5]) == 2
    assert standby_to_call(5, [0.5], []) == 0


@given(headcount=st.integers(1, 6), crew=st.lists(probability, max_size=8),
       standby=st.lists(probability, max_size=8), target=st.floats(0.05, 1.0))
@FAST
def test_standby_to_call_is_the_fewest_that_reach_the_target(headcount, crew, standby, target):
    called = standby_to_call(headcount, crew, standby, target)
    assert 0 <= called <= len(standby)
    if called < len(standby):
        assert prob_at_least(crew + standby[:called], headcount) >= target - 1e-9
    if called > 0:
        assert prob_at_least(crew + standby[: called - 1], headcount) < target + 1e-9


# --- likely_first and crew_to_book -------------------------------------------------------------


def test_likely_first_offers_to_expected_comers_first_and_keeps_ties_in_order():
    # accept x show: 0.25, 0.45, 0.45, 0.09
    assert likely_first([0.5, 0.5, 0.9, 0.9], [0.5, 0.9, 0.5, 0.1]) == [1, 2, 0, 3]


def test_likely_first_refuses_lists_of_different_lengths():
    with pytest.raises(ValueError, match="as long"):
        likely_first([0.5], [0.5, 0.5])


@FAST
@given(st.integers(1, 6), st.lists(probability, max_size=6),
       st.lists(probability, max_size=10), st.floats(0.05, 1.0))
def test_crew_to_book_is_the_fewest_acceptors_that_reach_the_target(
    headcount, booked, acceptors, target
):
    count, reached = crew_to_book(headcount, booked, acceptors, target)
    assert 0 <= count <= len(acceptors)
    chance = prob_at_least(booked + acceptors[:count], headcount)
    if reached:
        assert len(booked) + count >= headcount
        assert chance >= target - 1e-9
        if count > 0:  # one fewer would not do
            assert prob_at_least(booked + acceptors[:count - 1], headcount) < target + 1e-9
    else:
        assert count == len(acceptors)
        assert chance < target + 1e-9


def test_crew_to_book_books_fewer_of_the_reliable():
    reliable, _ = crew_to_book(5, [], [0.97] * 12, 0.9)
    shaky, _ = crew_to_book(5, [], [0.6] * 12, 0.9)
    assert reliable == 6
    assert shaky > 8
    assert crew_to_book(2, [1.0, 1.0], [0.9] * 3, 0.95) == (0, True)
