"""Short texts the messaging layer itself sends, in the worker's language.

Russian texts are UCS-2: 70 characters fit one segment, 67 per part beyond that, so every
Russian text here is kept under 70 characters where the meaning allows.
"""

TEXTS: dict[str, dict[str, str]] = {
    "help": {
        "ru": "Ответ: ДА КОД - согласен, НЕТ КОД - отказ, СТОП - отписка",
        "en": "Reply YES CODE to accept, NO CODE to decline, STOP to opt out.",
    },
    "unknown_sender": {
        "ru": "Номер не найден. Чтобы работать у нас: JOIN Имя Фамилия",
        "en": "We don't know this number. To work with us, reply JOIN and your name.",
    },
    "opted_in": {
        "ru": "Подписка возобновлена. Отписка: СТОП",
        "en": "You will get job offers again. Reply STOP to opt out.",
    },
    "not_understood": {
        "ru": "Не поняли ответ. ДА КОД / НЕТ КОД / ПОМОЩЬ",
        "en": "Sorry, we didn't understand. Reply YES CODE, NO CODE or HELP.",
    },
}


def render_from(catalogue: dict[str, dict[str, str]], key: str, language: str,
                **values: object) -> str:
    """The text `key` of `catalogue` in `language` (Russian when unknown), filled in."""
    versions = catalogue[key]
    return versions.get(language, versions["ru"]).format(**values)


def render(key: str, language: str, **values: object) -> str:
    """One of this module's texts in `language`, with `values` filled in."""
    return render_from(TEXTS, key, language, **values)


def guess_language(body: str) -> str:
    """For a sender we do not know: Cyrillic in the text means Russian."""
    return "ru" if any("\u0400" <= ch <= "\u04ff" for ch in body) else "en"
