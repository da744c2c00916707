"""Real headless Chromium (Debian's package, never a downloaded browser) driven by Playwright,
against the project served by pytest-django's live server (threaded, one per test process).

The project's own Content-Security-Policy (settings, django-csp) is what Chromium enforces, so
any inline script, style attribute or handler is reported; every page a test opens is watched
for console errors, uncaught script errors, policy violations and server errors.
Set SCREENSHOTS_DIR to keep PNGs of the pages a walk passes through.
"""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core import clock

CHROMIUM = Path("/usr/bin/chromium")
# No sandbox: CI runs as root in a container, where Chromium's sandbox cannot start. The rest
# keeps the browser from calling home (component updates, field trials) during a test.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# Waits for what a user would see (an htmx swap, a redirect): generous, since six engineers'
# tests share two cores; a wait ends as soon as the page shows it.
TIMEOUT_MS = 20_000

# Every violation of the policy is also written to the console, where the watcher reads it:
# Chromium's own "Refused to ..." line says less about what was blocked.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
                + ` at ${event.sourceFile}:${event.lineNumber}`);
});
"""


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One browser per test process (each xdist worker has its own)."""
    # Playwright is needed by the browser tests alone; the rest run without it.
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    # Playwright's synchronous API runs an event loop in this thread, and Django then refuses
    # ORM calls from it as if they came from async code. The test's own ORM calls are plain
    # blocking calls between browser steps, never inside the loop's callbacks.
    allowed_before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=LAUNCH_ARGS, headless=True)
            yield browser
            browser.close()
    finally:
        if allowed_before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


class Watch:
    """What went wrong in a browser tab while a test used it."""

    def __init__(self, page: Any) -> None:
        self.problems: list[str] = []
        page.on("console", lambda message: self._console(page, message))
        page.on("pageerror", lambda error: self.problems.append(
            f"uncaught script error on {page.url}: {error}"))
        page.on("response", self._response)

    def _console(self, page: Any, message: Any) -> None:
        if message.type == "error":
            self.problems.append(f"console error on {page.url}: {message.text}")

    def _response(self, response: Any) -> None:
        if response.status >= 500:
            self.problems.append(f"{response.status} from {response.url}")

    def assert_clean(self) -> None:
        assert self.problems == [], "\n".join(self.problems)


class Tab:
    """A logged-in browser tab: its page, its watcher, the server's address."""

    def __init__(self, context: Any, base_url: str) -> None:
        self.context = context
        self.page = context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.watch = Watch(self.page)
        self.base_url = base_url

    def open(self, path: str) -> Any:
        self.sync_clock()
        response = self.page.goto(self.base_url + path)
        assert response is not None, path
        assert response.ok, (path, response.status)
        return self.page

    def sync_clock(self) -> None:
        """The page's scripts (a lead's countdown) read the project's clock, virtual or not,
        as the server does: both agree on what time it is."""
        self.page.clock.set_fixed_time(clock.now())

    def log_in(self, username: str, password: str = "pw-12345") -> None:
        self.open("/accounts/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        with self.page.expect_navigation():
            self.page.click("main form button[type=submit]")
        assert "/accounts/login/" not in self.page.url, f"{username} could not log in"

    def path(self) -> str:
        return self.page.url.removeprefix(self.base_url)


@pytest.fixture
def browse(chromium: Any, live_server: Any) -> Iterator[Any]:
    """`browse(language, phone=False)` opens a fresh browser profile (its own cookies) whose
    Accept-Language is `language`; every tab opened is checked for problems at the end."""
    contexts: list[Any] = []
    tabs: list[Tab] = []

    def open_tab(language: str, *, phone: bool = False) -> Tab:
        context = chromium.new_context(
            viewport=PHONE if phone else DESKTOP, is_mobile=phone, has_touch=phone,
            locale="ru-RU" if language == "ru" else "en-GB",
            timezone_id="UTC",
        )
        context.add_init_script(REPORT_VIOLATIONS)
        contexts.append(context)
        tab = Tab(context, live_server.url)
        tabs.append(tab)
        return tab

    yield open_tab
    for context in contexts:
        context.close()
    for tab in tabs:
        tab.watch.assert_clean()


@pytest.fixture
def shoot() -> Any:
    """`shoot(tab, name)` keeps a PNG of what the tab shows when SCREENSHOTS_DIR is set."""
    folder = os.environ.get("SCREENSHOTS_DIR")

    def take(tab: Tab, name: str) -> None:
        if not folder:
            return
        Path(folder).mkdir(parents=True, exist_ok=True)
        tab.page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=False,
                            animations="disabled", caret="hide")

    return take
