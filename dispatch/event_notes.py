"""The notes dispatch writes on rating events, written and read back in one place.

A note is stored as words (the API and the audit history show it as written); pages take one
apart with `note_read` and say it in the reader's language. Pure: no ORM.
"""

import re
from dataclasses import dataclass
from enum import StrEnum


class Note(StrEnum):
    """What a note says, as its English pattern."""

    NO_SHOW = "no-show on {code}"
    WITHDREW = "withdrew from {code}"
    ATTENDANCE = "{status} on {code}"
    ATTENDANCE_CORRECTION = "{status} on {code} (correction)"
    CORRECTED = "corrected to {status}"
    REVERSED_ON_APPEAL = "reversed on appeal"
    SCORE_REPLACED = "replaced by {source} score {score}"
    SCORE = "{source} score on {code}"


# What may stand in each blank.
_BLANKS = {
    "code": r"(?P<code>[A-Za-z0-9]+)",
    "status": r"(?P<status>present|late|no_show)",
    "source": r"(?P<source>foreman|client)",
    "score": r"(?P<score>\d+)",
}


def _pattern(note: Note) -> re.Pattern[str]:
    pieces = re.split(r"\{(\w+)\}", note.value)
    return re.compile("".join(
        _BLANKS[piece] if index % 2 else re.escape(piece) for index, piece in enumerate(pieces)
    ))


# Longest first: an attendance correction is not read as a plain attendance note.
_PATTERNS = sorted(((note, _pattern(note)) for note in Note),
                   key=lambda pair: -len(pair[0].value))


def note_write(note: Note, **blanks: object) -> str:
    """The note's words with its blanks filled."""
    return note.value.format(**blanks)


@dataclass(frozen=True)
class NoteRead:
    note: Note
    blanks: dict[str, str]


def note_read(text: str) -> NoteRead | None:
    """Which note `text` is and what fills its blanks; None for words dispatch did not write
    (a person's note)."""
    for note, pattern in _PATTERNS:
        found = pattern.fullmatch(text)
        if found is not None:
            return NoteRead(note, found.groupdict())
    return None
