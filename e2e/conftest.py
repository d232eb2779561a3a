"""Browser tests: Playwright drives Chromium against pytest-django's live server.

Chromium comes from Debian (`/usr/bin/chromium`, installed by .ci/run) or, failing that, from
a Playwright-installed browser. No browser at all is a failure with a clear message, never a
silent skip.
"""

import os
import shutil

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM calls in the test body
# are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "e2e" in item.nodeid.split("/")[0]:
            item.add_marker(pytest.mark.e2e)


def chromium_path() -> str | None:
    for candidate in (os.environ.get("PLAYWRIGHT_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import Error, sync_playwright

    with sync_playwright() as playwright:
        path = chromium_path()
        try:
            if path:
                launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
            else:
                launched = playwright.chromium.launch(args=CHROMIUM_ARGS)
        except Error as exc:
            pytest.fail(
                "No Chromium to drive: install Debian's chromium (apt-get install chromium) or set "
                f"PLAYWRIGHT_CHROMIUM to a Chromium binary. ({exc})",
                pytrace=False,
            )
        yield launched
        # While Playwright's sync API runs (greenlets, an event loop in this thread), Django's
        # context-local `connections` hand the browser tests other connection objects than the
        # ones the test database was set up with: seen as one session still connected when the
        # database was dropped at the end of the suite ("being accessed by other users"). They
        # are closed here, from the same context; the database's own teardown closes its own.
        from django.db import connections

        connections.close_all()
        launched.close()


@pytest.fixture
def new_page(browser):
    contexts = []

    def make(**options):
        options.setdefault("viewport", {"width": 1280, "height": 900})
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def site(live_server, transactional_db, settings):
    settings.SITE_URL = live_server.url
    settings.ALLOWED_HOSTS = ["*"]
    return live_server.url
