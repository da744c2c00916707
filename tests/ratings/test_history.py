"""A worker's rating and reliability over time: the line a profile draws, computed by the same
fold that states the worker row (pure maths here; the stored figures in test_history_stored)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ratings.scoring import (
    Event,
    EventKind,
    RatingParams,
    ScoreSource,
    figures_over_time,
    initial_state,
    rating_at,
    replay,
)
from tests.ratings.test_scoring import T0, histories, rating_params

DEFAULTS = RatingParams()


# No deadline nor speed check: a loaded machine must not fail a test of the maths by the
# wall clock.
NOT_TIMED = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}


@settings(max_examples=100, **NOT_TIMED)
@given(histories(max_size=80), rating_params())
def test_the_point_after_each_event_is_the_replay_up_to_it(
    events: list[Event], params: RatingParams
) -> None:
    points = figures_over_time(events, params)
    assert len(points) == len(events)
    before = initial_state(params)
    for index, point in enumerate(points):
        state = replay(events[: index + 1], params)
        assert point.at == events[index].at
        assert point.rating == state.rating
        assert point.reliability == state.reliability
        # Just before the event: the last state, its penalties faded to the event's moment.
        assert point.rating_before == rating_at(before, events[index].at)
        assert point.reliability_before == before.reliability
        before = state


@settings(**NOT_TIMED)
@given(histories(max_size=40), st.integers(0, 90 * 24 * 60))
def test_the_last_point_is_the_rating_at_the_moment_asked(
    events: list[Event], minutes_later: int
) -> None:
    state = replay(events, DEFAULTS)
    until = (state.last_event_at or T0) + timedelta(minutes=minutes_later)
    last = figures_over_time(events, DEFAULTS, until=until)[-1]
    assert last.rating == rating_at(state, until)
    assert last.reliability == state.reliability
    assert 0.0 <= last.rating <= 5.0


def test_a_newcomer_starts_at_the_priors() -> None:
    start = figures_over_time([], DEFAULTS, since=T0, until=T0 + timedelta(days=3))
    newcomer = initial_state(DEFAULTS)
    assert [(p.at, p.rating, p.reliability) for p in start] == [
        (T0, newcomer.rating, newcomer.reliability),
        (T0 + timedelta(days=3), newcomer.rating, newcomer.reliability),
    ]


def test_a_no_show_is_a_drop_in_the_line_that_fades_back() -> None:
    events = [
        Event(EventKind.SHOW, T0),
        Event(EventKind.SCORE, T0 + timedelta(hours=9), 5, ScoreSource.FOREMAN),
        Event(EventKind.NO_SHOW, T0 + timedelta(days=2)),
    ]
    points = figures_over_time(events, DEFAULTS, since=T0 - timedelta(days=1),
                               until=T0 + timedelta(days=17))
    ratings = [round(p.rating, 2) for p in points]
    after_no_show, fortnight_later = ratings[3], ratings[4]
    no_show = points[3]
    assert no_show.rating_before - no_show.rating == pytest.approx(DEFAULTS.no_show_stars)
    assert no_show.rating_before == points[2].rating  # nothing was fading before it
    assert points[3].reliability < points[2].reliability
    # Half the fade period later, half the penalty is gone.
    assert fortnight_later == pytest.approx(after_no_show + DEFAULTS.no_show_stars / 2, abs=0.01)


def test_events_older_than_the_row_put_the_first_point_at_the_first_event() -> None:
    events = [Event(EventKind.SHOW, T0), Event(EventKind.NO_SHOW, T0 + timedelta(days=1))]
    points = figures_over_time(events, DEFAULTS, since=T0 + timedelta(days=30))
    assert [p.at for p in points] == [T0, T0, T0 + timedelta(days=1)]


def test_a_moment_before_the_last_event_adds_no_point() -> None:
    events = [Event(EventKind.SHOW, T0)]
    assert len(figures_over_time(events, DEFAULTS, until=T0 - timedelta(days=1))) == 1


def test_naive_moments_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        figures_over_time([], DEFAULTS, until=T0.replace(tzinfo=None))
