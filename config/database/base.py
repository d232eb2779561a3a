"""Django's PostgreSQL backend, with django-prometheus' counters, checking a kept connection only
when it sat idle.

With CONN_HEALTH_CHECKS Django sends `SELECT 1` before the first query of every request, so a
connection the server dropped (a restart, a failover, an idle timeout) is replaced instead of
failing the request. That is one more round trip on every request that touches the database:
a third of a seat hold's (docs/benchmarks.md). Connections are dropped while they sit unused,
so a connection that began a request less than DB_HEALTH_CHECK_IDLE_SECONDS ago is trusted;
one idle for longer is checked as before. Were it dropped inside that window anyway, the
request fails as it would without checks (503 with Retry-After, config/outage.py) and Django
closes the connection at the request's end: the next request gets a new one.
"""

import time

from django.conf import settings
from django_prometheus.db.backends.postgresql import base


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

    def connect(self):
        super().connect()
        self.trusted_until = time.monotonic() + settings.DB_HEALTH_CHECK_IDLE_SECONDS
