"""The walk's "no problem on any page" is a check that can fail: the server's policy blocks
inline code in real Chromium, and the watch reports it, as it reports script errors."""

import time
from typing import Any

import pytest

pytestmark = pytest.mark.browser


def _reported(tab: Any, words: str) -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if any(words in problem for problem in tab.watch.problems):
            return True
        tab.page.wait_for_timeout(50)
    return False


def test_inline_script_is_blocked_and_reported(browse: Any, transactional_db: Any) -> None:
    tab = browse("en")
    page = tab.open("/accounts/login/")
    page.evaluate("""() => {
        const script = document.createElement("script");
        script.textContent = "window.inlineRan = true";
        document.body.append(script);
    }""")
    assert page.evaluate("window.inlineRan === undefined")
    assert _reported(tab, "CSP violation: script-src")
    tab.watch.problems.clear()  # seen; the fixture checks the tab again at the end


def test_a_script_error_is_reported(browse: Any, transactional_db: Any) -> None:
    tab = browse("en")
    page = tab.open("/accounts/login/")
    page.evaluate("() => { setTimeout(() => { throw new Error('broken page'); }, 0); }")
    assert _reported(tab, "broken page")
    tab.watch.problems.clear()
