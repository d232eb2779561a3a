"""`make run`: SeatLock with everything it needs, on one machine, in one terminal.

Starts (or reuses) this checkout's embedded PostgreSQL unless DATABASE_URL is set, migrates
and seeds the database, then runs side by side: the Stripe simulator (only when no real Stripe
key is configured), a Huey consumer, and Django's development server. Ctrl-C stops them all.
"""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from config import embedded_db

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def say(message: str) -> None:
    print(f"\033[1m[seatlock]\033[0m {message}", flush=True)


def manage(*args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=BASE_DIR, check=True)


def wait_for(url: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - our own loopback URL
                return True
        except OSError:
            time.sleep(0.2)
    return False


def main() -> int:
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    port = os.environ.get("PORT", "8000")
    host = os.environ.get("HOST", "127.0.0.1")
    os.environ.setdefault("SITE_URL", f"http://{host}:{port}")

    if not os.environ.get("DATABASE_URL"):
        embedded_db.ensure_running()  # before settings load: they read the port it remembers

    import django

    django.setup()
    from django.conf import settings

    db = settings.DATABASES["default"]
    where = "embedded PostgreSQL" if settings.EMBEDDED_DATABASE else "DATABASE_URL"
    say(f"database: {where} at {db['HOST']}:{db['PORT']}/{db['NAME']}")
    say("applying migrations…")
    manage("migrate", "--no-input", "-v", "0")
    say("loading demo data…")
    manage("seed_demo")

    children: list[tuple[str, subprocess.Popen]] = []
    if settings.STRIPE_SIMULATOR:
        sim_port = settings.STRIPE_API_BASE.rsplit(":", 1)[-1].strip("/")
        say(f"Stripe simulator on {settings.STRIPE_API_BASE} (no STRIPE_SECRET_KEY set)")
        env = {
            **os.environ,
            "STRIPE_SIMULATOR_PORT": sim_port,
            "STRIPE_WEBHOOK_URL": f"http://127.0.0.1:{port}/stripe/webhook/",
            "STRIPE_WEBHOOK_SECRET": settings.STRIPE_WEBHOOK_SECRET,
            "STRIPE_SIMULATOR_PUBLIC_URL": settings.STRIPE_API_BASE,
        }
        children.append(
            (
                "stripe-simulator",
                subprocess.Popen([PYTHON, "-m", "checkout.simulator"], cwd=BASE_DIR, env=env),
            )
        )
    else:
        say("Stripe: real API with the configured STRIPE_SECRET_KEY")
    backend = settings.HUEY["huey_class"].rsplit(".", 1)[-1]
    say(f"task queue: {backend} consumer (python manage.py run_huey)")
    children.append(("huey", subprocess.Popen([PYTHON, "manage.py", "run_huey", "--quiet"], cwd=BASE_DIR)))
    children.append(
        (
            "web",
            subprocess.Popen(
                [PYTHON, "manage.py", "runserver", f"{host}:{port}", "--noreload"], cwd=BASE_DIR
            ),
        )
    )

    def stop(*_args) -> None:
        for _name, child in reversed(children):
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        for _name, child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()

    signal.signal(signal.SIGTERM, lambda *a: (stop(), sys.exit(0)))
    try:
        if wait_for(f"http://{host}:{port}/healthz", 30):
            say(f"SeatLock is up: http://{host}:{port}/  (Ctrl-C stops everything)")
            say(f"box office: http://{host}:{port}/box-office/  user 'boxoffice', password 'boxoffice-demo'")
        while all(child.poll() is None for _name, child in children):
            time.sleep(0.5)
        for name, child in children:
            if child.poll() is not None:
                say(f"{name} exited with code {child.returncode}; stopping the rest")
        return 1
    except KeyboardInterrupt:
        say("stopping…")
        return 0
    finally:
        stop()


if __name__ == "__main__":
    sys.exit(main())
