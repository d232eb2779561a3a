"""Django's PostgreSQL backend, with django-prometheus' counters, checking a kept connection only
when it sat idle, and reading timestamps with psycopg's C parser.

With CONN_HEALTH_CHECKS Django sends `SELECT 1` before the first query of every request, so a
connection the server dropped (a restart, a failover, an idle timeout) is replaced instead of
failing the request. That is one more round trip on every request that touches the database:
a third of a seat hold's (docs/benchmarks.md). Connections are dropped while they sit unused,
so a connection that began a request less than DB_HEALTH_CHECK_IDLE_SECONDS ago is trusted;
one idle for longer is checked as before. Were it dropped inside that window anyway, the
request fails as it would without checks (503 with Retry-After, config/outage.py) and Django
closes the connection at the request's end: the next request gets a new one.

Django reads every `timestamptz` with a subclass of psycopg's pure-Python loader (to set the
time zone), and psycopg only swaps its own classes for their C versions: each timestamp was
parsed by a regular expression in Python, 6% of a seat hold's time (a held seat's expiry, the
order's times). The loader here has the same result (the value with Django's time zone set,
naive without USE_TZ) and the C parser underneath; without psycopg's C module Django's stays.
"""

import functools
import time

from django.conf import settings
from django_prometheus.db.backends.postgresql import base
from psycopg import adapt

try:
    from psycopg_binary._psycopg import TimestamptzLoader as _CTimestamptzLoader
except ImportError:  # psycopg without its binary package
    _CTimestamptzLoader = None


@functools.cache
def timestamptz_loader(timezone):
    """A loader for `timestamptz` with the given tzinfo (None: naive), as Django's."""

    class TimestamptzLoader(adapt.Loader):
        def __init__(self, oid, context=None):
            super().__init__(oid, context)
            self._parse = _CTimestamptzLoader(oid, context).load

        def load(self, data):
            return self._parse(data).replace(tzinfo=timezone)

    TimestamptzLoader.timezone = timezone  # what Django's create_cursor compares
    return TimestamptzLoader


@functools.lru_cache
def _adapters(template: adapt.AdaptersMap, timezone) -> adapt.AdaptersMap:
    adapters = adapt.AdaptersMap(template)
    adapters.register_loader("timestamptz", timestamptz_loader(timezone))
    return adapters


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.trusted_until = float("-inf")  # monotonic time up to which no check is needed

    def close_if_health_check_failed(self):
        if self.connection is not None and self.health_check_enabled and not self.health_check_done:
            now = time.monotonic()
            if now < self.trusted_until:
                self.health_check_done = True
            self.trusted_until = now + settings.DB_HEALTH_CHECK_IDLE_SECONDS
        super().close_if_health_check_failed()

    def get_connection_params(self):
        params = super().get_connection_params()
        if _CTimestamptzLoader is not None and "context" in params:
            params["context"] = _adapters(params["context"], self.timezone)
        return params

    def connect(self):
        super().connect()
        self.trusted_until = time.monotonic() + settings.DB_HEALTH_CHECK_IDLE_SECONDS
