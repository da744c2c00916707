"""The published rules of ratings: the words, and a worked example computed by the maths.

The words are Markdown templates beside this module (`templates/ratings/rules.md` and
`worked_example.md`, a line ending in a backslash joined to the next); every figure in them is
filled in here from `RatingParams` and from events run through `ratings.scoring`, so the text
cannot drift from the code. docs/ratings.md and the console's "Ratings" page show `explain()`;
`python -m ratings.rules` prints it with the default parameters. The Russian words are in the
`.ru.md` templates beside the English ones, with nouns after counts declined by their number.

Pure: standard library only, no Django.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class _Language:
    """What differs between the languages the rules are published in."""

    suffix: str  # of the template files: rules{suffix}.md
    decimal_mark: str
    months: tuple[str, ...]  # a day's month, as written after its number
    day_format: str  # a day of the month: {day} and {month}
    tiers: tuple[str, str, str, str, str]
    suspended: str
    not_suspended: str
    memory_decays: str
    memory_flat: str


_ENGLISH = _Language(
    suffix="",
    decimal_mark=".",
    months=("January", "February", "March", "April", "May", "June", "July", "August",
            "September", "October", "November", "December"),
    day_format="{day:02d} {month}",
    tiers=(
        "withdraws 30 h before the start",
        "withdraws 12 h before the start",
        "withdraws 1 h before the start",
        "does not come (no-show)",
        "comes on time, and the client scores the shift 1",
    ),
    suspended="the worker is suspended",
    not_suspended="no suspension",
    memory_decays=(
        "a shift {half_life} events ago counts half as much as the latest, and the "
        "record never holds more than {cap} shifts' worth of evidence"
    ),
    memory_flat="every shift ever worked counts the same",
)

_RUSSIAN = _Language(
    suffix=".ru",
    decimal_mark=",",
    months=("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
            "сентября", "октября", "ноября", "декабря"),
    day_format="{day} {month}",
    tiers=(
        "отказывается за 30 ч до начала",
        "отказывается за 12 ч до начала",
        "отказывается за 1 ч до начала",
        "не выходит на смену (неявка)",
        "приходит вовремя, но заказчик ставит за смену 1",
    ),
    suspended="работник отстраняется",
    not_suspended="отстранения нет",
    memory_decays=(
        "смена, отработанная {half_life:событие|события|событий} назад, весит вдвое меньше "
        "последней, а вся история никогда не весит больше, чем {cap:смена|смены|смен}"
    ),
    memory_flat="все когда-либо отработанные смены весят одинаково",
)

LANGUAGES = {"en": _ENGLISH, "ru": _RUSSIAN}


def _language(code: str) -> _Language:
    """The rules' language for a language code ("ru", "ru-RU", "en-gb"); English otherwise."""
    return LANGUAGES.get(code.split("-", maxsplit=1)[0].lower(), _ENGLISH)


class _Count(int):
    """A whole number that a template may write with its noun: `{days:день|дня|дней}` reads
    "1 день", "3 дня", "30 дней" (the Russian forms for 1, for 2-4 and for 5 and more); without
    a format spec it is just the number."""

    def __format__(self, spec: str) -> str:
        if "|" not in spec:
            return int.__format__(self, spec)
        one, few, many = spec.split("|")
        n = abs(int(self))
        if n % 10 == 1 and n % 100 != 11:
            noun = one
        elif 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
            noun = few
        else:
            noun = many
        return f"{int(self)} {noun}"


def _whole(value: float) -> _Count:
    return _Count(round(value))


def _number(value: float, places: int | None, mark: str) -> str:
    """`value` with `places` decimals (None: as Python writes it), `mark` between the whole and
    the fraction."""
    text = str(value) if places is None else f"{value:.{places}f}"
    return text.replace(".", mark)


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


def _worked_example(params: RatingParams, lang: _Language) -> str:
    def _fmt(value: float, places: int = 2) -> str:
        return _number(value, places, lang.decimal_mark)

    def _day(moment: datetime) -> str:
        return lang.day_format.format(day=moment.day, month=lang.months[moment.month - 1])

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

    tiers = zip(
        lang.tiers,
        (withdrawal(30), withdrawal(12), withdrawal(1), after_no_show, after_bad_score),
        strict=True,
    )
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
    return _template(f"worked_example{lang.suffix}.md").format(
        newcomer_reliability=_fmt(newcomer.reliability, 3),
        newcomer_rating=_fmt(newcomer.rating),
        start=_day(start),
        scores=", ".join(str(score) for score in scores),
        shift_memory=_number(params.shift_memory, None, lang.decimal_mark),
        shows_evidence=_fmt(shows_evidence, 3),
        prior_alpha=_fmt(a0),
        prior_shifts=_fmt(n0),
        settled_reliability=_fmt(settled.reliability, 3),
        score_memory=_number(params.score_memory, None, lang.decimal_mark),
        score_evidence=_fmt(score_evidence, 3),
        score_sum=_fmt(score_sum, 3),
        prior_scores=_fmt(m),
        prior_quality=_fmt(q0),
        settled_quality=_fmt(settled.quality),
        settled_rating=_fmt(settled.rating),
        shift=_day(shift),
        tier_rows=tier_rows,
        shows_after=_fmt(shows_after, 3),
        failures_after=_fmt(failures_after, 3),
        no_show_reliability=_fmt(after_no_show.reliability, 3),
        no_show_stars=_fmt(params.no_show_stars),
        no_show_quality=_fmt(after_no_show.quality),
        no_show_rating=_fmt(after_no_show.rating),
        half_clean=_Count(half_clean),
        recovering_rating=_fmt(recovering.rating),
        penalty_clean_shifts=_Count(params.penalty_clean_shifts),
        recovered_rating=_fmt(recovered.rating),
        half_idle_rating=_fmt(rating_at(after_no_show, half_idle_at)),
        half_fade_days=_whole(params.penalty_fade_days / 2),
        idle_rating=_fmt(rating_at(after_no_show, idle_until)),
        fade_days=_whole(params.penalty_fade_days),
        twice_rating=_fmt(twice.rating),
        twice_reliability=_fmt(twice.reliability, 3),
        suspension=lang.suspended if suspended else lang.not_suspended,
        twice_no_shows=_Count(twice.no_shows),
        suspension_window_days=_whole(params.suspension_window_days),
    )


def explain(params: RatingParams, language: str = "en") -> str:
    """The published rules in plain words (Markdown), with a worked example computed here, in
    English or Russian (`language` "ru"); any other language gets English."""
    lang = _language(language)

    def _fmt(value: float, places: int = 2) -> str:
        return _number(value, places, lang.decimal_mark)

    memory = params.shift_memory
    if memory < 1.0:
        half_life = math.log(0.5) / math.log(memory)
        cap = 1.0 / (1.0 - memory)
        memory_words = lang.memory_decays.format(half_life=_whole(half_life), cap=_whole(cap))
    else:
        memory_words = lang.memory_flat
    stars = params.no_show_stars
    late_w = params.late_arrival_weight
    late_cancel_w = params.late_cancel_weight
    very_late_w = params.very_late_cancel_weight
    late_h = _fmt(params.late_cancel_notice_hours, 0)
    very_late_h = _fmt(params.very_late_cancel_notice_hours, 0)
    a0, b0 = params.prior_alpha, params.prior_beta
    q0, m = params.prior_quality, params.prior_scores
    return _template(f"rules{lang.suffix}.md").format(
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
        shift_memory=_number(memory, None, lang.decimal_mark),
        memory_words=memory_words,
        prior_shift_count=_whole(params.prior_shifts),
        prior_show_rate=_fmt(params.prior_show_rate),
        prior_reliability=_fmt(params.prior_show_rate, 3),
        prior_scores=_fmt(m),
        prior_quality=_fmt(q0),
        foreman_weight=_fmt(params.foreman_score_weight),
        client_weight=_fmt(params.client_score_weight),
        prior_score_count=_whole(m),
        score_memory=_number(params.score_memory, None, lang.decimal_mark),
        fade_days=_whole(params.penalty_fade_days),
        penalty_clean_shifts=_Count(params.penalty_clean_shifts),
        max_single_score_drop=_fmt(params.max_single_score_drop),
        suspension_no_shows=_Count(params.suspension_no_shows),
        suspension_window_days=_whole(params.suspension_window_days),
        worked_example=_worked_example(params, lang),
    )


if __name__ == "__main__":
    print(explain(RatingParams()), end="")
