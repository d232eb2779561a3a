"""The showtime a seat-map request is about, kept in the web process's memory for a moment
(booking.selectors.showtime_for_request, SHOWTIME_CACHE_SECONDS)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from booking import selectors
from booking.models import Showtime
from config.cache import SharedClientRedisCache
from tests.booking.test_views import HtmxClient, url

pytestmark = pytest.mark.django_db


def test_a_second_request_for_the_showtime_runs_no_query(showtime, django_assert_num_queries):
    with django_assert_num_queries(1):
        first = selectors.showtime_for_request(showtime.pk)
    with django_assert_num_queries(0):
        again = selectors.showtime_for_request(showtime.pk)
        # film, hall and cinema came with it; the geometry from the per-hall-version cache
        assert (again.film.title, again.hall.cinema.slug) == (showtime.film.title, "test-cinema")
        assert "A1" in again.hall.geometry.by_code
    assert again is first


@pytest.mark.parametrize("edit", ["showtime", "film", "hall", "cinema"])
def test_an_edit_saved_in_this_process_is_seen_at_once(showtime, edit):
    selectors.showtime_for_request(showtime.pk)
    if edit == "showtime":
        row = Showtime.objects.get(pk=showtime.pk)
        row.currency = "usd"
        row.save()
        assert selectors.showtime_for_request(showtime.pk).currency == "usd"
    else:
        row = {"film": showtime.film, "hall": showtime.hall, "cinema": showtime.hall.cinema}[edit]
        row.name = row.title = "Renamed"
        row.save()
        fresh = selectors.showtime_for_request(showtime.pk)
        seen = {"film": fresh.film.title, "hall": fresh.hall.name, "cinema": fresh.hall.cinema.name}[edit]
        assert seen == "Renamed"


def test_an_edit_made_elsewhere_is_seen_once_the_memory_runs_out(showtime, settings, monkeypatch):
    """A queryset update (as another process's save looks from here) sends no signal: the
    remembered showtime is served until SHOWTIME_CACHE_SECONDS have passed."""
    settings.SHOWTIME_CACHE_SECONDS = 2
    clock = [1000.0]
    monkeypatch.setattr(selectors.time, "monotonic", lambda: clock[0])
    selectors.showtime_for_request(showtime.pk)
    Showtime.objects.filter(pk=showtime.pk).update(currency="usd")
    clock[0] += 1.9
    assert selectors.showtime_for_request(showtime.pk).currency == "eur"
    clock[0] += 0.2
    assert selectors.showtime_for_request(showtime.pk).currency == "usd"


def test_zero_seconds_reads_it_every_time(showtime, settings, django_assert_num_queries):
    settings.SHOWTIME_CACHE_SECONDS = 0
    selectors.showtime_for_request(showtime.pk)
    with django_assert_num_queries(1):
        selectors.showtime_for_request(showtime.pk)


def test_a_missing_showtime_is_a_404_and_is_not_remembered(showtime, django_assert_num_queries):
    missing = Showtime(pk=showtime.pk + 10_000)
    with pytest.raises(Showtime.DoesNotExist):
        selectors.showtime_for_request(missing.pk)
    assert HtmxClient().post(url(missing, "hold"), {"seat": ["A1"]}).status_code == 404
    assert HtmxClient().get(url(missing, "seats")).status_code == 404
    with django_assert_num_queries(1), pytest.raises(Showtime.DoesNotExist):
        selectors.showtime_for_request(missing.pk)


@pytest.mark.django_db(transaction=True)
def test_a_hold_with_the_showtime_in_memory_costs_one_statement(showtime):
    """The hold function, which also returns the changed seats' states for the fragments; the
    session comes from the cache (with REDIS_URL) and the showtime from memory (the 409 reuses
    the order and the rows the refusal saw)."""
    buyer, other = HtmxClient(), HtmxClient()
    assert buyer.post(url(showtime, "hold"), {"seat": ["A1"]}).status_code == 200  # session, order
    assert other.post(url(showtime, "hold"), {"seat": ["B1"]}).status_code == 200
    for codes, status in ((["A2"], 200), (["B1"], 409)):
        with CaptureQueriesContext(connection) as queries:
            assert buyer.post(url(showtime, "hold"), {"seat": codes}).status_code == status
        statements = [q["sql"] for q in queries.captured_queries if "django_session" not in q["sql"]]
        assert len(statements) == 1, [sql[:80] for sql in statements]
        # without Redis (database sessions) the session adds its read
        assert len(queries.captured_queries) <= 2


@pytest.mark.redis
def test_the_redis_cache_keeps_one_client_per_connection_pool(redis_url):
    cache = SharedClientRedisCache(redis_url, {"KEY_PREFIX": "shared-client-test"})
    client = cache._cache.get_client(write=True)
    assert cache._cache.get_client(write=True) is client
    assert cache._cache.get_client("some-key") is client  # one server: reads share its pool
    assert client.connection_pool is cache._cache._pools[0]
    cache.set("check", 41)
    assert cache.incr("check") == 42
    cache.delete("check")
