"""The kept database connection: checked with `SELECT 1` only after it sat idle
(config/database/base.py), so a busy web process saves a round trip per request and a
connection the server dropped while idle is still replaced before the request uses it."""

import psycopg
import pytest
from django.db import OperationalError, close_old_connections, connection


@pytest.fixture
def checks(monkeypatch):
    """The health checks made (Django's `is_usable`, one `SELECT 1` each)."""
    made = []
    original = connection.is_usable

    def counted():
        made.append(connection.connection.info.backend_pid)
        return original()

    monkeypatch.setattr(connection, "is_usable", counted)
    return made


def request_reading_the_database() -> int:
    """What a request does to the connection: Django's request_started handler, then a query."""
    close_old_connections()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def drop_from_the_server(pid: int) -> None:
    url = "host={HOST} port={PORT} user={USER} dbname={NAME}".format(**connection.settings_dict)
    with psycopg.connect(url, autocommit=True) as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]


def test_a_busy_connection_is_not_checked_before_each_request(transactional_db, settings, checks):
    settings.DB_HEALTH_CHECK_IDLE_SECONDS = 60
    connection.close()
    pids = {request_reading_the_database() for _ in range(5)}
    assert len(pids) == 1 and checks == []


def test_an_idle_connection_is_checked_and_a_dropped_one_replaced(transactional_db, settings, checks):
    settings.DB_HEALTH_CHECK_IDLE_SECONDS = 0  # every connection counts as idle
    first = request_reading_the_database()
    assert request_reading_the_database() == first and checks == [first]
    drop_from_the_server(first)
    replaced = request_reading_the_database()  # no error: the check found it gone
    assert replaced != first and checks == [first, first]


def test_a_connection_dropped_while_trusted_fails_one_request_and_is_replaced(
    transactional_db, settings, checks
):
    settings.DB_HEALTH_CHECK_IDLE_SECONDS = 60
    first = request_reading_the_database()
    drop_from_the_server(first)
    with pytest.raises(OperationalError):
        request_reading_the_database()
    close_old_connections()  # Django's request_finished handler: the failed connection is closed
    assert connection.connection is None
    assert request_reading_the_database() != first


@pytest.mark.parametrize(
    "literal",
    [
        "2026-12-05 20:15:00+00",
        "2026-03-29 01:30:00.123456+01",  # the hour Europe's clocks skip, written with an offset
        "1999-12-31 23:59:59.999999-08",
        "0044-03-15 12:00:00+00",
        "4713-01-01 00:00:00+00 BC",
    ],
)
def test_timestamps_read_as_django_reads_them(db, literal):
    from django.db.backends.postgresql.psycopg_any import BaseTzLoader

    with connection.cursor() as cursor:
        adapters = connection.connection.adapters
        loader = adapters.get_loader(adapters.types["timestamptz"].oid, psycopg.pq.Format.TEXT)
        assert loader.__module__ == "config.database.base" and not issubclass(loader, BaseTzLoader)
        try:
            cursor.execute("SELECT %s::timestamptz", [literal])
            ours = ("value", cursor.fetchone()[0])
        except Exception as exc:
            ours = ("error", type(exc))

    class Djangos(BaseTzLoader):
        timezone = connection.timezone

    with connection.cursor() as cursor:
        cursor.cursor.adapters.register_loader("timestamptz", Djangos)
        try:
            cursor.execute("SELECT %s::timestamptz", [literal])
            theirs = ("value", cursor.fetchone()[0])
        except Exception as exc:
            theirs = ("error", type(exc))
    assert ours == theirs
    if ours[0] == "value":
        assert ours[1].tzinfo is connection.timezone and ours[1].utcoffset().total_seconds() == 0


def test_parameters_travel_beside_the_statement_and_nothing_is_prepared(db):
    """DB_SERVER_SIDE_BINDING (on by default): psycopg sends a statement's parameters apart from
    its text (PostgreSQL's extended protocol) instead of quoting them into it, which cost a tenth
    of a hold's Python CPU; and, as Django's default, prepares no statement (connection poolers
    in transaction mode keep working)."""
    from django.db.backends.postgresql.base import ServerBindingCursor

    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::text, %s::int, %s::text[]", ["it's; --", 2, ["A1", "B'2"]])
        assert cursor.fetchone() == ("it's; --", 2, ["A1", "B'2"])
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone()[0] == 0
    assert issubclass(connection.connection.cursor_factory, ServerBindingCursor)  # under the metrics wrapper
    assert connection.connection.prepare_threshold is None
