"""Settings read from the environment: config/settings.py imported in a fresh process."""

import json
import os
import subprocess
import sys

import pytest

PRINT_SETTINGS = """
import json, django
django.setup()
from django.conf import settings
print(json.dumps({
    "proxy_ssl_header": getattr(settings, "SECURE_PROXY_SSL_HEADER", None),
    "axes_failure_limit": settings.AXES_FAILURE_LIMIT,
    "axes_cooloff_seconds": settings.AXES_COOLOFF_TIME.total_seconds(),
    "server_side_binding": settings.DATABASES["default"]["OPTIONS"]["server_side_binding"],
}))
"""


def production_environ(tmp_path, *, unset: tuple[str, ...] = (), **env) -> dict:
    """This test run's environment under production settings, less `unset`, plus `env`."""
    return {
        **{k: v for k, v in os.environ.items() if k not in unset},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECRET_KEY": "z" * 60,
        "ALLOWED_HOSTS": "tickets.example.com",
        "HUEY_SQLITE_PATH": str(tmp_path / "huey.sqlite3"),
        **env,
    }


def production_settings(tmp_path, **env) -> dict:
    environ = production_environ(
        tmp_path,
        unset=("TRUSTED_PROXY_COUNT", "AXES_FAILURE_LIMIT", "AXES_COOLOFF_MINUTES", "DB_SERVER_SIDE_BINDING"),
        **env,
    )
    result = subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS], env=environ, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("proxies", "header"),
    [("0", None), ("1", ["HTTP_X_FORWARDED_PROTO", "https"]), ("2", ["HTTP_X_FORWARDED_PROTO", "https"])],
)
def test_forwarded_proto_is_trusted_only_behind_a_trusted_proxy(tmp_path, proxies, header):
    assert production_settings(tmp_path, TRUSTED_PROXY_COUNT=proxies)["proxy_ssl_header"] == header


def test_server_side_binding_is_on_unless_turned_off(tmp_path):
    assert production_settings(tmp_path)["server_side_binding"] is True
    assert production_settings(tmp_path, DB_SERVER_SIDE_BINDING="0")["server_side_binding"] is False


def test_login_throttle_comes_from_the_environment(tmp_path):
    defaults = production_settings(tmp_path)
    assert (defaults["axes_failure_limit"], defaults["axes_cooloff_seconds"]) == (5, 15 * 60)
    custom = production_settings(tmp_path, AXES_FAILURE_LIMIT="8", AXES_COOLOFF_MINUTES="45")
    assert (custom["axes_failure_limit"], custom["axes_cooloff_seconds"]) == (8, 45 * 60)


def test_a_hold_longer_than_the_sales_close_window_is_refused_at_start():
    env = {
        **os.environ,
        "HOLD_MINUTES": "20",
        "SALES_CLOSE_MINUTES": "15",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    env.pop("HOLD_SECONDS", None)
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "may not be longer than SALES_CLOSE_MINUTES" in result.stderr


WAIT_ON_A_SILENT_SERVER = """
import json, time, django
django.setup()
from django.core.cache import cache
from django.db import connection
waits = {}
for name, call in (("redis", lambda: cache.get("x")), ("postgresql", connection.ensure_connection)):
    started = time.monotonic()
    try:
        call()
        waits[name] = "answered"
    except Exception as exc:
        waits[name] = [type(exc).__name__, time.monotonic() - started]
print(json.dumps(waits))
"""


def test_a_server_that_never_answers_fails_a_request_in_seconds(tmp_path):
    """Redis and PostgreSQL that accept the connection and then say nothing (a hung server, a
    half-open network): the cache and the database give up within their timeouts instead of
    holding the request for ever (the seat map's pool has no worker timeout to end it)."""
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # the kernel completes the handshakes; nobody ever reads or writes
        port = silent.getsockname()[1]
        environ = production_environ(
            tmp_path,
            unset=("DB_CONNECT_TIMEOUT",),
            REDIS_URL=f"redis://127.0.0.1:{port}/0",
            DATABASE_URL=f"postgresql://seatlock@127.0.0.1:{port}/seatlock",
        )
        result = subprocess.run(
            [sys.executable, "-c", WAIT_ON_A_SILENT_SERVER],
            env=environ,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 0, result.stderr[-3000:]
    waits = json.loads(result.stdout.strip().splitlines()[-1])
    assert waits["redis"][0] == "TimeoutError" and waits["redis"][1] < 10, waits
    assert waits["postgresql"][0] == "OperationalError" and waits["postgresql"][1] < 10, waits
