# Russian texts are the point of these tests.
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messaging.segments import (
    GSM_CHARS,
    GSM_EXTENSION_CHARS,
    SegmentInfo,
    count_segments,
    encoding_of,
    estimate_cost,
    gsm_safe,
)

RUSSIAN_64 = "Завтра 08:00, склад на Обводном 12, 6 часов по 100. Ответ ДА K7Q"
RUSSIAN_127 = (
    "Заказ K7Q: завтра 08:00, склад на Обводном 12, грузчики, 6 часов по 100 в час. "
    "Ответьте ДА K7Q или НЕТ K7Q. Вопросы: 8800123456"
)
GSM_ALPHABET = sorted(GSM_CHARS)
NON_GSM = st.characters(codec="utf-8").filter(lambda char: char not in GSM_CHARS)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("", SegmentInfo("GSM-7", 1, 0)),
        ("a" * 160, SegmentInfo("GSM-7", 1, 160)),
        ("a" * 161, SegmentInfo("GSM-7", 2, 161)),
        ("a" * 306, SegmentInfo("GSM-7", 2, 306)),
        ("a" * 307, SegmentInfo("GSM-7", 3, 307)),
        ("Ж" * 70, SegmentInfo("UCS-2", 1, 70)),
        ("Ж" * 71, SegmentInfo("UCS-2", 2, 71)),
        ("Ж" * 134, SegmentInfo("UCS-2", 2, 134)),
        ("Ж" * 135, SegmentInfo("UCS-2", 3, 135)),
        (RUSSIAN_64, SegmentInfo("UCS-2", 1, 64)),
        (RUSSIAN_127, SegmentInfo("UCS-2", 2, 127)),
        ("€", SegmentInfo("GSM-7", 1, 2)),
        ("€" * 80, SegmentInfo("GSM-7", 1, 160)),
        ("€" * 81, SegmentInfo("GSM-7", 2, 162)),
        ("a" * 159 + "[", SegmentInfo("GSM-7", 2, 161)),
        ("😀", SegmentInfo("UCS-2", 1, 2)),
        ("😀" * 35, SegmentInfo("UCS-2", 1, 70)),
        ("😀" * 36, SegmentInfo("UCS-2", 2, 72)),
        ("Δ Φ Γ Λ Ω £ ¥ è é ù ì ò Ç Ø å Æ ß É ¡ ¿ Ä Ö Ñ Ü § ä ö ñ ü à", None),
    ],
)
def test_known_counts(body: str, expected: SegmentInfo | None) -> None:
    info = count_segments(body)
    if expected is None:
        assert info == SegmentInfo("GSM-7", 1, len(body))
    else:
        assert info == expected


def test_russian_fixtures_have_the_lengths_the_contract_names() -> None:
    assert len(RUSSIAN_64) == 64
    assert len(RUSSIAN_127) == 127


def test_extension_character_is_not_split_across_parts() -> None:
    # 152 + 2 + 152 = 306 septets would fit two parts of 153, but the euro cannot straddle the
    # boundary: part one carries 152, part two the euro and 151 letters, part three the last one.
    body = "a" * 152 + "€" + "a" * 152
    assert count_segments(body) == SegmentInfo("GSM-7", 3, 306)
    # Moved one place earlier, it fits at the end of part one and two parts suffice.
    body = "a" * 151 + "€" + "a" * 153
    assert count_segments(body) == SegmentInfo("GSM-7", 2, 306)


def test_surrogate_pair_is_not_split_across_parts() -> None:
    body = "Ж" * 66 + "😀" + "Ж" * 66
    assert count_segments(body) == SegmentInfo("UCS-2", 3, 134)
    body = "Ж" * 65 + "😀" + "Ж" * 67
    assert count_segments(body) == SegmentInfo("UCS-2", 2, 134)


@pytest.mark.parametrize("char", sorted(GSM_EXTENSION_CHARS))
def test_extension_characters_cost_two_septets(char: str) -> None:
    assert count_segments(char) == SegmentInfo("GSM-7", 1, 2)


@pytest.mark.parametrize(
    "body",
    [
        "Hello\u00a0world",  # non-breaking space
        "Don\u2019t be late",  # curly apostrophe
        "8:00\u20139:00",  # en dash
        "ok\u2026",  # ellipsis
        "ç",  # GSM has capital Ç only
        "Привет",
        "\x1b",  # the escape code itself is not a character of the alphabet
        "\t",
    ],
)
def test_one_non_gsm_character_makes_ucs2(body: str) -> None:
    assert encoding_of(body) == "UCS-2"


def test_one_stray_character_triples_the_price_of_a_long_latin_text() -> None:
    latin = "Tomorrow 8:00, warehouse at 12 Harbour Rd, 6 hours at 100 an hour. " * 2
    assert count_segments(latin).segments == 1
    assert count_segments(latin.replace("'", "\u2019") + "\u2019").segments == 3


def test_estimate_cost() -> None:
    assert estimate_cost(3, Decimal("0.0079")) == Decimal("0.0237")
    assert estimate_cost(0, Decimal("0.05")) == Decimal("0")
    with pytest.raises(TypeError):
        estimate_cost(1, 0.05)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="segments"):
        estimate_cost(-1, Decimal("0.05"))


def test_gsm_safe_replaces_typographic_characters() -> None:
    text = "Don\u2019t be late\u00a0\u2014 \u201cK7Q\u201d starts 8:00\u20139:00\u2026"
    safe = gsm_safe(text)
    assert safe == "Don't be late - \"K7Q\" starts 8:00-9:00..."
    assert encoding_of(safe) == "GSM-7"
    assert gsm_safe("zero\u200bwidth\ufeff") == "zerowidth"


@pytest.mark.parametrize(
    "text",
    [
        "Завтра \u2014 \u00abсклад\u00bb\u2026",  # Cyrillic: UCS-2 anyway, left alone
        "Great job \u2014 thanks \U0001f44d",  # an emoji keeps it UCS-2
        "plain ascii stays",
    ],
)
def test_gsm_safe_leaves_texts_it_cannot_make_gsm(text: str) -> None:
    assert gsm_safe(text) == text


@given(st.text(), st.text())
def test_segments_never_decrease_as_text_grows(head: str, tail: str) -> None:
    assert count_segments(head + tail).segments >= count_segments(head).segments


@given(st.text(alphabet=GSM_ALPHABET))
def test_gsm_text_is_never_ucs2(body: str) -> None:
    info = count_segments(body)
    assert info.encoding == "GSM-7"
    assert info.units == len(body) + sum(char in GSM_EXTENSION_CHARS for char in body)


@given(st.text(alphabet=GSM_ALPHABET), NON_GSM, st.integers(min_value=0))
def test_any_non_gsm_character_makes_ucs2(body: str, char: str, position: int) -> None:
    position %= len(body) + 1
    assert count_segments(body[:position] + char + body[position:]).encoding == "UCS-2"


@given(st.text(alphabet="abc 123", min_size=161, max_size=2000))
def test_plain_gsm_multipart_is_153_per_part(body: str) -> None:
    assert count_segments(body).segments == -(-len(body) // 153)


def test_gsm_safe_keeps_an_ellipsis_text_that_would_grow() -> None:
    assert gsm_safe("\u2026" * 70) == "\u2026" * 70


@given(st.text())
def test_gsm_safe_never_makes_a_text_dearer(text: str) -> None:
    assert count_segments(gsm_safe(text)).segments <= count_segments(text).segments
