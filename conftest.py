"""Fixtures shared by tests/ and e2e/ (real PostgreSQL through pytest-django)."""

pytest_plugins = ["tests.fixtures"]
