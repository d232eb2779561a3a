"""Both pools as production runs them under granian (config/servers.py): the seat map's
(`python -m config.mapserver`) serves the map and answers a poll from the cache with 304, over
one kept-alive connection; the web pool (`python -m config.webserver`) serves the page and a
hold from it, the session and CSRF cookies included; both stop on SIGTERM."""

import http.client
import re
import subprocess
import sys
import threading
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
import redis
from django.db import transaction

from booking import selectors
from booking.models import LedgerEntry, SeatStatus, ShowSeat
from booking.services import Actor, seat_hold
from tests.booking.test_views import seat_states_in
from tests.config.test_outage import database_url, django_env, free_port, wait_until
from tests.helpers import at_once, stop_process

BASE_DIR = Path(__file__).resolve().parents[2]
CURSOR = re.compile(r'id="seat-cursor" name="since" value="([^"]*)"')  # as the page's poll sends it


@pytest.fixture
def serve(transactional_db, tmp_path, redis_url, settings):
    """Starts `python -m <module>` (a pool of `prefix`_WORKERS processes of 2 threads on 127.0.0.1) on a
    free port, with a Redis database of its own (the test's own holds tell the server's cache
    that the map changed: one Redis for both; other tests' showtimes may have the same ids);
    answers (process, port, log) once every worker is up. Stops what it started."""
    redis_url = redis_url.rsplit("/", 1)[0] + "/15"
    redis.Redis.from_url(redis_url).flushdb()  # nothing of an earlier run's showtime with this id
    settings.CACHES = {
        "default": {
            "BACKEND": "config.cache.SharedClientRedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": "seatlock",
        }
    }
    started = []

    def start(module: str, prefix: str, *, workers: int = 2):
        port = free_port()
        env = django_env(
            database_url(),
            tmp_path,
            REDIS_URL=redis_url,
            PORT=str(port),
            SERVER_KILL_TIMEOUT="5",
            WEB_ACCESS_LOG="0",
            **{f"{prefix}_HOST": "127.0.0.1", f"{prefix}_WORKERS": str(workers), f"{prefix}_THREADS": "2"},
        )
        log = tmp_path / f"{module}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", module], cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        started.append(process)

        def answers() -> bool:
            assert process.poll() is None, log.read_text(errors="replace")[-3000:]
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/healthz")
                return connection.getresponse().status == 200
            except OSError:
                return False

        assert wait_until(answers, 60), log.read_text(errors="replace")[-3000:]
        # Every worker up, not only the one that answered: a worker still starting when SIGTERM
        # comes would hold the stop up to SERVER_KILL_TIMEOUT.
        assert wait_until(lambda: log.read_text(errors="replace").count("Started worker") >= workers, 60)
        return process, port, log

    yield start
    for process in started:
        stop_process(process)


@pytest.fixture
def map_pool(serve):
    return serve("config.mapserver", "MAP")


@pytest.fixture
def web_pool(serve):
    return serve("config.webserver", "WEB")


def test_the_map_pool_serves_the_map_and_answers_polls_on_one_connection(map_pool, showtime):
    process, port, log = map_pool
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    path = f"/showtimes/{showtime.pk}/seats/"

    def get(url: str) -> tuple[int, str, http.client.HTTPResponse]:
        connection.request("GET", url, headers={"HX-Request": "true"})
        answer = connection.getresponse()
        return answer.status, answer.read().decode(), answer

    status, body, answer = get(path)
    assert status == 200 and seat_states_in(body)["A1"] == "available"
    assert answer.getheader("Connection") != "close"
    cursor = CURSOR.search(body).group(1)
    status, body, _ = get(f"{path}?since={quote(cursor, safe='')}")
    assert (status, body) == (304, "")

    with transaction.atomic():
        seat_hold(showtime_id=showtime.pk, codes=["A2"], owner_token="other", actor=Actor("test"))
    # A commit in another process (here, the test's) reaches a visitor without a session once
    # the pool's process forgets the 304 it gave for this cursor (SEAT_MAP_POLL_MEMO_SECONDS).
    polls = []  # on the same kept-alive connection
    assert wait_until(
        lambda: polls.append(get(f"{path}?since={quote(cursor, safe='')}")) or polls[-1][0] != 304,
        selectors.SEAT_MAP_POLL_MEMO_SECONDS + 5,
    )
    status, body, _ = polls[-1]
    assert status == 200 and seat_states_in(body) == {"A2": "held"}  # only what changed

    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        raise AssertionError(log.read_text(errors="replace")[-3000:]) from None


def visit(port: int, showtime) -> tuple[http.client.HTTPConnection, dict]:
    """A browser opening the seat page: its kept-alive connection, and what its seat form
    posts (CSRF field, buyer token) with the CSRF cookie."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", f"/showtimes/{showtime.pk}/")
    answer = connection.getresponse()
    page = answer.read().decode()
    assert answer.status == 200 and answer.getheader("Connection") != "close"
    cookies = SimpleCookie()
    for header in answer.headers.get_all("Set-Cookie"):
        cookies.load(header)
    form = {
        "csrfmiddlewaretoken": re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1),
        "buyer": re.search(r'name="buyer" value="([^"]+)"', page).group(1),
        "cookie": f"csrftoken={cookies['csrftoken'].value}",
    }
    return connection, form


def click(connection: http.client.HTTPConnection, showtime, form: dict, seat: str):
    """(status, body, response) of a hold as htmx posts it, on the browser's connection."""
    fields = {"csrfmiddlewaretoken": form["csrfmiddlewaretoken"], "buyer": form["buyer"], "seat": seat}
    connection.request(
        "POST",
        f"/showtimes/{showtime.pk}/hold/",
        body=urlencode(fields),
        headers={
            "HX-Request": "true",
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": form["cookie"],
        },
    )
    answer = connection.getresponse()
    return answer.status, answer.read().decode(), answer


def test_the_web_pool_serves_the_page_and_a_hold_on_one_connection(web_pool, showtime):
    process, port, log = web_pool
    connection, form = visit(port, showtime)
    status, fragment, answer = click(connection, showtime, form, "A1")  # the same connection
    assert status == 200, fragment[:500]
    assert seat_states_in(fragment) == {"A1": "mine"} and "sessionid=" in answer.getheader("Set-Cookie")
    assert ShowSeat.objects.get(showtime=showtime, code="A1").status == SeatStatus.HELD

    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        raise AssertionError(log.read_text(errors="replace")[-3000:]) from None


def test_two_buyers_clicking_one_seat_at_once_in_the_threaded_pool_get_it_once(web_pool, showtime):
    """The web pool runs requests in threads (2 processes of 2 here): two buyers' holds of the
    same seat sent at the same moment (A1, a row's end: the stranded-seat rule lets it go
    alone), one wins and one gets the 409, and the seat is held once."""
    _process, port, _log = web_pool
    browsers = [visit(port, showtime) for _ in range(2)]
    turn = iter(browsers)
    lock = threading.Lock()

    def hold():
        with lock:
            connection, form = next(turn)
        return click(connection, showtime, form, "A1")[:2]

    answers = at_once(hold, 2)
    assert sorted(status for status, _body in answers) == [200, 409]
    seat = ShowSeat.objects.get(showtime=showtime, code="A1")
    assert seat.status == SeatStatus.HELD
    assert LedgerEntry.objects.filter(showtime=showtime, action="seat.hold", seats=["A1"]).count() == 1
