# Cyrillic letters that look like Latin ones are the subject here, not a typo.
"""The SMS reply grammar (CONTRACT.md §3): what a worker's text means.

Pure: no Django import, never raises. ``parse`` turns any text into a ``Command``; deciding what
the command does (which offer a bare ``YES`` answers, whether a lone ``YES`` from an opted-out
number is an opt-in) is the caller's job.

How a text is read:

1. Only the first ``MAX_EXAMINED_CHARS`` characters are examined (an SMS concatenates to at most
   1,600). The text is NFC-normalised, then split into tokens: runs of letters and digits, and
   the single symbols ``+``, ``-`` and ``?`` (typographic dashes and full-width forms count as
   these). Everything else (spaces, newlines, punctuation, emoji, NUL, lone surrogates)
   separates tokens and is otherwise ignored.
2. Each token is NFKC-normalised (full-width ``ＹＥＳ`` is ``YES``), upper-cased and *folded*:
   Cyrillic letters that look like Latin ones (А В Е Ё К М Н О Р С Т У Х) become those Latin
   letters. Keywords and codes are compared folded, so ``ДА К7Q`` typed on a Cyrillic keyboard,
   ``ок``, or ``НЕT`` with a Latin T all read as intended.
3. If the whole text, with separators and symbols after the first word removed and a repeated
   token counted once, is one of ``LONE_WORDS`` or ``CODE_WORDS`` (``STOP``, ``Stop!``,
   ``opt-out``, ``STOP ALL``, ``yes yes``, ``+``), it is that word alone.
4. Otherwise the first token decides: ``HELP_WORDS`` ignore what follows; ``JOIN_WORDS`` take
   the rest of the original text as the name; ``CODE_WORDS`` take exactly one order code after
   them (further ``+``/``-``/``?`` symbols and repeats of a word of the same meaning, as in
   ``YES OK K7Q``, are ignored).

Decisions where the contract is silent:

* ``CANCEL`` and ``ОТМЕНА`` alone are opt-outs; followed by a code they withdraw from that
  booking. Followed by anything else (``CANCEL PLEASE``) the text is UNKNOWN: neither an opt-out
  nor a withdrawal is done on a guess.
* Opt-out and opt-in words count only alone (``STOP K7Q`` is UNKNOWN), as Twilio itself treats
  them; so does a text that only *contains* STOP.
* A lone ``YES`` (or any accept word) is ``ACCEPT`` without a code. The caller treats a lone
  ``YES`` (``is_lone_yes``, the word itself, not ``OK`` or ``ДА``) as an opt-in when the number
  is opted out, as Twilio does.
* A word that takes a code may come without one: ``YES``/``NO`` apply to the worker's only open
  offer, and ``HERE``/``APPEAL`` without a code are returned as such for the caller to resolve
  or answer with help.
* Exactly one code token may follow the word. A token that is not a valid code (``YES HELLO``),
  or more than one (``YES K7Q THANKS``), makes the text UNKNOWN, so a reply is never applied
  to an order the worker did not name. Codes are not assembled from several tokens. The
  exception is ``APPEAL``: after its code comes the worker's reason, in any words
  (``APPEAL K7Q I was there at 9``); the reason is in ``text``.
* A code glued to its word is recognised only when the word is a digit that cannot occur in a
  code (``1K7Q``, ``0K7Q``); ``+K7Q`` and ``-K7Q`` split anyway. Letters glued to a code are
  ambiguous (``YESK7Q`` could be ``Y`` + ``ESK7Q``) and read as UNKNOWN.
* Look-alike mapping never repairs an ambiguous character: the alphabet has neither O nor 0,
  neither I, L nor 1, so there is nothing to map them to. A code containing one (or a Cyrillic
  О, which folds to O) is invalid, and the text UNKNOWN.
* ``JOIN`` without a name is ``JOIN`` with ``name=None``. The name keeps its original case and
  inner spacing; leading and trailing spaces, punctuation and emoji are trimmed and control
  characters (NUL included) removed.
* ``INFO`` is a help word too (Twilio treats it so).
* Codes that spell a keyword after folding (``YES``, ``NET``, ``HERE``, ``END``, ``START``...) are
  in ``RESERVED_CODES``: never generated and never valid, so ``YES YES`` cannot name an order.
"""

from __future__ import annotations

import enum
import random
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

MAX_EXAMINED_CHARS = 1600

# Order codes avoid characters people confuse when reading a text aloud or typing it back:
# no 0/O, no 1/I/L.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_MIN_LENGTH = 3
CODE_MAX_LENGTH = 5


class CommandKind(enum.StrEnum):
    """What a reply asks for. The values are stable strings, safe to store."""

    ACCEPT = "accept"
    DECLINE = "decline"
    CHECK_IN = "check_in"
    WITHDRAW = "withdraw"
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    APPEAL = "appeal"
    JOIN = "join"
    HELP = "help"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed reply. ``code`` is a valid, upper-case Latin order code or None; ``name`` is set
    only for JOIN; ``text`` is the original body, unchanged."""

    kind: CommandKind
    code: str | None = None
    name: str | None = None
    text: str = ""


# --- Grammar tables. A new language is a new set of entries here; spell words naturally, they
# are folded (upper-cased, Cyrillic look-alikes mapped to Latin) when the lookup tables are built.

# Words that may be followed by one order code.
CODE_WORDS: Mapping[str, CommandKind] = {
    **dict.fromkeys(("YES", "Y", "1", "+", "OK", "DA", "ДА"), CommandKind.ACCEPT),
    **dict.fromkeys(("NO", "N", "0", "-", "NET", "НЕТ"), CommandKind.DECLINE),
    **dict.fromkeys(("HERE", "ТУТ"), CommandKind.CHECK_IN),
    **dict.fromkeys(("CANCEL", "ОТМЕНА"), CommandKind.WITHDRAW),
    "APPEAL": CommandKind.APPEAL,
}
# Words that mean something only alone; they win over CODE_WORDS when nothing follows.
LONE_WORDS: Mapping[str, CommandKind] = {
    **dict.fromkeys(
        ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT",
         "СТОП", "ОТМЕНА"),
        CommandKind.OPT_OUT,
    ),
    **dict.fromkeys(("START", "UNSTOP", "СТАРТ"), CommandKind.OPT_IN),
}
# Words that ask for help whatever follows them.
HELP_WORDS: frozenset[str] = frozenset({"HELP", "INFO", "ПОМОЩЬ", "?"})
# Words after which the rest of the text is the applicant's name.
JOIN_WORDS: frozenset[str] = frozenset({"JOIN"})

# Cyrillic capitals that look like Latin ones. Workers copying a code from an SMS on a Cyrillic
# keyboard type these; Ё is folded with Е because many keyboards make them one key.
LOOKALIKES: Mapping[str, str] = {
    "А": "A", "В": "B", "Е": "E", "Ё": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
    "С": "C", "Т": "T", "У": "Y", "Х": "X",
}
_FOLD = str.maketrans(dict(LOOKALIKES))

_PLUS = "+\uff0b\ufe62\u207a"
_MINUS = "\\-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"
_QUESTION = "?\uff1f\ufe56"
_TOKEN = re.compile(rf"(?P<word>[^\W_]+)|(?P<plus>[{_PLUS}])|(?P<minus>[{_MINUS}])"
                    rf"|(?P<question>[{_QUESTION}])")
_SYMBOLS = {"plus": "+", "minus": "-", "question": "?"}


def _fold(word: str) -> str:
    return unicodedata.normalize("NFKC", word).upper().translate(_FOLD)


def _folded_table(table: Mapping[str, CommandKind]) -> dict[str, CommandKind]:
    folded: dict[str, CommandKind] = {}
    for word, kind in table.items():
        key = _fold(word)
        if folded.get(key, kind) != kind:
            raise ValueError(f"grammar word {word!r} folds to {key!r}, already another meaning")
        folded[key] = kind
    return folded


def _folded_set(words: Iterable[str]) -> frozenset[str]:
    return frozenset(_fold(word) for word in words)


_CODE_WORDS = _folded_table(CODE_WORDS)
_LONE_WORDS = _folded_table(LONE_WORDS)
_HELP_WORDS = _folded_set(HELP_WORDS)
_JOIN_WORDS = _folded_set(JOIN_WORDS)
# A code that reads as a keyword would make "YES YES" ambiguous; such codes are never issued.
RESERVED_CODES: frozenset[str] = frozenset(
    {*_CODE_WORDS, *_LONE_WORDS, *_HELP_WORDS, *_JOIN_WORDS}
)
# Keywords that can be glued to a code: every character is a digit outside the code alphabet,
# so where the keyword ends is never in doubt ("1K7Q").
_GLUEABLE_WORDS = {
    word: kind for word, kind in _CODE_WORDS.items()
    if word.isdigit() and not set(word) & set(ALPHABET)
}
_ALPHABET_SET = frozenset(ALPHABET)


def is_valid_code(code: str) -> bool:
    """True if ``code`` is exactly a valid order code: 3-5 characters of ``ALPHABET`` (upper
    case, Latin) and not a grammar keyword such as ``YES``. No normalisation is applied."""
    return (
        CODE_MIN_LENGTH <= len(code) <= CODE_MAX_LENGTH
        and set(code) <= _ALPHABET_SET
        and code not in RESERVED_CODES
    )


def normalize_code(raw: str) -> str | None:
    """Return the order code a worker meant by ``raw`` (case, full-width forms and Cyrillic
    look-alikes forgiven), or None if it is not a valid code."""
    try:
        code = _fold(raw.strip())
    except Exception:  # a code lookup must never crash on odd input
        return None
    return code if is_valid_code(code) else None


def generate_code(rng: random.Random, length: int = 3) -> str:
    """Draw a valid order code of ``length`` (3-5) characters from ``rng``. Uniqueness among open
    orders is the caller's job (draw again on a clash)."""
    if not CODE_MIN_LENGTH <= length <= CODE_MAX_LENGTH:
        raise ValueError(f"code length must be {CODE_MIN_LENGTH}-{CODE_MAX_LENGTH}, got {length}")
    while True:
        code = "".join(rng.choice(ALPHABET) for _ in range(length))
        if code not in RESERVED_CODES:
            return code


@dataclass(frozen=True, slots=True)
class _Token:
    value: str  # folded word, or "+", "-", "?"
    end: int  # offset just past the token in the examined text
    is_symbol: bool


def _tokenize(text: str) -> list[_Token]:
    tokens = []
    for match in _TOKEN.finditer(text):
        group = match.lastgroup or "word"
        if group == "word":
            tokens.append(_Token(_fold(match.group()), match.end(), is_symbol=False))
        else:
            tokens.append(_Token(_SYMBOLS[group], match.end(), is_symbol=True))
    return tokens


def _clean_name(raw: str) -> str | None:
    kept = "".join(char for char in raw if unicodedata.category(char) != "Cc")
    start, end = 0, len(kept)
    while start < end and not kept[start].isalnum():
        start += 1
    while end > start and not kept[end - 1].isalnum():
        end -= 1
    return kept[start:end] or None


def _without_code(kind: CommandKind, word: str, text: str) -> Command:
    # A word with a meaning of its own when alone (CANCEL: opt out) takes that meaning.
    return Command(_LONE_WORDS.get(word, kind), text=text)


def _with_code(kind: CommandKind, word: str, rest: list[_Token], text: str) -> Command:
    if kind == CommandKind.APPEAL:
        words = [token for token in rest if not token.is_symbol]
        if words and is_valid_code(words[0].value):
            # A dispute comes with its reason: "APPEAL K7Q I was there from 9".
            return Command(kind, code=words[0].value, text=text)
    remaining = [
        token for token in rest
        if not token.is_symbol and _CODE_WORDS.get(token.value) != kind
    ]
    if not remaining:
        return _without_code(kind, word, text)
    if len(remaining) == 1 and is_valid_code(remaining[0].value):
        return Command(kind, code=remaining[0].value, text=text)
    return Command(CommandKind.UNKNOWN, text=text)


def _as_one_word(tokens: list[_Token]) -> str:
    """The text read as a single word: symbols after the first word dropped ("OPT-OUT", "STOP?"),
    a repeated token counted once ("STOP STOP"). Leading symbols stay: "-1" is not "1"."""
    values: list[str] = []
    seen_word = False
    for token in tokens:
        if token.is_symbol and seen_word:
            continue
        seen_word = seen_word or not token.is_symbol
        if not values or values[-1] != token.value:
            values.append(token.value)
    return "".join(values)


def _parse(body: str) -> Command:  # noqa: PLR0911 - one return per grammar rule
    examined = unicodedata.normalize("NFC", body[:MAX_EXAMINED_CHARS])
    tokens = _tokenize(examined)
    if not tokens:
        return Command(CommandKind.UNKNOWN, text=body)

    alone = _as_one_word(tokens)
    if alone in _LONE_WORDS:
        return Command(_LONE_WORDS[alone], text=body)
    if alone in _CODE_WORDS:
        return Command(_CODE_WORDS[alone], text=body)

    first, rest = tokens[0], tokens[1:]
    if first.value in _HELP_WORDS:
        return Command(CommandKind.HELP, text=body)
    if first.value in _JOIN_WORDS:
        return Command(CommandKind.JOIN, name=_clean_name(examined[first.end:]), text=body)
    if first.value in _CODE_WORDS:
        return _with_code(_CODE_WORDS[first.value], first.value, rest, body)
    only_symbols_follow = all(token.is_symbol for token in rest)
    for word, kind in _GLUEABLE_WORDS.items():
        glued = first.value.removeprefix(word)
        if glued != first.value and is_valid_code(glued) and only_symbols_follow:
            return Command(kind, code=glued, text=body)
    return Command(CommandKind.UNKNOWN, text=body)


def is_lone_yes(body: str) -> bool:
    """True if the text is the word YES alone (any case, punctuation around it ignored): the
    one accept word Twilio also takes as an opt-in. ``OK``, ``1`` or ``ДА`` alone are not."""
    try:
        tokens = _tokenize(unicodedata.normalize("NFC", body[:MAX_EXAMINED_CHARS]))
        words = {token.value for token in tokens if not token.is_symbol}
        letters = "".join(char for char in body if char.isalpha())
    except Exception:  # like parse: odd input is simply not YES
        return False
    return words == {"YES"} and letters.upper().replace("YES", "") == ""


def parse(body: str) -> Command:
    """Parse an inbound SMS body into a Command. Never raises: any input that cannot be read
    (including a non-str) is UNKNOWN, with ``text`` holding the body as given."""
    try:
        return _parse(body)
    except Exception:  # an unreadable SMS is UNKNOWN, never a crashed webhook
        return Command(CommandKind.UNKNOWN, text=body if isinstance(body, str) else repr(body))
