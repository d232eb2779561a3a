"""config/sessions: Django's database session stores, a session written in one statement,
with Django's meaning (CreateError for a key taken, UpdateError for a row gone)."""

import pytest
from django.contrib.sessions.backends.base import CreateError, UpdateError
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from config.sessions import cached_db, db

pytestmark = pytest.mark.django_db

STORES = [pytest.param(db.SessionStore, id="db"), pytest.param(cached_db.SessionStore, id="cached_db")]


def statements(queries) -> list[str]:
    return [q["sql"].split()[0] for q in queries.captured_queries]


@pytest.mark.parametrize("store_class", STORES)
def test_a_new_session_is_one_insert_and_a_change_one_update(store_class):
    store = store_class()
    store["owner_token"] = "abc"
    with CaptureQueriesContext(connection) as queries:
        store.save()  # no key yet: create() draws one and inserts it
    assert statements(queries) == ["INSERT"]
    store["orders"] = {"7": 42}
    with CaptureQueriesContext(connection) as queries:
        store.save()
    assert statements(queries) == ["UPDATE"]
    cache.clear()  # the cached store reads the database again
    again = store_class(store.session_key)
    assert (again["owner_token"], again["orders"]) == ("abc", {"7": 42})
    assert Session.objects.get(session_key=store.session_key).get_decoded()["orders"] == {"7": 42}


@pytest.mark.parametrize("store_class", STORES)
def test_the_cached_store_also_writes_the_cache(store_class):
    store = store_class()
    store["owner_token"] = "abc"
    store.save()
    cached = cache.get(store.cache_key) if store_class is cached_db.SessionStore else None
    assert cached == ({"owner_token": "abc"} if store_class is cached_db.SessionStore else None)


@pytest.mark.parametrize("store_class", STORES)
def test_a_key_already_taken_raises_create_error_and_create_draws_another(store_class, monkeypatch):
    taken = store_class()
    taken["who"] = "first"
    taken.save()
    clash = store_class(taken.session_key)
    clash._session_cache = {"who": "second"}
    with transaction.atomic():  # nothing breaks a caller's transaction: the insert did nothing
        with pytest.raises(CreateError):
            clash.save(must_create=True)
        assert Session.objects.filter(session_key=taken.session_key).count() == 1
    assert store_class(taken.session_key)["who"] == "first"

    keys = iter([taken.session_key, "x" * 32])
    monkeypatch.setattr("config.sessions.get_random_string", lambda *args: next(keys))
    fresh = store_class()
    fresh["who"] = "third"
    fresh.create()
    assert fresh.session_key == "x" * 32
    assert store_class(taken.session_key)["who"] == "first"


@pytest.mark.parametrize("store_class", STORES)
def test_saving_a_session_whose_row_is_gone_raises_update_error(store_class):
    store = store_class()
    store["owner_token"] = "abc"
    store.save()
    Session.objects.filter(session_key=store.session_key).delete()
    store["orders"] = {"7": 42}
    with pytest.raises(UpdateError):
        store.save()
    assert not Session.objects.filter(session_key=store.session_key).exists()


@pytest.mark.parametrize(
    ("ours", "djangos"),
    [
        pytest.param(db.SessionStore, "django.contrib.sessions.backends.db", id="db"),
        pytest.param(cached_db.SessionStore, "django.contrib.sessions.backends.cached_db", id="cached_db"),
    ],
)
def test_sessions_written_by_djangos_store_and_by_ours_read_both_ways(ours, djangos):
    """A deploy switches stores under sessions already signed in: same key salt, same rows."""
    from importlib import import_module

    theirs = import_module(djangos).SessionStore
    before = theirs()
    before["owner_token"] = "before"
    before.save()
    after = ours()
    after["owner_token"] = "after"
    after.save()
    cache.clear()
    assert ours(before.session_key)["owner_token"] == "before"
    assert theirs(after.session_key)["owner_token"] == "after"
