"""Both web pools run the same Django application under granian (docs/operations.md):

    python -m config.webserver   # `web`: pages, holds, releases, checkout, the webhook, staff, API
    python -m config.mapserver   # `web-map`: the seat-map partial's polls

granian parses HTTP and keeps connections alive in Rust, where gunicorn's sync workers do it in
Python and close every connection; with SeatLock's request path cut down to a couple of
milliseconds of Python, that was a fifth of a hold's cost. Measured on this 2-core machine
(docs/benchmarks.md, 2026-12-06 third session): hold-only flash sales won a median 10-11% of
pgbench's rate under granian (3 x 2 and 2 x 3) against 8.5-9% under gunicorn's 5 sync workers,
alternating in the same hour. Threads overlap waits: a checkout's Stripe call (bounded by
STRIPE_TIMEOUT_SECONDS) holds one thread, not a whole process.

gunicorn (`config/gunicorn.py`) still serves the application as well and is what the outage
tests run under; granian has no per-request worker timeout like GUNICORN_TIMEOUT, which is why
every wait in SeatLock is bounded on its own (database, Redis, Stripe: docs/operations.md).
"""

import os

from config.env import env_bool, env_int, env_str
from config.gunicorn import clear_multiproc_dir


def serve(*, host: str, workers: int, threads: int, access_log: bool) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    clear_multiproc_dir()  # as under gunicorn: PROMETHEUS_MULTIPROC_DIR, when set, starts empty
    Granian(
        "config.wsgi:application",
        address=host,
        port=env_int("PORT", 8000, minimum=1),
        interface=Interfaces.WSGI,
        workers=workers,
        # Django releases the GIL while it waits on PostgreSQL, Redis or Stripe.
        blocking_threads=threads,
        websockets=False,
        respawn_failed_workers=True,
        # A worker still starting when SIGTERM comes never hears of it, and granian would wait
        # for it forever (seen in tests/config/test_servers.py): kill what has not stopped by then.
        workers_kill_timeout=env_int("SERVER_KILL_TIMEOUT", 20, minimum=1),
        log_access=access_log,
    ).serve()


def web() -> None:
    serve(
        host=env_str("WEB_HOST", "0.0.0.0"),  # noqa: S104 - a container's port, published by compose
        # A process a core: a hold is mostly Python, and more processes than cores only take
        # turns (measured: 5 processes on 2 cores cost 40% more CPU a request than 2).
        workers=env_int("WEB_WORKERS", len(os.sched_getaffinity(0)), minimum=1),
        threads=env_int("WEB_THREADS", 3, minimum=1),
        access_log=env_bool("WEB_ACCESS_LOG", True),
    )


def seat_map() -> None:
    serve(
        host=env_str("MAP_HOST", "0.0.0.0"),  # noqa: S104 - a container's port, published by compose
        workers=env_int("MAP_WORKERS", 2, minimum=1),
        # A poll waits on Redis round trips: threads overlap those waits.
        threads=env_int("MAP_THREADS", 4, minimum=1),
        access_log=False,
    )
