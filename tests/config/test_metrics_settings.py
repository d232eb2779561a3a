"""The metrics settings read from the environment, in a fresh process; bad values stop the start."""

import json
import os
import subprocess
import sys

PRINT_SETTINGS = """
import json, django
django.setup()
from django.conf import settings
print(json.dumps({"allowed": settings.METRICS_ALLOWED_IPS, "token": settings.METRICS_TOKEN}))
"""
NAMES = ("METRICS_ALLOWED_IPS", "METRICS_TOKEN", "PROMETHEUS_MULTIPROC_DIR", "METRICS_WORKER_PORT")


def run_settings(tmp_path, **env) -> subprocess.CompletedProcess:
    environ = {
        **{k: v for k, v in os.environ.items() if k not in NAMES},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "1",
        "HUEY_SQLITE_PATH": str(tmp_path / "huey.sqlite3"),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS], env=environ, capture_output=True, text=True, timeout=60
    )


def test_metrics_access_defaults_to_loopback_and_no_token(tmp_path):
    result = run_settings(tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "allowed": ["127.0.0.1", "::1"],
        "token": "",
    }


def test_metrics_access_comes_from_the_environment(tmp_path):
    result = run_settings(tmp_path, METRICS_ALLOWED_IPS="10.0.0.0/8, fd00::/8", METRICS_TOKEN="t0ken")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "allowed": ["10.0.0.0/8", "fd00::/8"],
        "token": "t0ken",
    }


def test_a_bad_allowed_address_stops_the_start(tmp_path):
    result = run_settings(tmp_path, METRICS_ALLOWED_IPS="10.0.0.0/8,prometheus.internal")
    assert result.returncode == 1
    assert "METRICS_ALLOWED_IPS: 'prometheus.internal' is not an address or network" in result.stderr


def test_an_empty_or_missing_multiprocess_dir_stops_the_start(tmp_path):
    for value in ("", str(tmp_path / "missing")):
        result = run_settings(tmp_path, PROMETHEUS_MULTIPROC_DIR=value)
        assert result.returncode == 1
        assert "PROMETHEUS_MULTIPROC_DIR must name an existing directory" in result.stderr
