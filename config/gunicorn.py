"""gunicorn settings for production and `make bench`; every value can be set from the environment."""

import multiprocessing
import os

from prometheus_client import multiprocess

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
# Sync workers: a hold is a short transaction that waits on PostgreSQL row locks, so threads
# buy little and the worker count is what bounds concurrent transactions.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync" if threads == 1 else "gthread")
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = 500
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Several worker processes, one /metrics: with PROMETHEUS_MULTIPROC_DIR set (in the environment,
# before any worker imports prometheus_client) every process writes its samples to files there
# and /metrics merges them. The directory is emptied when gunicorn starts, so a restart is a
# counter reset, which Prometheus expects; a worker that exits is marked dead (its live gauges
# go, its counters stay counted).
PROMETHEUS_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def on_starting(server):
    clear_multiproc_dir()


def clear_multiproc_dir() -> None:
    """Empty PROMETHEUS_MULTIPROC_DIR (when set) before any worker starts; config/servers.py
    calls it too."""
    if PROMETHEUS_MULTIPROC_DIR:
        os.makedirs(PROMETHEUS_MULTIPROC_DIR, exist_ok=True)
        for name in os.listdir(PROMETHEUS_MULTIPROC_DIR):
            if name.endswith(".db"):
                os.remove(os.path.join(PROMETHEUS_MULTIPROC_DIR, name))


def child_exit(server, worker):
    if PROMETHEUS_MULTIPROC_DIR:
        multiprocess.mark_process_dead(worker.pid)
