"""A real PostgreSQL server for the tests: one throwaway cluster per test session, a fresh database per test.

The cluster is made with Debian's ``initdb``/``pg_ctl`` in a temporary directory and listens only on a unix socket
there (no TCP port to collide with). PostgreSQL refuses to run as root, so as root the cluster belongs to the
``postgres`` user that Debian's package creates. ``make test`` installs the package (``make postgres``) and sets
``NETCANVAS_TEST_POSTGRES=required``: there a missing server fails the tests; a plain ``pytest`` without PostgreSQL
installed skips the PostgreSQL cases and says why.

Fixtures: ``postgres_server`` (session), ``postgres_url`` (a new empty database) and ``database_url``, parametrized
over SQLite and PostgreSQL, for tests that must pass on both.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

REQUIRED = os.environ.get("NETCANVAS_TEST_POSTGRES") == "required"
USER = "netcanvas"


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin directory (Debian keeps one per major version)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


@dataclass
class PostgresServer:
    bin: Path
    socket_dir: Path
    run_as: list[str]
    """A ``runuser`` prefix when we are root, else empty."""
    _names: itertools.count[int]

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{USER}@/{database}?host={self.socket_dir}"

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(host=str(self.socket_dir), user=USER, dbname="postgres", autocommit=True)

    def create_database(self) -> str:
        name = f"test_{next(self._names)}"
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def pg_ctl(self, *args: str) -> None:
        data = self.socket_dir / "data"
        subprocess.run([*self.run_as, str(self.bin / "pg_ctl"), "-D", str(data), *args],
                       check=True, capture_output=True, text=True, timeout=60)


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = postgres_bin()
    if bin_dir is None:
        message = "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): `make postgres` installs it"
        if REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    run_as: list[str] = []
    # /tmp: every user can reach it (the postgres user too) and the socket path stays short
    root = tempfile.mkdtemp(prefix="netcanvas-pg-", dir="/tmp" if Path("/tmp").is_dir() else None)
    if os.geteuid() == 0:
        # postgres refuses to run as root: give the cluster to Debian's postgres user
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    server = PostgresServer(bin_dir, Path(root), run_as, itertools.count(1))
    data, log = Path(root) / "data", Path(root) / "server.log"
    try:
        _run([*run_as, str(bin_dir / "initdb"), "-D", str(data), "-U", USER, "--auth=trust", "-E", "UTF8",
              "--locale=C", "--no-sync", "--no-instructions"])
        # Unix socket only, no durability (a throwaway cluster), small memory: cheap on a shared 2-core machine.
        options = (f"-k {root} -c listen_addresses='' -c fsync=off -c synchronous_commit=off "
                   "-c full_page_writes=off -c shared_buffers=16MB -c max_connections=60")
        _run([*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
              "-o", options, "start"])
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        tail = log.read_text()[-2000:] if log.is_file() else ""
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"could not start a PostgreSQL server: {e}\n{tail}")
    try:
        yield server
    finally:
        try:
            server.pg_ctl("stop", "-m", "immediate", "-w")
        finally:
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A new, empty database on the session's server, dropped after the test."""
    name = postgres_server.create_database()
    yield postgres_server.url(name)
    postgres_server.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind: a SQLite file in the test's directory, or a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'netcanvas.db'}"
    return str(request.getfixturevalue("postgres_url"))
