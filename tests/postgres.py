"""A throwaway PostgreSQL cluster for tests: initdb into a temp dir, serve on 127.0.0.1, delete.

PostgreSQL refuses to run as root, so when the tests run as root the cluster is created and run
by the `postgres` OS user (which the Debian `postgresql` package creates). Tests that need it
are skipped, with the command that installs what is missing, when the server binaries or
psycopg are absent; set `TROUPE_TEST_POSTGRES=require` to make that a failure instead (in CI).
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support import free_port

INSTALL_SERVER = "apt-get install -y postgresql  (Debian/Ubuntu; any PostgreSQL 13+ works)"
INSTALL_DRIVER = ".venv/bin/pip install -e '.[postgres]'  (psycopg[binary])"
SERVICE_USER = "postgres"


def _unavailable(reason: str) -> None:
    message = f"PostgreSQL tests need {reason}"
    if os.environ.get("TROUPE_TEST_POSTGRES") == "require":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def find_bin_dir() -> Path | None:
    """The newest `/usr/lib/postgresql/N/bin` with initdb, else initdb on PATH, else None."""
    candidates = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    candidates.sort(key=lambda path: int(Path(path).parent.parent.name), reverse=True)
    found = candidates[0] if candidates else shutil.which("initdb")
    return Path(found).parent if found else None


@dataclass
class PostgresCluster:
    """One `postgres` server process owning a data dir under `root`; trust auth, loopback only."""

    bin_dir: Path
    root: Path
    port: int = 0
    _run_as: list[str] = field(default_factory=list)
    _names: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        return self.root / "server.log"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, tool: str, *args: str) -> None:
        command = [*self._run_as, str(self.bin_dir / tool), *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            log = self.log_path.read_text() if self.log_path.exists() else ""
            raise RuntimeError(
                f"{tool} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}\n{log}"
            )

    def init(self) -> None:
        if os.geteuid() == 0:
            user = pwd.getpwnam(SERVICE_USER)
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._run_as = ["runuser", "-u", SERVICE_USER, "--"]
        self._run(
            "initdb",
            *("-D", str(self.data_dir), "-U", "postgres", "--auth=trust"),
            *("--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"),
        )

    def start(self) -> None:
        # A free port can be taken between asking and binding, so try a few.
        for _ in range(5):
            self.port = free_port()
            options = " ".join(
                (
                    f"-p {self.port} -k {self.root}",
                    "-c listen_addresses=127.0.0.1",
                    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                    "-c max_connections=200",
                )
            )
            try:
                self._run(
                    "pg_ctl",
                    *("-D", str(self.data_dir), "-l", str(self.log_path)),
                    *("-o", options, "-w", "-t", "60", "start"),
                )
                return
            except RuntimeError:
                if "could not bind" not in self.log_path.read_text():
                    raise
        raise RuntimeError(f"PostgreSQL could not bind a port:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")

    def create_database(self, prefix: str = "troupe") -> str:
        """A new empty database; its SQLAlchemy URL."""
        import psycopg

        name = f"{prefix}_{next(self._names)}"
        dsn = f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def start_cluster() -> PostgresCluster:
    """Start a cluster, or skip (fail with TROUPE_TEST_POSTGRES=require) if one cannot be had."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable(f"psycopg: {INSTALL_DRIVER}")
    bin_dir = find_bin_dir()
    if bin_dir is None or not (bin_dir / "pg_ctl").exists():
        _unavailable(f"the PostgreSQL server binaries (initdb, pg_ctl): {INSTALL_SERVER}")
    assert bin_dir is not None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVICE_USER)
        except KeyError:
            _unavailable(f"an OS user {SERVICE_USER!r} to run the server as (running as root)")
        if shutil.which("runuser") is None:
            _unavailable("runuser (util-linux) to run the server as 'postgres' (running as root)")
    # Not pytest's tmp_path: that is private to root, and the server user must reach its dir.
    cluster = PostgresCluster(bin_dir=bin_dir, root=Path(tempfile.mkdtemp(prefix="troupe-pg-")))
    try:
        cluster.init()
        cluster.start()
    except BaseException:
        shutil.rmtree(cluster.root, ignore_errors=True)
        raise
    return cluster


def remove_cluster(cluster: PostgresCluster) -> None:
    try:
        cluster.stop()
    finally:
        shutil.rmtree(cluster.root, ignore_errors=True)
