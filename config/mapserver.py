"""The seat map's pool (docs/operations.md, "A pool for the seat map"): the same Django
application under granian instead of gunicorn.

    python -m config.mapserver        # MAP_HOST:PORT, MAP_WORKERS processes of MAP_THREADS threads

Polls are small, many and mostly answered from Redis: for them the server's own work per
request (accepting the connection, parsing the request, writing the answer) is a large share.
granian does that work in Rust and keeps connections alive, so a 304 from the cache costs half
the CPU it costs under gunicorn's sync workers, and gthread workers, the other choice, hand
every kept-alive connection to whichever process accepted it first (measured in
docs/benchmarks.md). Holds stay on gunicorn: there the server's share is small and sync
workers are the well-trodden path for requests that hold a database transaction.
"""

import os

from config.env import env_int, env_str


def server():
    from granian import Granian
    from granian.constants import Interfaces

    return Granian(
        "config.wsgi:application",
        address=env_str("MAP_HOST", "0.0.0.0"),  # noqa: S104 - a container's port, published by compose
        port=env_int("PORT", 8000, minimum=1),
        interface=Interfaces.WSGI,
        workers=env_int("MAP_WORKERS", 2, minimum=1),
        # A poll waits on Redis round trips: threads overlap those waits (Django releases the GIL).
        blocking_threads=env_int("MAP_THREADS", 4, minimum=1),
        websockets=False,
        respawn_failed_workers=True,
        log_access=False,
    )


def main() -> None:
    from config.gunicorn import clear_multiproc_dir

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    clear_multiproc_dir()  # as under gunicorn: PROMETHEUS_MULTIPROC_DIR, when set, starts empty
    server().serve()


if __name__ == "__main__":
    main()
