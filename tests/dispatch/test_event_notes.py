"""The notes dispatch writes on rating events come apart again (pure: runs without Django)."""

import string

from hypothesis import given
from hypothesis import strategies as st

from dispatch.event_notes import Note, NoteRead, note_read, note_write

BLANKS = {
    "code": st.text(alphabet=string.ascii_uppercase + string.digits, min_size=1, max_size=6),
    "status": st.sampled_from(["present", "late", "no_show"]),
    "source": st.sampled_from(["foreman", "client"]),
    "score": st.integers(1, 5).map(str),
}


@st.composite
def written(draw: st.DrawFn) -> tuple[Note, dict[str, str]]:
    note = draw(st.sampled_from(list(Note)))
    names = [name for _, name, _, _ in string.Formatter().parse(note.value) if name]
    return note, {name: draw(BLANKS[name]) for name in names}


@given(written())
def test_a_written_note_is_read_back_as_itself(case: tuple[Note, dict[str, str]]) -> None:
    note, blanks = case
    assert note_read(note_write(note, **blanks)) == NoteRead(note, blanks)


def test_words_dispatch_did_not_write_are_no_note() -> None:
    for text in ("", "Came drunk; sent home", "present on K7Q (typo)", "no-show on"):
        assert note_read(text) is None
