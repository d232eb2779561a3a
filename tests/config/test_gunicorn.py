"""config/gunicorn.py under a real gunicorn: with PROMETHEUS_MULTIPROC_DIR, /metrics adds up
every worker's counts, those of workers that have since exited included."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.config.test_outage import Browser, database_url, django_env, free_port, wait_until
from tests.helpers import stop_process

BASE_DIR = Path(__file__).resolve().parents[2]
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
BAD_SIGNATURE = 'seatlock_webhooks_total{outcome="bad_signature"}'


def bad_signature_count(server: Browser) -> float:
    body = server.request("/metrics").body
    match = re.search(re.escape(BAD_SIGNATURE) + r" (\S+)", body)
    assert match, body[-2000:]
    return float(match.group(1))


def post_bad_webhooks(server: Browser, count: int) -> None:
    for _ in range(count):
        answer = server.request(
            "/stripe/webhook/", data={"x": "1"}, headers={"Stripe-Signature": "t=1,v1=00"}
        )
        assert answer.status == 400


def booted_workers(log: Path) -> list[str]:
    return re.findall(r"Booting worker with pid: (\d+)", log.read_text(errors="replace"))


def exited_workers(log: Path) -> list[str]:
    return re.findall(r"Worker exiting \(pid: (\d+)\)", log.read_text(errors="replace"))


@pytest.fixture
def gunicorn_with_multiproc_dir(db, tmp_path):
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    # What a crashed earlier run could leave behind: unreadable, so it must be cleared at start.
    (multiproc / "counter_424242.db").write_bytes(b"not a metrics file")
    port = free_port()
    env = django_env(
        database_url(),
        tmp_path,
        PROMETHEUS_MULTIPROC_DIR=str(multiproc),
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="2",
        GUNICORN_ACCESS_LOG="",
    )
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [GUNICORN, "config.wsgi", "-c", "config/gunicorn.py", "--no-control-socket"],
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Browser(f"http://127.0.0.1:{port}")

    def answers() -> bool:
        assert process.poll() is None, log.read_text(errors="replace")[-3000:]
        try:
            return server.request("/metrics").status == 200
        except OSError:
            return False

    assert wait_until(answers, 60), log.read_text(errors="replace")[-3000:]
    yield process, server, log, multiproc
    stop_process(process)


def test_metrics_add_up_across_workers_and_restarts(gunicorn_with_multiproc_dir):
    process, server, log, multiproc = gunicorn_with_multiproc_dir
    assert not (multiproc / "counter_424242.db").exists()
    assert bad_signature_count(server) == 0
    post_bad_webhooks(server, 3)
    assert bad_signature_count(server) == 3

    first = booted_workers(log)
    assert len(first) == 2
    os.kill(process.pid, signal.SIGHUP)  # gunicorn replaces every worker with a new process
    assert wait_until(lambda: set(first) <= set(exited_workers(log)) and len(booted_workers(log)) == 4, 60), (
        log.read_text(errors="replace")[-3000:]
    )
    post_bad_webhooks(server, 2)  # only new workers are left to answer
    assert bad_signature_count(server) == 5
    pids = {p.stem.rsplit("_", 1)[1] for p in multiproc.glob("counter_*.db")}
    assert set(first) & pids and pids - set(first)  # counted by old and new processes alike
