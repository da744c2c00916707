# Cyrillic letters that look like Latin ones are the subject here, not a typo.
import random
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from messaging.grammar import (
    ALPHABET,
    CODE_WORDS,
    HELP_WORDS,
    LONE_WORDS,
    MAX_EXAMINED_CHARS,
    RESERVED_CODES,
    Command,
    CommandKind,
    generate_code,
    is_lone_yes,
    is_valid_code,
    normalize_code,
    parse,
)

K = CommandKind

ACCEPT_WORDS = ["YES", "Y", "1", "+", "OK", "DA", "ДА"]
DECLINE_WORDS = ["NO", "N", "0", "-", "NET", "НЕТ"]
OPT_OUT_WORDS = [
    "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "СТОП", "ОТМЕНА",
]
OPT_IN_WORDS = ["START", "UNSTOP", "СТАРТ"]
HELP_FORMS = ["HELP", "ПОМОЩЬ", "?", "help", "Помощь!", "HELP me please", "info"]

WORDS_WITH_CODE = (
    [(word, K.ACCEPT) for word in ACCEPT_WORDS]
    + [(word, K.DECLINE) for word in DECLINE_WORDS]
    + [("HERE", K.CHECK_IN), ("ТУТ", K.CHECK_IN)]
    + [("CANCEL", K.WITHDRAW), ("ОТМЕНА", K.WITHDRAW)]
    + [("APPEAL", K.APPEAL)]
)
# How phones and people actually write "<word> <code>".
LAYOUTS = [
    "{word} {code}",
    "{word}  {code}",
    "{word},{code}",
    "{word}, {code}!",
    "{word}-{code}",
    "{word}: {code}.",
    "  {word}\n{code}\n",
    "\t{word} {code} \U0001f44d",
    "{word} \u00ab{code}\u00bb",
    "{word}\u3000{code}\uff01",
]
CASES = [str.upper, str.lower, str.title]


def _parsed(text: str) -> tuple[CommandKind, str | None]:
    command = parse(text)
    return command.kind, command.code


@pytest.mark.parametrize(("word", "kind"), WORDS_WITH_CODE)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", CASES, ids=["upper", "lower", "title"])
def test_word_with_code(word: str, kind: CommandKind, layout: str, case) -> None:
    text = case(layout.format(word=word, code="K7Q"))
    assert _parsed(text) == (kind, "K7Q")


@pytest.mark.parametrize(("word", "kind"), WORDS_WITH_CODE)
@pytest.mark.parametrize(
    "code",
    [
        "К7Q",  # Cyrillic К
        "к7q",
        "МНР",  # all Cyrillic look-alikes: MHP
        "ВЕС",  # BEC
        "ТАХУ",  # TAXY
        "Ｋ７Ｑ",  # full width
    ],
)
def test_cyrillic_lookalikes_and_full_width_in_codes(
    word: str, kind: CommandKind, code: str
) -> None:
    command = parse(f"{word} {code}")
    assert command.kind == kind
    assert command.code == normalize_code(code)
    assert command.code is not None
    assert is_valid_code(command.code)


@pytest.mark.parametrize(("word", "kind"), [(w, k) for w, k in WORDS_WITH_CODE if k in (
    K.ACCEPT, K.DECLINE, K.CHECK_IN, K.APPEAL)])
@pytest.mark.parametrize("case", CASES, ids=["upper", "lower", "title"])
@pytest.mark.parametrize("layout", ["{word}", " {word} ", "{word}!", "{word}.\n", "{word} {word}"])
def test_word_without_code(word: str, kind: CommandKind, case, layout: str) -> None:
    assert _parsed(case(layout.format(word=word))) == (kind, None)


@pytest.mark.parametrize("word", OPT_OUT_WORDS)
@pytest.mark.parametrize("layout", ["{word}", "{word}.", " {word}\n", "{word}!!", "{word} {word}"])
@pytest.mark.parametrize("case", CASES, ids=["upper", "lower", "title"])
def test_opt_out_words_alone(word: str, layout: str, case) -> None:
    assert _parsed(case(layout.format(word=word))) == (K.OPT_OUT, None)


@pytest.mark.parametrize("text", ["opt-out", "Opt out", "STOP ALL", "S.T.O.P", "Стоп!"])
def test_opt_out_spelled_loosely(text: str) -> None:
    assert parse(text).kind == K.OPT_OUT


@pytest.mark.parametrize("word", OPT_IN_WORDS)
@pytest.mark.parametrize("case", CASES, ids=["upper", "lower", "title"])
def test_opt_in_words(word: str, case) -> None:
    assert _parsed(case(word)) == (K.OPT_IN, None)
    assert _parsed(case(f" {word}! ")) == (K.OPT_IN, None)


@pytest.mark.parametrize(
    "text",
    [
        "STOP K7Q",  # opt-out words count only alone
        "STOP sending me this",
        "START K7Q",
        "CANCEL PLEASE",  # neither opt-out nor withdrawal on a guess
        "ОТМЕНА пожалуйста",
        "YES HELLO",  # HELLO has L: not a code, so never an accept of "something"
        "YES K7Q THANKS",  # one code only
        "YES K7Q M4X",
        "YES N K7Q",
        "NO ABCDEF",  # too long for a code
        "YES AB",  # too short
        "yes ko7",  # Latin O is not in the alphabet
        "ДА КО7",  # nor is a Cyrillic О (folds to O)
        "YES K0Q",  # zero
        "YES KIQ",
        "YES K1Q",
        "YES KLQ",
        "YESK7Q",  # letters glued to a code: Y + ESK7Q or YES + K7Q?
        "ДАK7Q",
        "10",
        "-1",
        "K7Q",  # a bare code says nothing
        "hello",
        "",
        "   \n\t",
        "\U0001f44d",
        "!!!",
        "\x00",
    ],
)
def test_unknown(text: str) -> None:
    command = parse(text)
    assert command == Command(K.UNKNOWN, text=text)


@pytest.mark.parametrize("text", HELP_FORMS)
def test_help(text: str) -> None:
    assert parse(text).kind == K.HELP


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("JOIN Ivan Petrov", "Ivan Petrov"),
        ("join Ivan Petrov", "Ivan Petrov"),
        ("  Join:  Иван   Петров  \n", "Иван   Петров"),
        ("JOIN ivan petrov!", "ivan petrov"),
        ("JOIN - Anna-Maria O'Neil \U0001f44d", "Anna-Maria O'Neil"),
        ("JOIN Iv\x00an", "Ivan"),
        ("JOIN", None),
        ("join!!", None),
    ],
)
def test_join(text: str, name: str | None) -> None:
    assert parse(text) == Command(K.JOIN, name=name, text=text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1K7Q", (K.ACCEPT, "K7Q")),
        ("1k7q", (K.ACCEPT, "K7Q")),
        ("0K7Q", (K.DECLINE, "K7Q")),
        ("0K7Q!", (K.DECLINE, "K7Q")),
        ("+K7Q", (K.ACCEPT, "K7Q")),
        ("-K7Q", (K.DECLINE, "K7Q")),
        ("+1", (K.ACCEPT, None)),
        ("ок", (K.ACCEPT, None)),  # Cyrillic letters that look like OK
        ("У K7Q", (K.ACCEPT, "K7Q")),  # Y typed on a Cyrillic keyboard
        ("НЕT K7Q", (K.DECLINE, "K7Q")),  # mixed scripts
        ("YES OK K7Q", (K.ACCEPT, "K7Q")),
        ("Да да", (K.ACCEPT, None)),
        ("CANCEL CANCEL", (K.OPT_OUT, None)),
        ("\ufeffYES K7Q", (K.ACCEPT, "K7Q")),
        ("YES\u00a0K7Q", (K.ACCEPT, "K7Q")),
        ("Yes \u2014 K7Q", (K.ACCEPT, "K7Q")),
        ("\u2212 K7Q", (K.DECLINE, "K7Q")),  # a minus sign
        ("\uff0bK7Q", (K.ACCEPT, "K7Q")),  # a full-width plus
        ("YES K7Q" + "\x00", (K.ACCEPT, "K7Q")),
        ("YES 23456", (K.ACCEPT, "23456")),
    ],
)
def test_forgiving_forms(text: str, expected: tuple[CommandKind, str | None]) -> None:
    assert _parsed(text) == expected


def test_command_keeps_the_original_text() -> None:
    text = "  Yes, k7q!\n"
    assert parse(text) == Command(K.ACCEPT, code="K7Q", text=text)


@pytest.mark.parametrize("word", sorted(CODE_WORDS))
def test_every_code_word_in_the_table_parses(word: str) -> None:
    kind = CODE_WORDS[word]
    assert _parsed(f"{word} K7Q") == (kind, "K7Q")
    assert parse(word).kind == LONE_WORDS.get(word, kind)


@pytest.mark.parametrize("word", sorted(LONE_WORDS))
def test_every_lone_word_in_the_table_parses(word: str) -> None:
    assert parse(word).kind == LONE_WORDS[word]


@pytest.mark.parametrize("word", sorted(HELP_WORDS))
def test_every_help_word_in_the_table_parses(word: str) -> None:
    assert parse(word).kind == K.HELP


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("K7Q", True),
        ("23456", True),
        ("ABCD", True),
        ("k7q", False),  # is_valid_code is strict; normalize_code forgives
        ("K0Q", False),
        ("KOQ", False),
        ("K1Q", False),
        ("KIQ", False),
        ("KLQ", False),
        ("AB", False),
        ("ABCDEF", False),
        ("", False),
        ("YES", False),  # reads as a keyword
        ("HERE", False),
        ("NET", False),
        ("START", False),
    ],
)
def test_is_valid_code(code: str, valid: bool) -> None:
    assert is_valid_code(code) is valid


def test_alphabet_has_no_ambiguous_characters() -> None:
    assert not set("0O1IL") & set(ALPHABET)
    assert len(set(ALPHABET)) == len(ALPHABET) == 31


@pytest.mark.parametrize("length", [3, 4, 5])
def test_generated_codes_are_valid_and_round_trip(length: int) -> None:
    rng = random.Random(length)
    for _ in range(2000):
        code = generate_code(rng, length)
        assert len(code) == length
        assert is_valid_code(code)
        assert code not in RESERVED_CODES
        assert _parsed(f"yes {code.lower()}") == (K.ACCEPT, code)


def test_generate_code_is_reproducible_and_checks_length() -> None:
    assert generate_code(random.Random(7)) == generate_code(random.Random(7))
    with pytest.raises(ValueError, match="3-5"):
        generate_code(random.Random(7), 6)


def test_huge_input_is_cheap_and_kept_whole() -> None:
    body = "YES K7Q " + "spam " * 400_000
    started = time.perf_counter()
    command = parse(body)
    assert time.perf_counter() - started < 0.5
    assert command.kind == K.UNKNOWN
    assert command.text is body
    # Only the examined prefix matters.
    assert parse("YES K7Q" + " " * (MAX_EXAMINED_CHARS + 10) + "THANKS").code == "K7Q"


@pytest.mark.parametrize("body", [None, 42, b"YES K7Q"])
def test_non_str_input_is_unknown_not_an_error(body: object) -> None:
    assert parse(body).kind == K.UNKNOWN  # type: ignore[arg-type]


# Lone surrogates (from surrogateescape-decoded bytes) and control characters included.
ODD_TEXT = st.text(
    st.characters(categories=["Cs", "Cc", "Cf", "Lu", "Ll", "Lo", "Mn", "Nd", "No", "Zs", "Po",
                              "Pd", "Sm", "So"]),
    max_size=3000,
)


@given(st.one_of(st.text(max_size=3000), ODD_TEXT))
def test_parse_never_raises(text: str) -> None:
    command = parse(text)
    assert command.text is text
    assert command.code is None or is_valid_code(command.code)
    if command.name is not None:
        assert command.kind == K.JOIN
        assert command.name.strip() == command.name


@settings(max_examples=300)
@given(st.binary(max_size=400))
def test_parse_never_raises_on_decoded_bytes(raw: bytes) -> None:
    for errors in ("replace", "surrogateescape"):
        text = raw.decode("utf-8", errors=errors)
        assert parse(text).text == text


@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127)))
def test_case_does_not_matter_for_ascii(text: str) -> None:
    upper, lower = parse(text.upper()), parse(text.lower())
    assert (upper.kind, upper.code) == (lower.kind, lower.code)


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126)))
def test_surrounding_whitespace_does_not_matter(text: str) -> None:
    plain, padded = parse(text), parse(f" \n\t{text}\r\n ")
    assert (plain.kind, plain.code, plain.name) == (padded.kind, padded.code, padded.name)


@given(st.sampled_from(WORDS_WITH_CODE), st.sampled_from(LAYOUTS), st.integers(3, 5), st.randoms())
def test_any_generated_code_is_read_back(word_kind, layout: str, length: int, rng) -> None:
    word, kind = word_kind
    code = generate_code(rng, length)
    assert _parsed(layout.format(word=word, code=code)) == (kind, code)


# --- A lone YES, the one accept word that is also Twilio's opt-in ---------------------------------


@pytest.mark.parametrize("text", ["YES", "yes", " Yes! ", "yes.", "YES YES", "\u00abyes\u00bb"])
def test_a_lone_yes_is_recognised(text: str) -> None:
    assert is_lone_yes(text)


@pytest.mark.parametrize(
    "text", ["OK", "Y", "1", "+", "DA", "ДА", "УЕS", "YES K7Q", "YESS", "yes please", "", "NO"]
)
def test_other_accept_words_and_longer_texts_are_not_a_lone_yes(text: str) -> None:
    assert not is_lone_yes(text)


@given(st.text(max_size=40))
def test_a_lone_yes_always_parses_as_an_accept_without_a_code(text: str) -> None:
    if is_lone_yes(text):
        command = parse(text)
        assert (command.kind, command.code) == (CommandKind.ACCEPT, None)


@given(st.text(alphabet=" .,!?-\n", max_size=5), st.text(alphabet=" .,!?\n", max_size=5),
       st.sampled_from(["yes", "YES", "Yes", "yEs"]))
def test_punctuation_around_yes_keeps_it_a_lone_yes(before: str, after: str, word: str) -> None:
    assert is_lone_yes(before + word + after)


# --- APPEAL takes a reason after its code ---------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["APPEAL K7Q I was there at 9, the foreman missed me", "appeal k7q: bus broke down",
     "Appeal, К7Q - был на месте"],
)
def test_an_appeal_keeps_its_code_whatever_reason_follows(text: str) -> None:
    command = parse(text)
    assert (command.kind, command.code, command.text) == (K.APPEAL, "K7Q", text)


@pytest.mark.parametrize("text", ["APPEAL I was there", "APPEAL K7O late bus", "APPEAL HELLO"])
def test_an_appeal_without_a_valid_code_first_is_not_guessed(text: str) -> None:
    assert parse(text).kind == K.UNKNOWN


@given(st.text(max_size=60))
def test_any_reason_after_an_appeal_code_keeps_the_code(reason: str) -> None:
    command = parse(f"APPEAL K7Q {reason}")
    assert (command.kind, command.code) == (K.APPEAL, "K7Q")
