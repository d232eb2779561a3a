"""The seat map's pool as production runs it (`python -m config.mapserver`, granian): it serves
the map and answers a poll from the cache with 304, over one kept-alive connection, and stops
on SIGTERM."""

import http.client
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.db import transaction

from booking.services import Actor, seat_hold
from tests.booking.test_views import seat_states_in
from tests.config.test_outage import database_url, django_env, free_port, wait_until
from tests.helpers import stop_process

BASE_DIR = Path(__file__).resolve().parents[2]
CURSOR = re.compile(r'id="seat-cursor" name="since" value="([^"]*)"')  # as the page's poll sends it


@pytest.fixture
def map_pool(transactional_db, tmp_path, redis_url, settings):
    # The test's own holds tell the server's cache that the map changed: one Redis for both, a
    # database of its own (other tests' showtimes may have the same ids).
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
        database_url(),
        tmp_path,
        REDIS_URL=redis_url,
        PORT=str(port),
        MAP_HOST="127.0.0.1",
        MAP_WORKERS="2",
        MAP_THREADS="2",
    )
    log = tmp_path / "mapserver.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "config.mapserver"],
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
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
    yield process, port, log
    stop_process(process)


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
    assert process.wait(15) is not None, log.read_text(errors="replace")[-3000:]
