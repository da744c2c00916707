"""How many SMS segments a text costs, and how to keep Latin texts cheap.

Pure: no Django import. Twilio (like every carrier) bills per segment, so the numbers here
are money:

* A text is GSM-7 only if *every* character is in the GSM 03.38 basic set or its extension
  table. One character outside it (a curly quote, a non-breaking space, an emoji, any Cyrillic
  letter) makes the *whole* message UCS-2, which fits 70 characters instead of 160.
* Cyrillic is always UCS-2: a Russian offer costs a segment per 67 characters once it is longer
  than 70 (a 64-character offer is 1 segment, a 127-character one is 2).
* A long message is split into parts that carry a 6-byte header, leaving 153 septets (GSM-7) or
  67 UTF-16 code units (UCS-2) per part.
* GSM extension characters (``^{}\\[~]|€`` and form feed) take two septets each; an emoji outside
  the Basic Multilingual Plane takes two UTF-16 code units.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal, NamedTuple

Encoding = Literal["GSM-7", "UCS-2"]

GSM_7: Encoding = "GSM-7"
UCS_2: Encoding = "UCS-2"

# GSM 03.38 default alphabet, in table order. The escape code 0x1B is deliberately absent: it is
# the prefix of the extension table, not a character a text can contain.
GSM_BASIC_CHARS = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Sent as ESC + char: two septets each.
GSM_EXTENSION_CHARS = frozenset("\f^{}\\[~]|€")
GSM_CHARS = GSM_BASIC_CHARS | GSM_EXTENSION_CHARS

GSM_SINGLE_UNITS = 160
GSM_PART_UNITS = 153
UCS2_SINGLE_UNITS = 70
UCS2_PART_UNITS = 67


class SegmentInfo(NamedTuple):
    """The cost of one text: its encoding, billed segments and units (septets or UTF-16 units)."""

    encoding: Encoding
    segments: int
    units: int


def encoding_of(body: str) -> Encoding:
    """Return ``"GSM-7"`` if every character is in the GSM 03.38 basic or extension set,
    else ``"UCS-2"``. The empty text is GSM-7."""
    return GSM_7 if set(body) <= GSM_CHARS else UCS_2


def _unit_costs(body: str, encoding: Encoding) -> list[int]:
    if encoding == GSM_7:
        return [2 if char in GSM_EXTENSION_CHARS else 1 for char in body]
    # Characters beyond U+FFFF travel as a UTF-16 surrogate pair. A lone surrogate (only possible
    # in a malformed str) is counted as the one code unit it would occupy.
    return [2 if ord(char) > 0xFFFF else 1 for char in body]


def count_segments(body: str) -> SegmentInfo:
    """Count the billed segments of ``body``.

    Contract: GSM-7 fits 160 septets in one segment and 153 per part of a multipart message;
    UCS-2 fits 70 UTF-16 code units, 67 per part. An empty body is one segment. A part never
    splits an extension character from its escape, nor a surrogate pair, so a part may carry one
    unit less than its capacity; ``units`` is the total without that padding.
    """
    encoding = encoding_of(body)
    costs = _unit_costs(body, encoding)
    units = sum(costs)
    single, per_part = (
        (GSM_SINGLE_UNITS, GSM_PART_UNITS) if encoding == GSM_7 else
        (UCS2_SINGLE_UNITS, UCS2_PART_UNITS)
    )
    if units <= single:
        return SegmentInfo(encoding, 1, units)
    parts, filled = 1, 0
    for cost in costs:
        if filled + cost > per_part:
            parts += 1
            filled = 0
        filled += cost
    return SegmentInfo(encoding, parts, units)


def estimate_cost(segments: int, price_per_segment: Decimal) -> Decimal:
    """Return ``segments * price_per_segment``, exact (no rounding).

    Raises ValueError for a negative segment count and TypeError for a float price (binary
    floats are not money).
    """
    if segments < 0:
        raise ValueError(f"segments must be >= 0, got {segments}")
    if isinstance(price_per_segment, float):
        raise TypeError("price_per_segment must be a Decimal, not a float")
    return Decimal(segments) * Decimal(price_per_segment)


_SPACE = " "
_APOSTROPHE = "'"
_QUOTE = '"'
_HYPHEN = "-"

# Typographic characters that editors and phones insert on their own. Each one is outside GSM-7,
# so a single one turns a 150-character Latin offer into a 3-segment UCS-2 message: three
# times the price for an invisible difference.
_GSM_SUBSTITUTES: dict[int, str] = {
    **dict.fromkeys(map(ord, "\t\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
                             "\u2008\u2009\u200a\u202f\u205f\u3000"), _SPACE),
    # Invisible characters: dropping them changes nothing a reader sees.
    **dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"), ""),
    **dict.fromkeys(map(ord, "\u2018\u2019\u201a\u201b\u2032`\u00b4"), _APOSTROPHE),
    **dict.fromkeys(map(ord, "\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb"), _QUOTE),
    **dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"), _HYPHEN),
    ord("\u2026"): "...",
}


def gsm_safe(text: str) -> str:
    """Replace typographic characters (non-breaking and other special spaces, curly quotes and
    guillemets, en/em dashes and the minus sign, the ellipsis, zero-width characters) with their
    GSM-7 equivalents, so a Latin text stays GSM-7.

    Contract: letters are never changed, and the result never costs more segments than the
    input. If the text would still be UCS-2 after the replacement (it has Cyrillic or an emoji,
    for example), it is returned unchanged: replacing would save nothing, and expanding ``…`` to
    ``...`` would only add units.
    """
    replaced = text.translate(_GSM_SUBSTITUTES)
    if replaced == text or encoding_of(replaced) != GSM_7:
        return text
    # Only an ellipsis-heavy text could grow past its UCS-2 price; keep the cheaper one.
    return replaced if count_segments(replaced).segments <= count_segments(text).segments else text
