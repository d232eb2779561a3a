"""Fixtures shared by tests/ and e2e/ (real PostgreSQL through pytest-django)."""

import os

pytest_plugins = ["tests.fixtures"]


def pytest_configure(config):
    """Start this checkout's embedded PostgreSQL for the session when DATABASE_URL is unset.

    This runs before any fixture, so pytest-django creates the test database on it. Settings
    were loaded a moment earlier (by pytest-django) with the port the server remembered; when
    the server had to move to another port just now, the settings follow it. Every connection
    shares that settings dict and none is open yet.
    """
    if os.environ.get("DATABASE_URL") or config.option.help or config.option.version:
        return
    from django.conf import settings

    from config import embedded_db

    cluster = embedded_db.configured(settings.VAR_DIR)
    embedded_db.ensure_running(cluster)
    settings.DATABASES["default"]["PORT"] = cluster.port()  # remembered by ensure_running
