"""Properties of the ratings maths (pure: no database, no Django)."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ratings.rules import explain
from ratings.scoring import (
    Event,
    EventKind,
    OutOfOrderEventError,
    RatingParams,
    ScoreSource,
    WorkerState,
    apply,
    classify_withdrawal,
    initial_state,
    rating_at,
    replay,
    should_suspend,
)

DEFAULTS = RatingParams()
T0 = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "ratings.md"

# Hoeffding's inequality is distribution-free; at this failure probability a seed that breaks a
# convergence test points at the model, not at bad luck.
CONVERGENCE_FAILURE_PROBABILITY = 1e-6


# --- Strategies ----------------------------------------------------------------------------------

ATTENDANCE = [
    EventKind.SHOW,
    EventKind.LATE,
    EventKind.NO_SHOW,
    EventKind.LATE_CANCEL,
    EventKind.VERY_LATE_CANCEL,
    EventKind.CANCEL,
]


@st.composite
def histories(draw: st.DrawFn, max_size: int = 60) -> list[Event]:
    """Event sequences in recording order: any kinds, any scores, gaps from 0 to 20 days."""
    size = draw(st.integers(0, max_size))
    at = T0
    events = []
    for _ in range(size):
        at += timedelta(minutes=draw(st.integers(0, 20 * 24 * 60)))
        if draw(st.booleans()):
            score = draw(st.integers(1, 5))
            source = draw(st.sampled_from(ScoreSource))
            events.append(Event(EventKind.SCORE, at, score, source))
        else:
            events.append(Event(draw(st.sampled_from(ATTENDANCE)), at))
    return events


@st.composite
def rating_params(draw: st.DrawFn) -> RatingParams:
    """Any valid parameters, not just the defaults."""
    late_cancel = draw(st.floats(0.0, 1.0))
    very_late = draw(st.floats(late_cancel, 1.0))
    very_late_hours = draw(st.floats(0.25, 12.0))
    try:
        return RatingParams(
            prior_show_rate=draw(st.floats(0.05, 0.95)),
            prior_shifts=draw(st.floats(0.5, 50.0)),
            shift_memory=draw(st.floats(0.8, 1.0)),
            late_arrival_weight=draw(st.floats(0.0, 1.0)),
            late_cancel_weight=late_cancel,
            very_late_cancel_weight=very_late,
            very_late_cancel_notice_hours=very_late_hours,
            late_cancel_notice_hours=very_late_hours + draw(st.floats(1.0, 72.0)),
            prior_quality=draw(st.floats(1.0, 5.0)),
            prior_scores=draw(st.floats(1.0, 30.0)),
            score_memory=draw(st.floats(0.8, 1.0)),
            foreman_score_weight=draw(st.floats(0.2, 3.0)),
            client_score_weight=draw(st.floats(0.2, 3.0)),
            no_show_stars=draw(st.floats(0.5, 5.0)),
            penalty_fade_days=draw(st.floats(1.0, 90.0)),
            penalty_clean_shifts=draw(st.integers(1, 20)),
            suspension_no_shows=draw(st.integers(1, 5)),
            suspension_window_days=draw(st.floats(1.0, 90.0)),
        )
    except ValueError:
        # Only no_show_stars below the single-score bound is left to reject here.
        assume(False)
        raise


def fold(events: list[Event], params: RatingParams) -> WorkerState:
    """The incremental path: apply one event at a time, in the given order."""
    state = initial_state(params)
    for event in events:
        state = apply(state, event, params)
    return state


def next_moment(state: WorkerState, gap: timedelta = timedelta(hours=1)) -> datetime:
    return (state.last_event_at or T0) + gap


# --- Newcomers and ranges ------------------------------------------------------------------------


@given(rating_params())
def test_newcomer_gets_the_priors(params: RatingParams) -> None:
    state = initial_state(params)
    assert state.reliability == pytest.approx(params.prior_show_rate, rel=1e-12)
    assert state.rating == pytest.approx(params.prior_quality, rel=1e-12)
    assert rating_at(state, T0) == state.rating
    assert not should_suspend(state, T0, params)


def test_default_newcomer_matches_the_worker_row_defaults() -> None:
    # The worker row's column defaults (4.0 and 0.8) are the default priors, exactly.
    state = initial_state(DEFAULTS)
    assert state.reliability == 0.8
    assert state.rating == 4.0


@settings(max_examples=200)
@given(histories(), rating_params(), st.integers(0, 60 * 24 * 60))
def test_figures_stay_in_range(events: list[Event], params: RatingParams, later: int) -> None:
    state = initial_state(params)
    for event in events:
        state = apply(state, event, params)
        assert 0.0 < state.reliability < 1.0
        assert 0.0 <= state.rating <= 5.0
        assert 1.0 - 1e-9 <= state.quality <= 5.0 + 1e-9
    assert 0.0 <= rating_at(state, next_moment(state, timedelta(minutes=later))) <= 5.0


# --- A no-show hurts more than any bad score -----------------------------------------------------


@settings(max_examples=300)
@given(
    histories(),
    rating_params(),
    st.integers(0, 40 * 24 * 60),
    st.sampled_from(ScoreSource),
)
def test_no_show_hurts_more_than_a_score_of_one(
    events: list[Event], params: RatingParams, gap_minutes: int, source: ScoreSource
) -> None:
    before = fold(events, params)
    at = next_moment(before, timedelta(minutes=gap_minutes))
    no_show = apply(before, Event(EventKind.NO_SHOW, at), params)
    bad_score = apply(before, Event(EventKind.SCORE, at, 1, source), params)

    assert no_show.reliability < bad_score.reliability
    assert no_show.reliability < before.reliability
    # Both ratings are read at the same moment, so fading cannot favour either.
    assert no_show.rating < bad_score.rating or no_show.rating == bad_score.rating == 0.0
    assert no_show.rating <= rating_at(before, at)
    if rating_at(before, at) > 0.0:
        assert no_show.rating < rating_at(before, at)


@settings(max_examples=300)
@given(histories(), rating_params(), st.sampled_from(ScoreSource))
def test_one_score_moves_quality_no_more_than_the_published_bound(
    events: list[Event], params: RatingParams, source: ScoreSource
) -> None:
    before = fold(events, params)
    after = apply(before, Event(EventKind.SCORE, next_moment(before), 1, source), params)
    assert before.quality - after.quality <= params.max_single_score_drop + 1e-12


def test_no_show_drops_the_rating_at_once_by_the_published_stars() -> None:
    state = initial_state(DEFAULTS)
    after = apply(state, Event(EventKind.NO_SHOW, T0), DEFAULTS)
    assert after.rating == pytest.approx(4.0 - DEFAULTS.no_show_stars)
    assert after.no_shows == 1


def test_parameters_that_would_let_a_score_outweigh_a_no_show_are_refused() -> None:
    with pytest.raises(ValueError, match="no_show_stars"):
        RatingParams(no_show_stars=0.5)
    with pytest.raises(ValueError, match="no_show_stars"):
        RatingParams(prior_scores=1.0, no_show_stars=1.5)  # one score could move 2 stars


@pytest.mark.parametrize(
    "overrides",
    [
        {"prior_show_rate": 1.0},
        {"prior_show_rate": math.nan},
        {"shift_memory": 0.0},
        {"late_cancel_weight": 0.95},  # heavier than a very late withdrawal
        {"very_late_cancel_notice_hours": 30.0},
        {"prior_quality": 6.0},
        {"penalty_clean_shifts": 0},
        {"penalty_fade_days": 0.0},
        {"penalty_fade_days": 1e12},
        {"suspension_window_days": math.inf},
        {"late_cancel_notice_hours": 1e300},
        {"penalty_clean_shifts": 2.5},
        {"suspension_no_shows": True},
    ],
)
def test_invalid_parameters_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        RatingParams(**overrides)


# --- Tiers by notice -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("notice", "kind"),
    [
        (timedelta(days=3), EventKind.CANCEL),
        (timedelta(hours=24), EventKind.CANCEL),
        (timedelta(hours=24) - timedelta(seconds=1), EventKind.LATE_CANCEL),
        (timedelta(hours=2), EventKind.LATE_CANCEL),
        (timedelta(hours=2) - timedelta(seconds=1), EventKind.VERY_LATE_CANCEL),
        (timedelta(0), EventKind.VERY_LATE_CANCEL),
        (timedelta(minutes=-20), EventKind.VERY_LATE_CANCEL),
    ],
)
def test_withdrawal_is_classified_by_notice(notice: timedelta, kind: EventKind) -> None:
    assert classify_withdrawal(notice, DEFAULTS) is kind


def test_withdrawal_thresholds_follow_the_settings() -> None:
    params = RatingParams(late_cancel_notice_hours=72.0, very_late_cancel_notice_hours=6.0)
    assert classify_withdrawal(timedelta(hours=48), params) is EventKind.LATE_CANCEL
    assert classify_withdrawal(timedelta(hours=5), params) is EventKind.VERY_LATE_CANCEL


@settings(max_examples=200)
@given(histories(), st.integers(0, 40 * 24 * 60))
def test_penalties_are_tiered_by_notice(events: list[Event], gap_minutes: int) -> None:
    before = fold(events, DEFAULTS)
    at = next_moment(before, timedelta(minutes=gap_minutes))

    def outcome(kind: EventKind) -> WorkerState:
        return apply(before, Event(kind, at), DEFAULTS)

    free = outcome(classify_withdrawal(timedelta(hours=30), DEFAULTS))
    late = outcome(classify_withdrawal(timedelta(hours=12), DEFAULTS))
    very_late = outcome(classify_withdrawal(timedelta(hours=1), DEFAULTS))
    no_show = outcome(EventKind.NO_SHOW)

    # In good time: recorded, and nothing else changes.
    assert free.cancels == before.cancels + 1
    assert free.reliability == before.reliability
    assert free.rating == rating_at(before, at)
    # Each tier strictly worse than the one before it, in both figures.
    assert no_show.reliability < very_late.reliability < late.reliability < free.reliability
    ratings = [no_show.rating, very_late.rating, late.rating, free.rating]
    assert ratings == sorted(ratings)
    if no_show.rating > 0.0:
        assert no_show.rating < very_late.rating < late.rating < free.rating


# --- Fading --------------------------------------------------------------------------------------


def worker_with_history() -> WorkerState:
    """Ten good shifts, each scored 5 by the foreman, one a day."""
    events = []
    for day in range(10):
        events.append(Event(EventKind.SHOW, T0 + timedelta(days=day)))
        events.append(
            Event(EventKind.SCORE, T0 + timedelta(days=day, hours=9), 5, ScoreSource.FOREMAN)
        )
    return replay(events, DEFAULTS)


def test_penalty_fades_over_thirty_days_without_shifts() -> None:
    good = worker_with_history()
    no_show_at = good.last_event_at + timedelta(days=1)
    hit = apply(good, Event(EventKind.NO_SHOW, no_show_at), DEFAULTS)

    over_time = [rating_at(hit, no_show_at + timedelta(days=day)) for day in range(0, 35)]
    assert over_time[0] == hit.rating == pytest.approx(good.quality - 1.5)
    assert over_time == sorted(over_time)
    assert over_time[15] == pytest.approx(good.quality - 0.75)  # half of it left
    assert over_time[30] == pytest.approx(good.quality)
    assert over_time[34] == good.quality
    # Reliability has no clock: only newer shifts can outweigh the no-show.
    assert hit.reliability < good.reliability


def test_penalty_fades_with_a_run_of_clean_shifts() -> None:
    good = worker_with_history()
    no_show_at = good.last_event_at + timedelta(days=1)
    state = apply(good, Event(EventKind.NO_SHOW, no_show_at), DEFAULTS)
    right_after = state.rating
    # Ten clean shifts an hour apart, so the clock does almost nothing.
    for hour in range(1, 11):
        state = apply(state, Event(EventKind.SHOW, no_show_at + timedelta(hours=hour)), DEFAULTS)
        if hour == 5:
            assert state.rating > right_after
            assert state.rating < good.quality
    assert state.rating == state.quality == good.quality
    assert all(
        penalty.share_left(state.last_event_at, state.clean_shifts) == 0.0
        for penalty in state.penalties
    )
    # The next event forgets the spent penalty entirely.
    state = apply(state, Event(EventKind.CANCEL, state.last_event_at), DEFAULTS)
    assert state.penalties == ()


def test_late_shifts_do_not_count_as_clean() -> None:
    good = worker_with_history()
    no_show_at = good.last_event_at + timedelta(days=1)
    state = apply(good, Event(EventKind.NO_SHOW, no_show_at), DEFAULTS)
    for hour in range(1, 11):
        state = apply(state, Event(EventKind.LATE, no_show_at + timedelta(hours=hour)), DEFAULTS)
    assert state.clean_shifts == good.clean_shifts
    assert state.rating < good.quality - 1.5
    assert state.shifts_completed == good.shifts_completed + 10
    assert state.late_arrivals == 10


# --- Suspension ----------------------------------------------------------------------------------


def no_shows_at(*days: float, params: RatingParams = DEFAULTS) -> WorkerState:
    return replay([Event(EventKind.NO_SHOW, T0 + timedelta(days=day)) for day in days], params)


def test_two_no_shows_within_thirty_days_suspend() -> None:
    state = no_shows_at(0, 12)
    assert should_suspend(state, state.last_event_at, DEFAULTS)


def test_one_no_show_does_not_suspend() -> None:
    state = no_shows_at(0)
    assert not should_suspend(state, state.last_event_at, DEFAULTS)


def test_no_shows_spread_out_do_not_suspend() -> None:
    state = no_shows_at(0, 31, 62)
    assert state.no_shows == 3
    assert not should_suspend(state, state.last_event_at, DEFAULTS)
    # The window is inclusive: exactly thirty days apart still counts.
    assert should_suspend(no_shows_at(0, 30), T0 + timedelta(days=30), DEFAULTS)


def test_suspension_follows_the_configured_count_and_window() -> None:
    params = RatingParams(suspension_no_shows=3, suspension_window_days=7.0)
    assert not should_suspend(no_shows_at(0, 2, params=params), T0 + timedelta(days=2), params)
    assert should_suspend(no_shows_at(0, 2, 6, params=params), T0 + timedelta(days=6), params)
    assert not should_suspend(no_shows_at(0, 4, 8, params=params), T0 + timedelta(days=8), params)


def test_old_no_shows_leave_the_stored_state() -> None:
    state = no_shows_at(0, 40)
    assert state.recent_no_shows == (T0 + timedelta(days=40),)


# --- Replay reproduces the incremental figures exactly ------------------------------------------


def through_json(state: WorkerState) -> WorkerState:
    """What the service does between events: store the state on the worker row, read it back."""
    return WorkerState.from_dict(json.loads(json.dumps(state.to_dict())))


@settings(max_examples=100)
@given(histories(max_size=100), rating_params())
def test_replay_equals_incremental_updates_exactly(
    events: list[Event], params: RatingParams
) -> None:
    stored = initial_state(params)
    for event in events:
        stored = through_json(apply(through_json(stored), event, params))
    recomputed = replay(events, params)
    assert recomputed.to_dict() == stored.to_dict()
    assert recomputed == stored
    assert recomputed.reliability == stored.reliability
    assert recomputed.rating == stored.rating


@given(histories(), st.randoms(use_true_random=False))
def test_replay_orders_events_by_time(events: list[Event], shuffler: random.Random) -> None:
    moments = [event.at for event in events]
    assume(len(set(moments)) == len(moments))
    shuffled = list(events)
    shuffler.shuffle(shuffled)
    assert replay(shuffled, DEFAULTS) == fold(events, DEFAULTS)


@given(histories(), rating_params())
def test_state_round_trips_through_json_exactly(events: list[Event], params: RatingParams) -> None:
    state = fold(events, params)
    assert through_json(state) == state
    assert through_json(state).to_dict() == state.to_dict()


def test_state_of_another_version_is_refused() -> None:
    data = initial_state(DEFAULTS).to_dict()
    data["version"] = 0
    with pytest.raises(ValueError, match="version"):
        WorkerState.from_dict(data)
    data = initial_state(DEFAULTS).to_dict()
    del data["alpha"]
    with pytest.raises(ValueError, match="malformed"):
        WorkerState.from_dict(data)


def test_events_must_arrive_in_order() -> None:
    state = apply(initial_state(DEFAULTS), Event(EventKind.SHOW, T0), DEFAULTS)
    apply(state, Event(EventKind.NO_SHOW, T0), DEFAULTS)  # the same moment is fine
    with pytest.raises(OutOfOrderEventError):
        apply(state, Event(EventKind.NO_SHOW, T0 - timedelta(seconds=1)), DEFAULTS)
    with pytest.raises(ValueError, match="precedes"):
        rating_at(state, T0 - timedelta(seconds=1))


def test_events_are_validated() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Event(EventKind.SHOW, datetime(2025, 1, 1, 8, 0))  # naive on purpose
    with pytest.raises(ValueError, match="1-5"):
        Event(EventKind.SCORE, T0, 6, ScoreSource.CLIENT)
    with pytest.raises(ValueError, match="int"):
        Event(EventKind.SCORE, T0, True, ScoreSource.CLIENT)
    with pytest.raises(ValueError, match="source"):
        Event(EventKind.SCORE, T0, 3)
    with pytest.raises(ValueError, match="only a score"):
        Event(EventKind.SHOW, T0, 3)
    # Strings from the database are accepted and normalised; other offsets become UTC.
    local = datetime.fromisoformat("2025-01-06T11:00:00+03:00")
    event = Event("score", local, 4, "client")  # type: ignore[arg-type]
    assert event.kind is EventKind.SCORE
    assert event.source is ScoreSource.CLIENT
    assert event.at == T0
    assert event.at.tzinfo is UTC


# --- Reliability converges on the true show rate -------------------------------------------------


def simulate(show_rate: float, count: int, seed: int, params: RatingParams) -> list[float]:
    """Reliability after each of `count` confirmed shifts, one a day, shown with `show_rate`."""
    draw = random.Random(seed)
    state = initial_state(params)
    readings = []
    for day in range(count):
        kind = EventKind.SHOW if draw.random() < show_rate else EventKind.NO_SHOW
        state = apply(state, Event(kind, T0 + timedelta(days=day)), params)
        readings.append(state.reliability)
    return readings


def hoeffding_margin(squared_weights: float) -> float:
    """t with P(|sum of c_i (X_i - p)| >= t) <= the failure probability, X_i in [0, 1]."""
    log_term = math.log(2.0 / CONVERGENCE_FAILURE_PROBABILITY)
    return math.sqrt(squared_weights * log_term / 2.0)


@settings(max_examples=6, deadline=None)
@given(st.floats(0.05, 0.95), st.integers(0, 2**32 - 1))
def test_reliability_converges_on_the_show_rate_without_forgetting(
    show_rate: float, seed: int
) -> None:
    """With shift_memory = 1 the posterior mean is (a + shows) / (a + b + n): plain convergence.

    After n = 10,000 shifts the tolerance is the prior's pull, |a - p (a + b)| / (a + b + n),
    plus Hoeffding's margin for n equal weights, sqrt(n ln(2 / delta) / 2) / (a + b + n): about
    0.027 in all.
    """
    params = RatingParams(shift_memory=1.0)
    count = 10_000
    reliability = simulate(show_rate, count, seed, params)[-1]
    prior_pull = abs(params.prior_alpha - show_rate * params.prior_shifts)
    tolerance = (prior_pull + hoeffding_margin(count)) / (params.prior_shifts + count)
    assert abs(reliability - show_rate) <= tolerance + 1e-9


@settings(max_examples=30, deadline=None)
@given(st.floats(0.05, 0.95), st.integers(0, 2**32 - 1))
def test_reliability_tracks_the_show_rate_within_its_memory(show_rate: float, seed: int) -> None:
    """With the default memory one reading is only as precise as ~50 shifts allow.

    After n shifts, reliability = (a + S) / (a + b + M) with S = sum of m^(n-i) X_i and
    M = sum of m^(n-i): the figure rests on an effective sample of M^2 / sum m^(2(n-i)), about
    99 shifts, however long the record. The honest tolerance is the prior's pull
    |a - p (a + b)| / (a + b + M) (up to 0.07 for p near 0) plus Hoeffding's margin for those
    weights (about 0.25): a single reading says roughly where p is, not its second decimal.
    """
    params = DEFAULTS
    count = 400
    memory = params.shift_memory
    weights = [memory ** (count - shift) for shift in range(1, count + 1)]
    total = math.fsum(weights)
    squared = math.fsum(weight * weight for weight in weights)
    effective_sample = total * total / squared
    assert 95 < effective_sample < 100

    reliability = simulate(show_rate, count, seed, params)[-1]
    denominator = params.prior_shifts + total
    prior_pull = abs(params.prior_alpha - show_rate * params.prior_shifts)
    tolerance = (prior_pull + hoeffding_margin(squared)) / denominator
    assert abs(reliability - show_rate) <= tolerance + 1e-9


@settings(max_examples=6, deadline=None)
@given(st.floats(0.05, 0.95), st.integers(0, 2**32 - 1))
def test_long_run_reliability_averages_to_the_show_rate(show_rate: float, seed: int) -> None:
    """Averaged over 10,000 shifts, the default model's reading sits on p, shrunk by the prior.

    Reading k is (a + S_k) / (a + b + M_k); the average of readings from shift B on is
    sum_i c_i X_i plus constants, with c_i = (1/K) sum_{k >= max(i, B)} m^(k-i) / (a + b + M_k).
    Its expectation is computed exactly; the deviation from it is bounded by Hoeffding's margin
    for the c_i (0.025), so the test pins the long-run level to within three hundredths.
    """
    params = DEFAULTS
    count, burn_in = 10_000, 200
    memory = params.shift_memory
    alpha, shifts = params.prior_alpha, params.prior_shifts

    readings = simulate(show_rate, count, seed, params)[burn_in:]
    average = math.fsum(readings) / len(readings)

    # M_k for k = 1..count (after k shifts), then c_i by a backward running sum.
    evidence = []
    running = 0.0
    for _ in range(count):
        running = memory * running + 1.0
        evidence.append(running)
    readings_count = count - burn_in
    expected = (
        math.fsum(
            (alpha + show_rate * evidence[k]) / (shifts + evidence[k])
            for k in range(burn_in, count)
        )
        / readings_count
    )
    coefficients = []
    tail = 0.0
    for k in range(count - 1, -1, -1):
        # tail = sum over readings j >= k (j >= burn_in) of m^(j-k) / (a + b + M_j)
        tail = memory * tail + (1.0 / (shifts + evidence[k]) if k >= burn_in else 0.0)
        coefficients.append(tail / readings_count)
    margin = hoeffding_margin(math.fsum(c * c for c in coefficients))
    assert margin < 0.03

    assert abs(average - expected) <= margin + 1e-9
    prior_pull = abs(expected - show_rate)
    assert prior_pull <= abs(alpha - show_rate * shifts) / (shifts + evidence[burn_in]) + 1e-9
    assert abs(average - show_rate) <= prior_pull + margin + 1e-9


# --- The published formula -----------------------------------------------------------------------


def test_explanation_is_computed_by_the_model() -> None:
    text = explain(DEFAULTS)
    assert "reliability = (4.00 + S) / (5.00 + S + F)" in text
    assert "2 no-shows within 30 days" in text
    assert f"{DEFAULTS.max_single_score_drop:.2f}" in text
    assert "the worker is suspended" in text
    # Other parameters give other words and numbers.
    other = explain(RatingParams(no_show_stars=2.0, suspension_no_shows=3, shift_memory=1.0))
    assert "3 no-shows within 30 days" in other
    assert "| no-show | 1 no-show | 2.00 stars |" in other
    assert "every shift ever worked counts the same" in other


@settings(max_examples=30, deadline=None)
@given(rating_params())
def test_explanation_works_for_any_parameters(params: RatingParams) -> None:
    text = explain(params)
    assert f"| no-show | 1 no-show | {params.no_show_stars:.2f} stars |" in text
    assert f"{params.suspension_no_shows} no-shows within" in text


def test_published_page_matches_the_model() -> None:
    """docs/ratings.md carries explain(RatingParams()) verbatim; regenerate it if this fails."""
    assert explain(DEFAULTS) in DOCS.read_text(encoding="utf-8")
