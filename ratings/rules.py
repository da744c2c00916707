"""The published rules of ratings: the words, and a worked example computed by the maths.

The words are Markdown templates beside this module (`templates/ratings/rules.md` and
`worked_example.md`, a line ending in a backslash joined to the next); every figure in them is
filled in here from `RatingParams` and from events run through `ratings.scoring`, so the text
cannot drift from the code. docs/ratings.md and the console's "Ratings" page show `explain()`;
`python -m ratings.rules` prints it with the default parameters.

Pure: standard library only, no Django.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from .scoring import (
    Event,
    EventKind,
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

TEMPLATES = Path(__file__).with_name("templates") / "ratings"


@cache
def _template(name: str) -> str:
    """A template's text, continuation lines joined."""
    return (TEMPLATES / name).read_text(encoding="utf-8").replace("\\\n", "")


def _fmt(value: float, places: int = 2) -> str:
    return f"{value:.{places}f}"


def _shift_events(start: datetime, scores: Iterable[int]) -> list[Event]:
    """A shift a day from `start`: shows, each followed by a foreman's score that evening."""
    events: list[Event] = []
    for day, score in enumerate(scores):
        shift_start = start + timedelta(days=day)
        events.append(Event(EventKind.SHOW, shift_start))
        events.append(
            Event(EventKind.SCORE, shift_start + timedelta(hours=9), score, ScoreSource.FOREMAN)
        )
    return events


def _worked_example(params: RatingParams) -> str:
    start = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
    scores = (5, 4, 5, 5, 4, 5)
    newcomer = initial_state(params)
    settled = replay(_shift_events(start, scores), params)
    shows_evidence = settled.alpha - params.prior_alpha
    score_evidence = settled.quality_weight - params.prior_scores
    score_sum = settled.quality_sum - params.prior_scores * params.prior_quality

    # The next shift is two days after the sixth, at 08:00, so even the earliest withdrawal in
    # the table comes after the last score. The no-show is recorded when the grace period ends.
    shift = start + timedelta(days=len(scores) + 1)
    no_show_at = shift + timedelta(minutes=30)
    after_no_show = apply(settled, Event(EventKind.NO_SHOW, no_show_at), params)
    came = apply(settled, Event(EventKind.SHOW, shift), params)
    after_bad_score = apply(
        came, Event(EventKind.SCORE, shift + timedelta(hours=9), 1, ScoreSource.CLIENT), params
    )
    failures_after = after_no_show.beta - params.prior_beta
    shows_after = after_no_show.alpha - params.prior_alpha

    def withdrawal(hours: float) -> WorkerState:
        notice = timedelta(hours=hours)
        kind = classify_withdrawal(notice, params)
        return apply(settled, Event(kind, shift - notice), params)

    tiers = [
        ("withdraws 30 h before the start", withdrawal(30)),
        ("withdraws 12 h before the start", withdrawal(12)),
        ("withdraws 1 h before the start", withdrawal(1)),
        ("does not come (no-show)", after_no_show),
        ("comes on time, and the client scores the shift 1", after_bad_score),
    ]
    tier_rows = "\n".join(
        f"| {label} | {_fmt(state.reliability, 3)} | {_fmt(state.rating)} |"
        for label, state in tiers
    )

    half_clean = params.penalty_clean_shifts // 2
    recovering = after_no_show
    for day in range(1, half_clean + 1):
        recovering = apply(recovering, Event(EventKind.SHOW, shift + timedelta(days=day)), params)
    recovered = recovering
    for day in range(half_clean + 1, params.penalty_clean_shifts + 1):
        recovered = apply(recovered, Event(EventKind.SHOW, shift + timedelta(days=day)), params)
    idle_until = no_show_at + params.penalty_fade
    half_idle_at = no_show_at + params.penalty_fade / 2

    second_no_show_at = no_show_at + timedelta(days=3)
    twice = apply(after_no_show, Event(EventKind.NO_SHOW, second_no_show_at), params)
    suspended = should_suspend(twice, second_no_show_at, params)

    q0, m = params.prior_quality, params.prior_scores
    a0, n0 = params.prior_alpha, params.prior_shifts
    return _template("worked_example.md").format(
        newcomer_reliability=_fmt(newcomer.reliability, 3),
        newcomer_rating=_fmt(newcomer.rating),
        start=start,
        scores=", ".join(str(score) for score in scores),
        shift_memory=params.shift_memory,
        shows_evidence=_fmt(shows_evidence, 3),
        prior_alpha=_fmt(a0),
        prior_shifts=_fmt(n0),
        settled_reliability=_fmt(settled.reliability, 3),
        score_memory=params.score_memory,
        score_evidence=_fmt(score_evidence, 3),
        score_sum=_fmt(score_sum, 3),
        prior_scores=_fmt(m),
        prior_quality=_fmt(q0),
        settled_quality=_fmt(settled.quality),
        settled_rating=_fmt(settled.rating),
        shift=shift,
        tier_rows=tier_rows,
        shows_after=_fmt(shows_after, 3),
        failures_after=_fmt(failures_after, 3),
        no_show_reliability=_fmt(after_no_show.reliability, 3),
        no_show_stars=_fmt(params.no_show_stars),
        no_show_quality=_fmt(after_no_show.quality),
        no_show_rating=_fmt(after_no_show.rating),
        half_clean=half_clean,
        recovering_rating=_fmt(recovering.rating),
        penalty_clean_shifts=params.penalty_clean_shifts,
        recovered_rating=_fmt(recovered.rating),
        half_idle_rating=_fmt(rating_at(after_no_show, half_idle_at)),
        half_fade_days=_fmt(params.penalty_fade_days / 2, 0),
        idle_rating=_fmt(rating_at(after_no_show, idle_until)),
        fade_days=_fmt(params.penalty_fade_days, 0),
        twice_rating=_fmt(twice.rating),
        twice_reliability=_fmt(twice.reliability, 3),
        suspension="the worker is suspended" if suspended else "no suspension",
        twice_no_shows=twice.no_shows,
        suspension_window_days=_fmt(params.suspension_window_days, 0),
    )


def explain(params: RatingParams) -> str:
    """The published rules in plain words (Markdown), with a worked example computed here."""
    memory = params.shift_memory
    if memory < 1.0:
        half_life = math.log(0.5) / math.log(memory)
        cap = 1.0 / (1.0 - memory)
        memory_words = (
            f"a shift {_fmt(half_life, 0)} events ago counts half as much as the latest, and the "
            f"record never holds more than {_fmt(cap, 0)} shifts' worth of evidence"
        )
    else:
        memory_words = "every shift ever worked counts the same"
    stars = params.no_show_stars
    late_w = params.late_arrival_weight
    late_cancel_w = params.late_cancel_weight
    very_late_w = params.very_late_cancel_weight
    late_h = _fmt(params.late_cancel_notice_hours, 0)
    very_late_h = _fmt(params.very_late_cancel_notice_hours, 0)
    a0, b0 = params.prior_alpha, params.prior_beta
    q0, m = params.prior_quality, params.prior_scores
    return _template("rules.md").format(
        late_show=_fmt(1 - late_w),
        late_weight=_fmt(late_w),
        late_stars=_fmt(late_w * stars),
        late_hours=late_h,
        late_cancel_weight=_fmt(late_cancel_w),
        late_cancel_stars=_fmt(late_cancel_w * stars),
        very_late_hours=very_late_h,
        very_late_weight=_fmt(very_late_w),
        very_late_stars=_fmt(very_late_w * stars),
        no_show_stars=_fmt(stars),
        prior_alpha=_fmt(a0),
        prior_shifts=_fmt(a0 + b0),
        shift_memory=memory,
        memory_words=memory_words,
        prior_shift_count=_fmt(params.prior_shifts, 0),
        prior_show_rate=_fmt(params.prior_show_rate),
        prior_reliability=_fmt(params.prior_show_rate, 3),
        prior_scores=_fmt(m),
        prior_quality=_fmt(q0),
        foreman_weight=_fmt(params.foreman_score_weight),
        client_weight=_fmt(params.client_score_weight),
        prior_score_count=_fmt(m, 0),
        score_memory=params.score_memory,
        fade_days=_fmt(params.penalty_fade_days, 0),
        penalty_clean_shifts=params.penalty_clean_shifts,
        max_single_score_drop=_fmt(params.max_single_score_drop),
        suspension_no_shows=params.suspension_no_shows,
        suspension_window_days=_fmt(params.suspension_window_days, 0),
        worked_example=_worked_example(params),
    )


if __name__ == "__main__":
    print(explain(RatingParams()), end="")
