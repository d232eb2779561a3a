"""Both pools as production runs them under granian (config/servers.py): the seat map's
(`python -m config.mapserver`) serves the map and answers a poll from the cache with 304, over
one kept-alive connection; the web pool (`python -m config.webserver`) serves the page and a
hold from it, the session and CSRF cookies included; both stop on SIGTERM."""

import http.client
import re
import subprocess
import sys
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
import redis
from django.db import transaction

from booking.models import SeatStatus, ShowSeat
from booking.services import Actor, seat_hold
from tests.booking.test_views import seat_states_in
from tests.config.test_outage import database_url, django_env, free_port, wait_until
from tests.helpers import stop_process

BASE_DIR = Path(__file__).resolve().parents[2]
CURSOR = re.compile(r'id="seat-cursor" name="since" value="([^"]*)"')  # as the page's poll sends it


def start_pool(module: str, tmp_path, redis_url, settings, **env):
    """`python -m <module>` on a free port with a Redis database of its own (the test's own
    holds tell the server's cache that the map changed: one Redis for both; other tests'
    showtimes may have the same ids); (process, port, log) once it answers /healthz."""
    redis_url = redis_url.rsplit("/", 1)[0] + "/15"
    redis.Redis.from_url(redis_url).flushdb()  # nothing of an earlier run's showtime with this id
    settings.CACHES = {
        "default": {
            "BACKEND": "config.cache.SharedClientRedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": "seatlock",
        }
    }
    port = free_port()
    env = django_env(
        database_url(), tmp_path, REDIS_URL=redis_url, PORT=str(port), SERVER_KILL_TIMEOUT="5", **env
    )
    log = tmp_path / f"{module}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", module], cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT
        )

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
    workers = int(env.get("WEB_WORKERS") or env.get("MAP_WORKERS"))
    assert wait_until(lambda: log.read_text(errors="replace").count("Started worker") == workers, 60)
    return process, port, log


@pytest.fixture
def map_pool(transactional_db, tmp_path, redis_url, settings):
    pool = start_pool(
        "config.mapserver",
        tmp_path,
        redis_url,
        settings,
        MAP_HOST="127.0.0.1",
        MAP_WORKERS="2",
        MAP_THREADS="2",
    )
    yield pool
    stop_process(pool[0])


@pytest.fixture
def web_pool(transactional_db, tmp_path, redis_url, settings):
    pool = start_pool(
        "config.webserver",
        tmp_path,
        redis_url,
        settings,
        WEB_HOST="127.0.0.1",
        WEB_WORKERS="2",
        WEB_THREADS="2",
        WEB_ACCESS_LOG="0",
    )
    yield pool
    stop_process(pool[0])


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
    status, body, _ = get(f"{path}?since={quote(cursor, safe='')}")  # the same kept-alive connection
    assert status == 200 and seat_states_in(body) == {"A2": "held"}  # only what changed

    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        raise AssertionError(log.read_text(errors="replace")[-3000:]) from None


def test_the_web_pool_serves_the_page_and_a_hold_on_one_connection(web_pool, showtime):
    process, port, log = web_pool
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", f"/showtimes/{showtime.pk}/")
    answer = connection.getresponse()
    page = answer.read().decode()
    assert answer.status == 200 and answer.getheader("Connection") != "close"
    cookies = SimpleCookie()
    for header in answer.headers.get_all("Set-Cookie"):
        cookies.load(header)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    buyer = re.search(r'name="buyer" value="([^"]+)"', page).group(1)
    body = urlencode({"csrfmiddlewaretoken": csrf, "buyer": buyer, "seat": "A1"})
    connection.request(  # the same kept-alive connection
        "POST",
        f"/showtimes/{showtime.pk}/hold/",
        body=body,
        headers={
            "HX-Request": "true",
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={cookies['csrftoken'].value}",
        },
    )
    answer = connection.getresponse()
    fragment = answer.read().decode()
    assert answer.status == 200, fragment[:500]
    assert seat_states_in(fragment) == {"A1": "mine"} and "sessionid=" in answer.getheader("Set-Cookie")
    assert ShowSeat.objects.get(showtime=showtime, code="A1").status == SeatStatus.HELD

    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        raise AssertionError(log.read_text(errors="replace")[-3000:]) from None
