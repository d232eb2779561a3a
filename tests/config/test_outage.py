"""Outages answer 503 with Retry-After and change nothing; the queue being down loses no hold.

The failures are real: a PostgreSQL cluster and a redis-server of the test's own, stopped
under a running gunicorn, and a task queue pointed at a closed port. Only the JSON answer's
shape is checked in-process (no /api/ route exists yet to fail for real).
"""

import http.cookiejar
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from django.db import connection
from django.test import RequestFactory
from huey.contrib.djhuey import HUEY
from huey.storage import RedisStorage

from booking.models import LedgerEntry, Order, SeatStatus, ShowSeat
from booking.services import Actor, seat_hold
from config import embedded_db
from config.outage import outage_response
from tests.helpers import stop_process

pytestmark = pytest.mark.outage

BASE_DIR = Path(__file__).resolve().parents[2]
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
MESSAGE = "We cannot reach our booking system right now. Nothing was changed"


def fragment(seconds: int) -> str:
    """What the seat page's message area (#seat-status, where a 409 says why) receives."""
    return (
        '<div id="seat-status" hx-swap-oob="true" role="status" aria-live="polite" class="alert alert-warning">'
        f"{MESSAGE}: please try again in {seconds} seconds.</div>"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def django_env(database_url: str, tmp: Path, **extra: str) -> dict:
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": database_url,
        "DB_CONN_MAX_AGE": "60",
        "HUEY_NAME": "seatlock-outage-test",
        "HUEY_SQLITE_PATH": str(tmp / "huey.sqlite3"),
        "LOG_LEVEL": "INFO",
        **extra,
    }
    if "REDIS_URL" not in extra:
        env.pop("REDIS_URL", None)
    return env


def database_url() -> str:
    """The pytest-django test database, for a server process of the test's own."""
    db = connection.settings_dict
    return f"postgresql://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def manage(env: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@dataclass
class Response:
    status: int
    headers: dict
    body: str


@dataclass
class Browser:
    """A real HTTP client with a cookie jar, as a browser without JavaScript would be."""

    base: str
    jar: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)

    def request(self, path: str, data: dict | None = None, headers: dict | None = None) -> Response:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        url = self.base + path  # always http to a server of the test's own
        request = urllib.request.Request(url, data=body, headers=headers or {})  # noqa: S310
        try:
            with opener.open(request, timeout=30) as answer:
                return Response(answer.status, dict(answer.headers), answer.read().decode())
        except urllib.error.HTTPError as answer:
            return Response(answer.code, dict(answer.headers), answer.read().decode())

    def cookie(self, name: str) -> str:
        return next(c.value for c in self.jar if c.name == name)

    def hold(self, showtime_id: int, seat: str) -> Response:
        headers = {"X-CSRFToken": self.cookie("csrftoken"), "HX-Request": "true"}
        return self.request(f"/showtimes/{showtime_id}/hold/", {"seat": seat}, headers)


class Gunicorn:
    def __init__(self, env: dict, log: Path):
        self.port = free_port()
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [GUNICORN, "config.wsgi", "-b", f"127.0.0.1:{self.port}", "-w", "1", "--no-control-socket"],
                cwd=BASE_DIR,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.url = f"http://127.0.0.1:{self.port}"
        assert wait_until(self._answers, 60), self.output()[-3000:]

    def _answers(self) -> bool:
        assert self.process.poll() is None, self.output()[-3000:]
        try:
            Browser(self.url).request("/healthz")
        except OSError:
            return False
        return True

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.process)


@pytest.fixture
def start_gunicorn(tmp_path):
    started: list[Gunicorn] = []

    def start(env: dict) -> Gunicorn:
        server = Gunicorn(env, tmp_path / f"gunicorn-{len(started)}.log")
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


class Cluster:
    """A throwaway PostgreSQL of this test's own, run as embedded_db runs its server."""

    def __init__(self):
        self.port = free_port()
        # Under /tmp, not pytest's private tmp dir: as root the server runs as a system user
        # that must own the data directory and reach it.
        self.data = Path(tempfile.mkdtemp(prefix="seatlock-outage-pg-"))
        self.user = embedded_db._as_server_user()  # creates the system user when we are root
        if self.user:
            shutil.chown(self.data, self.user["user"], self.user["group"])
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--encoding=UTF8")

    def _run(self, name: str, *args: str) -> None:
        result = subprocess.run(
            [embedded_db._bin(name), *args], capture_output=True, text=True, timeout=120, **self.user
        )
        assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.data} -c fsync=off"
        log = str(self.data / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.data, ignore_errors=True)


@pytest.fixture
def cluster():
    pg = Cluster()
    try:
        pg.start()
        yield pg
    finally:
        pg.remove()


class RedisServer:
    """A redis-server of this test's own, so that it can be stopped and started again."""

    def __init__(self, directory: Path):
        self.port = free_port()
        self.directory = directory
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert wait_until(self._answers, 10), "redis-server did not start"

    def _answers(self) -> bool:
        try:
            return redis.Redis(port=self.port, socket_connect_timeout=1).ping()
        except redis.exceptions.ConnectionError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def redis_server(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.fail("these tests need redis-server (apt-get install redis-server)", pytrace=False)
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


SEED = """
from datetime import timedelta
from django.utils import timezone
from booking.models import Film
from booking.services import showtime_create
from halls.models import Cinema, Hall
from tests.fixtures import grid_layout
cinema = Cinema.objects.create(slug="outage", name="Outage Cinema")
hall = Hall.objects.create(cinema=cinema, name="Hall", slug="hall", layout=grid_layout("AB", 4))
film = Film.objects.create(title="Outage", slug="outage", runtime_minutes=90)
print(showtime_create(film=film, hall=hall, starts_at=timezone.now() + timedelta(days=1), prices={"standard": 1000}).pk)
"""

STATE = """
import json
from booking.models import LedgerEntry, Order, ShowSeat
showtime_id = {showtime_id}
print(json.dumps({{
    "seats": {{s.code: [s.status, s.order_id] for s in ShowSeat.objects.filter(showtime_id=showtime_id)}},
    "orders": list(Order.objects.filter(showtime_id=showtime_id).values_list("pk", "status", "seat_codes")),
    "holds": list(LedgerEntry.objects.filter(showtime_id=showtime_id, action="seat.hold").values_list("order_id", "seats")),
}}))
"""


def test_database_stopped_answers_503_and_the_same_hold_succeeds_after_restart(
    cluster, start_gunicorn, tmp_path
):
    env = django_env(cluster.url, tmp_path)
    manage(env, "migrate", "--no-input")
    showtime_id = int(manage(env, "shell", "--no-imports", "-c", SEED).strip())
    server = start_gunicorn(env)
    browser = Browser(server.url)
    assert browser.request(f"/showtimes/{showtime_id}/").status == 200  # session and CSRF cookies

    cluster.stop()
    refused = browser.hold(showtime_id, "A1")
    assert refused.status == 503
    assert refused.headers["Retry-After"] == "5"
    assert refused.headers["HX-Reswap"] == "none"
    assert refused.body.strip() == fragment(5)
    # A visitor without a basket gets the page from the showtime's frame in the cache while it
    # is fresh (docs/operations.md, "Outages"); once its second is over, the first page that
    # needs the database gets the 503 (the others meanwhile see the last frame).
    pages = []
    assert wait_until(
        lambda: (
            pages.append(Browser(server.url).request(f"/showtimes/{showtime_id}/")) or pages[-1].status == 503
        ),
        10,
    ), [page.status for page in pages]
    page = pages[-1]
    assert {p.status for p in pages} <= {200, 503}
    assert (page.status, page.headers["Retry-After"]) == (503, "5")
    assert "<title>Temporarily unavailable · SeatLock</title>" in page.body and MESSAGE in page.body
    log = server.output()
    assert log.count("outage: ") == 2
    assert f"database outage: POST /showtimes/{showtime_id}/hold/ answered 503" in log
    assert f"database outage: GET /showtimes/{showtime_id}/ answered 503" in log
    assert "Internal Server Error" not in log and "Service Unavailable" not in log

    cluster.start()
    held = browser.hold(showtime_id, "A1")
    assert held.status == 200, held.body
    state = json.loads(manage(env, "shell", "--no-imports", "-c", STATE.format(showtime_id=showtime_id)))
    [(order_id, status, codes)] = state["orders"]
    assert (status, codes) == ("holding", ["A1"])
    assert state["seats"] == {
        code: (["held", order_id] if code == "A1" else ["available", None])
        for code in ("A1", "A2", "A3", "A4", "B1", "B2", "B3", "B4")
    }
    assert state["holds"] == [[order_id, ["A1"]]]


def test_redis_stopped_answers_503_and_the_same_hold_succeeds_after_restart(
    transactional_db, showtime, redis_server, start_gunicorn, tmp_path
):
    env = django_env(database_url(), tmp_path, REDIS_URL=redis_server.url, OUTAGE_RETRY_AFTER_SECONDS="7")
    server = start_gunicorn(env)
    browser = Browser(server.url)
    assert browser.request(f"/showtimes/{showtime.pk}/").status == 200  # session and CSRF cookies
    ledger = LedgerEntry.objects.count()

    redis_server.stop()
    refused = browser.hold(showtime.pk, "A1")
    assert (refused.status, refused.headers["Retry-After"]) == (503, "7")
    assert refused.body.strip() == fragment(7)
    assert refused.headers["HX-Reswap"] == "none"
    assert Order.objects.count() == 0
    assert LedgerEntry.objects.count() == ledger
    assert ShowSeat.objects.filter(showtime=showtime).exclude(status=SeatStatus.AVAILABLE).count() == 0
    # A new visitor can still read the seat map: a page view writes no session and needs no Redis.
    page = Browser(server.url).request(f"/showtimes/{showtime.pk}/")
    assert page.status == 200 and "data-seat=A1 " in page.body
    log = server.output()
    assert log.count("outage: ") == 1
    assert f"redis outage: POST /showtimes/{showtime.pk}/hold/ answered 503" in log
    assert "Internal Server Error" not in log and "Service Unavailable" not in log

    redis_server.start()
    held = browser.hold(showtime.pk, "A1")
    assert held.status == 200, held.body
    order = Order.objects.get()
    assert (order.status, order.seat_codes) == ("holding", ["A1"])
    assert list(
        ShowSeat.objects.filter(showtime=showtime)
        .exclude(status=SeatStatus.AVAILABLE)
        .values_list("code", "status", "order_id")
    ) == [("A1", SeatStatus.HELD, order.pk)]
    assert list(LedgerEntry.objects.filter(action="seat.hold").values_list("order_id", "seats")) == [
        (order.pk, ["A1"])
    ]


def test_queue_down_after_the_hold_committed_keeps_the_hold(transactional_db, showtime, monkeypatch, caplog):
    """The expiry task is scheduled after commit: a dead queue loses the task, not the hold."""
    pool = redis.ConnectionPool(host="127.0.0.1", port=free_port(), socket_connect_timeout=2)  # closed
    monkeypatch.setattr(HUEY, "storage", RedisStorage(name="seatlock-outage-test", connection_pool=pool))
    token = "queue-down-buyer"

    order = seat_hold(showtime_id=showtime.pk, codes=["A1"], owner_token=token, actor=Actor.session(token))

    order.refresh_from_db()
    assert (order.status, order.seat_codes) == ("holding", ["A1"])
    seat = ShowSeat.objects.get(showtime=showtime, code="A1")
    assert (seat.status, seat.order_id) == (SeatStatus.HELD, order.pk)
    assert [r.getMessage().split(":")[0] for r in caplog.records if r.name == "booking.tasks"] == [
        f"queue unreachable, expiry of order {order.pk} left to the sweep"
    ]


def test_api_requests_get_json(settings):
    settings.OUTAGE_RETRY_AFTER_SECONDS = 3
    response = outage_response(RequestFactory().get("/api/showtimes/"), "database")
    assert (response.status_code, response["Retry-After"]) == (503, "3")
    body = json.loads(response.content)
    assert body["error"] == "unavailable" and body["detail"].startswith(MESSAGE)
