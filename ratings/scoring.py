"""Ratings maths: from a worker's rating events to reliability, rating and suspension.

Pure module: standard library only, no Django. The service layer stores `WorkerState.to_dict()` on
the worker row, feeds each new event through `apply`, and copies `reliability` and `rating` to the
row; the recompute command folds all of a worker's events through `replay`, which is the same fold
and therefore reproduces the stored figures bit for bit.

The figures, in brief (defaults; every number is a `RatingParams` field):

- reliability = (a + S) / (a + b + S + F): a Beta posterior mean with a prior worth 5 shifts at
  0.8 (a = 4, b = 1). S and F are show and no-show evidence; before each attendance event adds
  its own evidence, S and F are multiplied by 0.98, so recent shifts count more.
- quality = (5 * 4.0 + sum of w * score) / (5 + sum of w): a Bayesian average of 1-5 scores with
  the same kind of memory (0.98 per score).
- rating = max(0, quality - penalties): a no-show costs 1.5 stars at once, a withdrawal under 2 h
  0.9 of that, under 24 h half of it, a late arrival a fifth; each penalty fades linearly to
  nothing over 30 days, and a tenth of it goes with every clean shift worked after it.
- suspension: 2 no-shows within 30 days.

`ratings.rules.explain(params)` writes the same rules out in plain words with a worked example
computed by this module, so the published text cannot drift from the code.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from operator import attrgetter
from typing import Any

__all__ = [
    "STATE_VERSION",
    "Event",
    "EventKind",
    "Figures",
    "OutOfOrderEventError",
    "Penalty",
    "RatingParams",
    "ScoreSource",
    "WorkerState",
    "apply",
    "classify_withdrawal",
    "figures_over_time",
    "initial_state",
    "rating_at",
    "replay",
    "should_suspend",
]

# Bumped whenever the shape of WorkerState.to_dict() changes; from_dict refuses other versions so
# an old blob is recomputed from events rather than misread.
STATE_VERSION = 1

MIN_SCORE = 1
MAX_SCORE = 5
MAX_RATING = 5.0
MAX_DAYS = 3650.0  # the longest duration a parameter may name: ten years


class EventKind(StrEnum):
    """What happened. The values are stored in the database; do not rename them."""

    SHOW = "show"  # confirmed, came on time: a clean shift
    LATE = "late"  # confirmed, came late
    NO_SHOW = "no_show"  # confirmed, did not come, did not withdraw in time
    LATE_CANCEL = "late_cancel"  # withdrew with less notice than the late-cancel threshold (24 h)
    VERY_LATE_CANCEL = "very_late_cancel"  # withdrew with less than the very-late threshold (2 h)
    CANCEL = "cancel"  # withdrew in good time: recorded, costs nothing
    SCORE = "score"  # a quality score 1-5 from the foreman or the client


class ScoreSource(StrEnum):
    """Who gave a quality score."""

    FOREMAN = "foreman"
    CLIENT = "client"


# Events that say whether a confirmed worker turned up; they feed reliability.
ATTENDANCE_KINDS = frozenset(
    {
        EventKind.SHOW,
        EventKind.LATE,
        EventKind.NO_SHOW,
        EventKind.LATE_CANCEL,
        EventKind.VERY_LATE_CANCEL,
    }
)


@dataclass(frozen=True)
class RatingParams:
    """Every number the rules use; build it from settings: `RatingParams(**overrides)`.

    Penalty weights are in units of one no-show (a no-show weighs 1 by definition: it is one
    failure in the reliability count and `no_show_stars` off the rating). Changing a parameter
    changes only events applied afterwards; run the recompute command to restate every worker
    under the new parameters.
    """

    # Reliability prior: a newcomer counts as `prior_shifts` shifts at `prior_show_rate`, so the
    # dispatch engine books them as an average worker until their own record speaks.
    prior_show_rate: float = 0.8
    prior_shifts: float = 5.0
    # Each attendance event multiplies the worker's past evidence by this before adding its own:
    # a shift 34 events ago counts half, and the evidence never exceeds 1 / (1 - 0.98) = 50
    # shifts, like the market's "score over the last 50 shifts". 1.0 means never forget.
    shift_memory: float = 0.98

    # Penalty tiers, as a fraction of a no-show. A withdrawal with at least
    # `late_cancel_notice_hours` of notice costs nothing.
    late_arrival_weight: float = 0.2  # came, but late: 0.8 of a show and 0.2 of a no-show
    late_cancel_weight: float = 0.5  # under 24 h: the order can still be refilled, at a cost
    very_late_cancel_weight: float = 0.9  # under 2 h: almost as bad as not coming
    late_cancel_notice_hours: float = 24.0
    very_late_cancel_notice_hours: float = 2.0

    # Quality: a Bayesian average of scores that starts at `prior_quality` worth `prior_scores`
    # scores, so one early 5 or 1 does not swing a newcomer to an extreme.
    prior_quality: float = 4.0
    prior_scores: float = 5.0
    # Like shift_memory, per score: old scores fade so a worker can improve.
    score_memory: float = 0.98
    foreman_score_weight: float = 1.0
    client_score_weight: float = 1.0

    # Stars a no-show takes off the rating at once. Must exceed the most a single score of 1 can
    # take off (see max_single_score_drop), so a no-show always hurts more than a bad score.
    no_show_stars: float = 1.5
    # A penalty fades linearly: all of it over `penalty_fade_days`, or a 1/`penalty_clean_shifts`
    # share with each clean shift worked after it; the two add up.
    penalty_fade_days: float = 30.0
    penalty_clean_shifts: int = 10

    # Suspension for a recruiter's review: this many no-shows within the window.
    suspension_no_shows: int = 2
    suspension_window_days: float = 30.0

    def __post_init__(self) -> None:
        # Each check is a range test, so NaN fails it; durations are capped so that timedelta
        # arithmetic cannot overflow.
        checks = [
            (0.0 < self.prior_show_rate < 1.0, "prior_show_rate must be in (0, 1)"),
            (0.0 < self.prior_shifts < math.inf, "prior_shifts must be positive"),
            (0.0 < self.shift_memory <= 1.0, "shift_memory must be in (0, 1]"),
            (0.0 <= self.late_arrival_weight <= 1.0, "late_arrival_weight must be in [0, 1]"),
            (
                0.0 <= self.late_cancel_weight <= self.very_late_cancel_weight <= 1.0,
                "need 0 <= late_cancel_weight <= very_late_cancel_weight <= 1 (a no-show)",
            ),
            (
                0.0
                < self.very_late_cancel_notice_hours
                < self.late_cancel_notice_hours
                <= MAX_DAYS * 24,
                "need 0 < very_late_cancel_notice_hours < late_cancel_notice_hours <= 10 years",
            ),
            (MIN_SCORE <= self.prior_quality <= MAX_SCORE, "prior_quality must be in [1, 5]"),
            (0.0 < self.prior_scores < math.inf, "prior_scores must be positive"),
            (0.0 < self.score_memory <= 1.0, "score_memory must be in (0, 1]"),
            (0.0 < self.foreman_score_weight < math.inf, "foreman_score_weight must be > 0"),
            (0.0 < self.client_score_weight < math.inf, "client_score_weight must be > 0"),
            (
                # At least a second, so a penalty's fading period is never an empty timedelta.
                1.0 / 86_400 <= self.penalty_fade_days <= MAX_DAYS,
                "penalty_fade_days must be between a second and 10 years",
            ),
            (_is_positive_int(self.penalty_clean_shifts), "penalty_clean_shifts must be >= 1"),
            (_is_positive_int(self.suspension_no_shows), "suspension_no_shows must be >= 1"),
            (
                0.0 < self.suspension_window_days <= MAX_DAYS,
                "suspension_window_days must be in (0, 10 years]",
            ),
            (0.0 < self.no_show_stars <= MAX_RATING, "no_show_stars must be in (0, 5]"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        if not self.no_show_stars > self.max_single_score_drop:
            raise ValueError(
                f"no_show_stars ({self.no_show_stars}) must exceed the most a single score of 1 "
                f"can take off the rating ({self.max_single_score_drop:.3f}); raise it or "
                "prior_scores"
            )

    @property
    def prior_alpha(self) -> float:
        return self.prior_show_rate * self.prior_shifts

    @property
    def prior_beta(self) -> float:
        # Subtracted rather than (1 - rate) * shifts: 0.8 * 5 and 5 - 4 are both exact.
        return self.prior_shifts - self.prior_alpha

    @property
    def late_cancel_notice(self) -> timedelta:
        return timedelta(hours=self.late_cancel_notice_hours)

    @property
    def very_late_cancel_notice(self) -> timedelta:
        return timedelta(hours=self.very_late_cancel_notice_hours)

    @property
    def penalty_fade(self) -> timedelta:
        return timedelta(days=self.penalty_fade_days)

    @property
    def suspension_window(self) -> timedelta:
        return timedelta(days=self.suspension_window_days)

    @property
    def max_single_score_drop(self) -> float:
        """An upper bound on how far one score (of 1, the worst) can lower quality, any history.

        The new score enters with weight w <= max source weight into an average that already holds
        at least the prior's weight m, so it moves quality by at most 4 * w / (m + w). Before it
        enters, past scores are multiplied by the memory factor, which pulls quality towards the
        prior by at most 4 * (1 - memory) / (1 + sqrt(memory)) ** 2 (maximised over the history).
        """
        weight = max(self.foreman_score_weight, self.client_score_weight)
        spread = MAX_SCORE - MIN_SCORE
        by_score = spread * weight / (self.prior_scores + weight)
        memory = self.score_memory
        by_memory = spread * (1.0 - memory) / (1.0 + math.sqrt(memory)) ** 2
        return by_score + by_memory

    def penalty_weight(self, kind: EventKind) -> float:
        """The event's weight as a fraction of a no-show (0 for events that cost nothing)."""
        return {
            EventKind.NO_SHOW: 1.0,
            EventKind.VERY_LATE_CANCEL: self.very_late_cancel_weight,
            EventKind.LATE_CANCEL: self.late_cancel_weight,
            EventKind.LATE: self.late_arrival_weight,
        }.get(kind, 0.0)

    def evidence(self, kind: EventKind) -> tuple[float, float]:
        """(shows, no-shows) an attendance event adds to the reliability count."""
        if kind is EventKind.SHOW:
            return 1.0, 0.0
        if kind is EventKind.LATE:
            # The worker did come; the lateness is charged as a small share of a failure.
            return 1.0 - self.late_arrival_weight, self.late_arrival_weight
        return 0.0, self.penalty_weight(kind)

    def score_weight(self, source: ScoreSource) -> float:
        if source is ScoreSource.FOREMAN:
            return self.foreman_score_weight
        return self.client_score_weight


def _is_positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _require_aware(moment: datetime, name: str) -> datetime:
    """Return `moment` in UTC; naive datetimes are refused (they would compare wrongly)."""
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {moment!r}")
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class Event:
    """One rating event. `at` is when it was recorded (aware; stored in UTC).

    Stamp events with the time they are recorded, not the shift's start: `apply` needs them in
    order, and attendance for an old shift may be entered days later.
    A SCORE carries `score` (an int 1-5) and `source`; every other kind carries neither.
    """

    kind: EventKind
    at: datetime
    score: int | None = None
    source: ScoreSource | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", EventKind(self.kind))
        object.__setattr__(self, "at", _require_aware(self.at, "Event.at"))
        if self.kind is EventKind.SCORE:
            score = self.score
            if isinstance(score, bool) or not isinstance(score, int):
                raise ValueError(f"a score must be an int 1-5, got {score!r}")
            if not MIN_SCORE <= score <= MAX_SCORE:
                raise ValueError(f"a score must be 1-5, got {score}")
            if self.source is None:
                raise ValueError("a score needs a source (foreman or client)")
            object.__setattr__(self, "source", ScoreSource(self.source))
        elif self.score is not None or self.source is not None:
            raise ValueError(f"only a score event carries a score and a source, not {self.kind}")


@dataclass(frozen=True)
class Penalty:
    """A rating penalty still fading. Its terms are fixed when it is incurred."""

    kind: EventKind
    at: datetime
    stars: float  # taken off the rating while whole
    fades_by: datetime  # gone by then even without clean shifts
    clean_shifts_at: int  # the worker's clean-shift count when the penalty was incurred
    clears_after: int  # clean shifts that clear it on their own

    def share_left(self, now: datetime, clean_shifts: int) -> float:
        """What is left of the penalty at `now` (0-1), given the worker's clean-shift count."""
        by_time = (now - self.at) / (self.fades_by - self.at)
        by_shifts = (clean_shifts - self.clean_shifts_at) / self.clears_after
        return max(0.0, 1.0 - by_time - by_shifts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "at": self.at.isoformat(),
            "stars": self.stars,
            "fades_by": self.fades_by.isoformat(),
            "clean_shifts_at": self.clean_shifts_at,
            "clears_after": self.clears_after,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Penalty:
        return cls(
            kind=EventKind(data["kind"]),
            at=_parse_moment(data["at"]),
            stars=float(data["stars"]),
            fades_by=_parse_moment(data["fades_by"]),
            clean_shifts_at=int(data["clean_shifts_at"]),
            clears_after=int(data["clears_after"]),
        )


def _parse_moment(text: str) -> datetime:
    return _require_aware(datetime.fromisoformat(text), "a stored time")


def _format_moment(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


@dataclass(frozen=True)
class WorkerState:
    """Everything needed to update a worker's figures with the next event, and nothing else.

    `alpha`/`beta` are the Beta posterior's parameters (prior included); `quality_sum` /
    `quality_weight` are the weighted score sum and weight (prior included). Penalties that have
    faded completely and no-shows older than the suspension window are dropped at each event.
    Counters are plain, never decayed.
    """

    alpha: float
    beta: float
    quality_sum: float
    quality_weight: float
    clean_shifts: int = 0
    penalties: tuple[Penalty, ...] = ()
    recent_no_shows: tuple[datetime, ...] = ()
    shifts_completed: int = 0  # shows and late arrivals
    late_arrivals: int = 0
    no_shows: int = 0
    late_cancels: int = 0
    very_late_cancels: int = 0
    cancels: int = 0
    scores: int = 0
    last_event_at: datetime | None = None

    @property
    def reliability(self) -> float:
        """The probability (0-1) that this worker, once confirmed, turns up."""
        return self.alpha / (self.alpha + self.beta)

    @property
    def quality(self) -> float:
        """The Bayesian average of scores (1-5), before penalties."""
        return self.quality_sum / self.quality_weight

    @property
    def rating(self) -> float:
        """The rating (0-5) at the moment of the last event; see `rating_at` for later moments.

        This is the figure to store right after `apply`: it already includes a no-show that the
        event just recorded.
        """
        if self.last_event_at is None:
            return _clamp_rating(self.quality)
        return rating_at(self, self.last_event_at)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; `from_dict(json.loads(json.dumps(d)))` gives back an equal state."""
        return {
            "version": STATE_VERSION,
            "alpha": self.alpha,
            "beta": self.beta,
            "quality_sum": self.quality_sum,
            "quality_weight": self.quality_weight,
            "clean_shifts": self.clean_shifts,
            "penalties": [penalty.to_dict() for penalty in self.penalties],
            "recent_no_shows": [moment.isoformat() for moment in self.recent_no_shows],
            "shifts_completed": self.shifts_completed,
            "late_arrivals": self.late_arrivals,
            "no_shows": self.no_shows,
            "late_cancels": self.late_cancels,
            "very_late_cancels": self.very_late_cancels,
            "cancels": self.cancels,
            "scores": self.scores,
            "last_event_at": _format_moment(self.last_event_at),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorkerState:
        """Inverse of `to_dict`. Raises ValueError on another version or a malformed blob."""
        if data.get("version") != STATE_VERSION:
            raise ValueError(
                f"rating state version {data.get('version')!r} is not {STATE_VERSION}; recompute"
            )
        try:
            last = data["last_event_at"]
            return cls(
                alpha=float(data["alpha"]),
                beta=float(data["beta"]),
                quality_sum=float(data["quality_sum"]),
                quality_weight=float(data["quality_weight"]),
                clean_shifts=int(data["clean_shifts"]),
                penalties=tuple(Penalty.from_dict(item) for item in data["penalties"]),
                recent_no_shows=tuple(_parse_moment(item) for item in data["recent_no_shows"]),
                shifts_completed=int(data["shifts_completed"]),
                late_arrivals=int(data["late_arrivals"]),
                no_shows=int(data["no_shows"]),
                late_cancels=int(data["late_cancels"]),
                very_late_cancels=int(data["very_late_cancels"]),
                cancels=int(data["cancels"]),
                scores=int(data["scores"]),
                last_event_at=None if last is None else _parse_moment(last),
            )
        except (KeyError, TypeError) as error:
            raise ValueError(f"malformed rating state: {error!r}") from error


class OutOfOrderEventError(ValueError):
    """An event older than the state's last event: the figures must be replayed from all events."""


def classify_withdrawal(notice: timedelta, params: RatingParams) -> EventKind:
    """The event for a worker withdrawing `notice` before the start (negative: after it).

    At least 24 h of notice: CANCEL (free); at least 2 h: LATE_CANCEL; less: VERY_LATE_CANCEL.
    A notice exactly on a threshold gets the lighter tier.
    """
    if notice >= params.late_cancel_notice:
        return EventKind.CANCEL
    if notice >= params.very_late_cancel_notice:
        return EventKind.LATE_CANCEL
    return EventKind.VERY_LATE_CANCEL


def initial_state(params: RatingParams) -> WorkerState:
    """A worker with no history: reliability and quality are the priors."""
    return WorkerState(
        alpha=params.prior_alpha,
        beta=params.prior_beta,
        quality_sum=params.prior_scores * params.prior_quality,
        quality_weight=params.prior_scores,
    )


def apply(state: WorkerState, event: Event, params: RatingParams) -> WorkerState:
    """The state after `event`. Pure; the new state's figures already include the event.

    Events must come in the order they were recorded: one older than `state.last_event_at`
    raises OutOfOrderEventError (replay all events instead). Events at the same moment are fine.
    """
    at = event.at
    if state.last_event_at is not None and at < state.last_event_at:
        raise OutOfOrderEventError(
            f"event at {at.isoformat()} is older than the last one "
            f"({state.last_event_at.isoformat()}); replay the worker's events"
        )
    # Forget what can no longer matter, so the stored state stays small.
    window_start = at - params.suspension_window
    state = replace(
        state,
        penalties=tuple(
            penalty
            for penalty in state.penalties
            if penalty.share_left(at, state.clean_shifts) > 0.0
        ),
        recent_no_shows=tuple(moment for moment in state.recent_no_shows if moment >= window_start),
        last_event_at=at,
    )
    kind = event.kind
    if kind is EventKind.SCORE:
        state = _add_score(state, event, params)
    elif kind in ATTENDANCE_KINDS:
        state = _add_attendance_evidence(state, kind, params)
        state = _add_penalty(state, kind, at, params)
    if kind is EventKind.SHOW:
        state = replace(state, clean_shifts=state.clean_shifts + 1)
    elif kind is EventKind.NO_SHOW:
        state = replace(state, recent_no_shows=(*state.recent_no_shows, at))
    return replace(state, **{name: getattr(state, name) + 1 for name in _COUNTERS[kind]})


# The plain counters each kind of event increments.
_COUNTERS: dict[EventKind, tuple[str, ...]] = {
    EventKind.SHOW: ("shifts_completed",),
    EventKind.LATE: ("shifts_completed", "late_arrivals"),
    EventKind.NO_SHOW: ("no_shows",),
    EventKind.LATE_CANCEL: ("late_cancels",),
    EventKind.VERY_LATE_CANCEL: ("very_late_cancels",),
    EventKind.CANCEL: ("cancels",),
    EventKind.SCORE: ("scores",),
}


def _add_attendance_evidence(
    state: WorkerState, kind: EventKind, params: RatingParams
) -> WorkerState:
    shows, failures = params.evidence(kind)
    if shows == 0.0 and failures == 0.0:
        # A tier configured to weigh nothing must not age the record either.
        return state
    memory = params.shift_memory
    prior_alpha, prior_beta = params.prior_alpha, params.prior_beta
    # Only the evidence decays; the prior stays whole, which keeps reliability strictly inside
    # (0, 1) for the booking maths however long a worker's record is.
    return replace(
        state,
        alpha=prior_alpha + memory * (state.alpha - prior_alpha) + shows,
        beta=prior_beta + memory * (state.beta - prior_beta) + failures,
    )


def _add_penalty(
    state: WorkerState, kind: EventKind, at: datetime, params: RatingParams
) -> WorkerState:
    weight = params.penalty_weight(kind)
    if weight == 0.0:
        return state
    penalty = Penalty(
        kind=kind,
        at=at,
        stars=weight * params.no_show_stars,
        fades_by=at + params.penalty_fade,
        clean_shifts_at=state.clean_shifts,
        clears_after=params.penalty_clean_shifts,
    )
    return replace(state, penalties=(*state.penalties, penalty))


def _add_score(state: WorkerState, event: Event, params: RatingParams) -> WorkerState:
    # Event guarantees both for a score; the asserts narrow the types.
    assert event.score is not None
    assert event.source is not None
    weight = params.score_weight(event.source)
    memory = params.score_memory
    prior_weight = params.prior_scores
    prior_sum = params.prior_scores * params.prior_quality
    return replace(
        state,
        quality_sum=prior_sum + memory * (state.quality_sum - prior_sum) + weight * event.score,
        quality_weight=prior_weight + memory * (state.quality_weight - prior_weight) + weight,
    )


def replay(events: Iterable[Event], params: RatingParams) -> WorkerState:
    """The state after all `events`, applied in order of `at` (ties keep the given order).

    Pass events ordered by their database id so ties resolve as they did when recorded; the
    result then equals the incrementally maintained state exactly (same floats).
    """
    state = initial_state(params)
    for event in sorted(events, key=attrgetter("at")):
        state = apply(state, event, params)
    return state


@dataclass(frozen=True)
class Figures:
    """A worker's rating and reliability just after the moment `at`, and just before it: an
    event's drop (or rise) is `rating_before - rating`, made at once; between events the rating
    only fades back, along a straight line while no penalty runs out."""

    at: datetime
    rating: float
    reliability: float
    rating_before: float
    reliability_before: float


def figures_over_time(
    events: Iterable[Event], params: RatingParams, *, since: datetime | None = None,
    until: datetime | None = None,
) -> list[Figures]:
    """The figures after each event, in the order `replay` applies them: the history a chart
    draws. It is the same fold as `replay`, so the point after the last event is exactly the
    state the worker row stores.

    `since` adds the newcomer's figures (the priors) as a first point, at `since` or at the
    first event if that is earlier; `until` adds a last point with the rating at that moment,
    penalties faded as `rating_at` fades them (a moment before the last event adds nothing).
    """
    state = initial_state(params)
    ordered = sorted(events, key=attrgetter("at"))
    points: list[Figures] = []
    if since is not None:
        # A record imported with its past has events older than the row: the priors then
        # stand at the first event, so the line never runs backwards.
        start = _require_aware(since, "since")
        if ordered and ordered[0].at < start:
            start = ordered[0].at
        points.append(_unchanged(start, state.rating, state.reliability))
    for event in ordered:
        before = rating_at(state, event.at), state.reliability
        state = apply(state, event, params)
        points.append(Figures(event.at, state.rating, state.reliability, *before))
    if until is not None:
        until = _require_aware(until, "until")
        if state.last_event_at is None or until > state.last_event_at:
            points.append(_unchanged(until, rating_at(state, until), state.reliability))
    return points


def _unchanged(at: datetime, rating: float, reliability: float) -> Figures:
    return Figures(at, rating, reliability, rating, reliability)


def _clamp_rating(value: float) -> float:
    return min(MAX_RATING, max(0.0, value))


def rating_at(state: WorkerState, now: datetime) -> float:
    """The rating (0-5) at `now`: quality minus what is left of each penalty.

    Penalties fade with time, so the rating rises between events; a periodic refresh of workers
    with penalties keeps a stored rating current. `now` must not precede the last event.
    """
    now = _require_aware(now, "now")
    if state.last_event_at is not None and now < state.last_event_at:
        raise ValueError("now precedes the worker's last rating event")
    clean_shifts = state.clean_shifts
    pulled = sum(
        (penalty.stars * penalty.share_left(now, clean_shifts) for penalty in state.penalties),
        0.0,
    )
    return _clamp_rating(state.quality - pulled)


def should_suspend(state: WorkerState, now: datetime, params: RatingParams) -> bool:
    """True when the worker has `suspension_no_shows` no-shows within the window ending at `now`.

    Call it right after applying a no-show (with the event's time). Lifting a suspension is a
    recruiter's decision, not this function's.
    """
    now = _require_aware(now, "now")
    window = params.suspension_window
    recent = [moment for moment in state.recent_no_shows if timedelta(0) <= now - moment <= window]
    return len(recent) >= params.suspension_no_shows
