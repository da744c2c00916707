"""A month's key as the pages show it, in the reader's language."""

import pytest
from django.utils import translation

from web.templatetags.months import month


@pytest.mark.parametrize(("language", "key", "shown"), [
    ("en", "2026-11", "November 2026"),
    ("en", "2030-03", "March 2030"),
    ("ru", "2026-11", "ноябрь 2026 г."),
    ("ru", "2030-01", "январь 2030 г."),
])
def test_a_months_key_reads_as_the_month_in_the_pages_language(
    language: str, key: str, shown: str
) -> None:
    with translation.override(language):
        assert month(key) == shown


@pytest.mark.parametrize("value", ["2026-13", "November", "", None, "2026-11-05"])
def test_what_is_not_a_months_key_is_shown_as_it_is(value: object) -> None:
    assert month(value) == value
