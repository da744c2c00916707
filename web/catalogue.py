"""The console's translation catalogue (locale/<lang>/LC_MESSAGES/django.po) read as data.

Enough of the PO format for the catalogues `makemessages` writes: comments and flags, msgctxt,
msgid, msgid_plural, msgstr and msgstr[n], strings continued over several lines. What it is
for: finding entries that are untranslated or fuzzy, translations that lost or invented a
placeholder, and a compiled django.mo that no longer matches its .po.
"""

from __future__ import annotations

import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

# Python's %-format placeholders: %(name)s, %(count)d, %s, %.1f; "%%" is a literal percent.
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b",
            "f": "\f", "v": "\v"}
_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")\s*$')


def _unquote(literal: str) -> str:
    """A PO string literal ("...", C escapes) as text."""
    body = literal.strip()
    if len(body) < 2 or body[0] != '"' or body[-1] != '"':
        raise ValueError(f"not a PO string: {literal!r}")
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body[1:-1])


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: str = ""
    msgstr_plural: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0

    @property
    def key(self) -> str:
        """The msgid as gettext looks it up: context, EOT, msgid."""
        return f"{self.msgctxt}\x04{self.msgid}" if self.msgctxt is not None else self.msgid

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags

    @property
    def translations(self) -> list[str]:
        if self.msgid_plural is None:
            return [self.msgstr]
        return [self.msgstr_plural[n] for n in sorted(self.msgstr_plural)]

    def label(self) -> str:
        context = f"[{self.msgctxt}] " if self.msgctxt is not None else ""
        return f"{context}{self.msgid!r}"


@dataclass
class Catalogue:
    header: Entry
    entries: list[Entry]

    @property
    def plural_forms(self) -> int:
        found = re.search(r"nplurals\s*=\s*(\d+)", self.header.msgstr)
        return int(found.group(1)) if found else 2


class _Reader:
    """Reads a PO file line by line into entries."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.current = Entry()
        self.started = False
        self.last: tuple[str, int | None] | None = None

    def finish(self) -> None:
        if self.started:
            self.entries.append(self.current)
        self.current, self.started, self.last = Entry(), False, None

    def comment(self, line: str) -> None:
        if self.started:  # a comment or flags belong to the entry they precede
            self.finish()
        if line.startswith("#,"):
            self.current.flags.update(
                flag.strip() for flag in line[2:].split(",") if flag.strip())

    def keyword(self, number: int, line: str) -> None:
        match = _KEYWORD.match(line)
        if match is None:
            raise ValueError(f"line {number}: cannot read {line!r}")
        keyword, index, literal = match.group(1), match.group(2), match.group(3)
        after_context = self.last is not None and self.last[0] == "msgctxt"
        if self.started and (keyword == "msgctxt" or (keyword == "msgid" and not after_context)):
            self.finish()
        if not self.started:
            self.current.line = number
            self.started = True
        name = "msgstr" if keyword.startswith("msgstr") else keyword
        self.last = (name, int(index) if index is not None else None)
        if name == "msgstr" and self.last[1] is not None:
            self.current.msgstr_plural[self.last[1]] = ""
        elif name in ("msgid_plural", "msgctxt"):
            setattr(self.current, name, "")
        _append(self.current, self.last, _unquote(literal))

    def read(self, text: str) -> list[Entry]:
        # Lines end at "\n" only: a string may hold any other character splitlines() breaks at.
        for number, raw in enumerate(text.split("\n"), start=1):
            line = raw.strip()
            if not line:
                self.finish()
            elif line.startswith("#~"):
                continue  # obsolete
            elif line.startswith("#"):
                self.comment(line)
            elif line.startswith('"'):
                if self.last is None:
                    raise ValueError(f"line {number}: a string continues nothing")
                _append(self.current, self.last, _unquote(line))
            else:
                self.keyword(number, line)
        self.finish()
        return self.entries


def parse(text: str) -> Catalogue:
    """The entries of a PO file's text; the header (msgid "") apart. Obsolete entries ("#~")
    are not entries."""
    entries = _Reader().read(text)
    header = next((e for e in entries if e.msgid == "" and e.msgctxt is None), Entry())
    return Catalogue(header, [e for e in entries if e is not header])


def _append(entry: Entry, target: tuple[str, int | None], text: str) -> None:
    name, index = target
    if name == "msgstr" and index is not None:
        entry.msgstr_plural[index] += text
    else:
        setattr(entry, name, (getattr(entry, name) or "") + text)


def placeholders(text: str) -> list[str]:
    """The %-placeholders of a python-format string, sorted, "%%" left out."""
    return sorted(p for p in PLACEHOLDER.findall(text) if p != "%%")


@dataclass(frozen=True)
class Problem:
    entry: Entry
    what: str

    def __str__(self) -> str:
        return f"line {self.entry.line}: {self.entry.label()}: {self.what}"


def problems(catalogue: Catalogue) -> list[Problem]:
    """Every entry that would show English (or nothing) on a page, or a wrong figure: fuzzy,
    untranslated, missing plural forms, placeholders lost or added."""
    found: list[Problem] = []
    if catalogue.header.fuzzy:
        found.append(Problem(catalogue.header, "the header is marked fuzzy"))
    forms = catalogue.plural_forms
    for entry in catalogue.entries:
        if entry.fuzzy:
            found.append(Problem(entry, "fuzzy"))
        if entry.msgid_plural is not None and sorted(entry.msgstr_plural) != list(range(forms)):
            found.append(Problem(entry, f"needs {forms} plural forms"))
        if not all(entry.translations):
            found.append(Problem(entry, "untranslated"))
            continue
        if "python-format" in entry.flags:
            wanted = set(placeholders(entry.msgid))
            if entry.msgid_plural is not None:
                wanted |= set(placeholders(entry.msgid_plural))
            for text in entry.translations:
                if set(placeholders(text)) != wanted:
                    found.append(Problem(entry, f"placeholders {sorted(wanted)} but the "
                                                f"translation has {placeholders(text)}"))
                    break
    return found


def compiled_mismatches(catalogue: Catalogue, mo_path: Path) -> list[str]:
    """Entries whose compiled translation (the .mo gettext reads) differs from the .po."""
    if not mo_path.exists():
        return [f"{mo_path} is missing"]
    with mo_path.open("rb") as handle:
        # The parsed messages; typeshed leaves this attribute of GNUTranslations out.
        compiled = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
    wanted: dict[object, str] = {}
    for entry in catalogue.entries:
        if entry.fuzzy or not all(entry.translations):
            continue  # msgfmt leaves these out
        if entry.msgid_plural is None:
            wanted[entry.key] = entry.msgstr
        else:
            for index, text in entry.msgstr_plural.items():
                wanted[(entry.key, index)] = text
    have = {key: value for key, value in compiled.items() if key != ""}
    differ = [key for key in wanted if have.get(key) != wanted[key]]
    extra = [key for key in have if key not in wanted]
    return [f"{key!r} is compiled differently or not at all" for key in differ] + [
        f"{key!r} is compiled but not in the .po" for key in extra
    ]
