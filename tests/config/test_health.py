"""/healthz answers 200 with the database and queue state, 503 when the database is gone."""

import pytest
from django.db import OperationalError


@pytest.mark.django_db
def test_healthz_reports_database_and_queue(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == {"ok": True, "vendor": "postgresql"}
    assert body["queue"]["ok"] is True
    assert body["queue"]["backend"] in {"SqliteHuey", "RedisHuey"}


@pytest.mark.django_db
def test_healthz_is_503_when_the_database_is_unreachable(client, monkeypatch):
    from django.db.backends.postgresql.base import DatabaseWrapper

    def refuse(self, *args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(DatabaseWrapper, "create_cursor", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"] == {"ok": False, "error": "OperationalError"}


def test_healthz_is_503_when_postgres_really_is_down(tmp_path):
    """A real server that stops answering: point a fresh process at a closed port."""
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nothing",
        "DEBUG": "1",
        "HUEY_SQLITE_PATH": str(tmp_path / "huey.sqlite3"),
    }
    env.pop("REDIS_URL", None)
    code = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        "r = Client().get('/healthz', HTTP_HOST='localhost');"
        "print(r.status_code, json.loads(r.content)['database']['ok'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["503", "False"]
