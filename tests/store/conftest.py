"""Store fixtures: a migrated database on SQLite and, where available, a real PostgreSQL."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from annotator.store.db import Store, open_store
from annotator.store.services.datasets import register_dataset
from tests.annotator.server import free_port
from tests.data.trees import reference_structure, small_sysu, write_sysu


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _pg_run(cmd: list[str], base: Path) -> None:
    """Run a server command (as ``postgres`` when we are root); fail with its output."""
    done = subprocess.run(_as_postgres(cmd), capture_output=True, text=True)
    if done.returncode != 0:
        log = base / "log"
        tail = log.read_text()[-2000:] if log.exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(
            f"{Path(cmd[0]).name} failed ({done.returncode}): {done.stderr.strip()}\n{tail}"
        )


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throw-away PostgreSQL cluster on localhost (initdb + pg_ctl), for the session."""
    bin_dir = _pg_bin()
    if bin_dir is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("PostgreSQL server binaries missing in CI (scripts/install-system-deps.sh)")
        pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
    # pytest's tmp dirs are private to root: the server's own user could not enter them
    base = Path(tempfile.mkdtemp(prefix="paenet-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
    _pg_run([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"], base)
    port = free_port()
    _pg_run(
        [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w",
         "-o", f"-p {port} -k {sock} -c listen_addresses=127.0.0.1", "start"],
        base,
    )  # fmt: skip
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


_pg_counter = iter(range(10**6))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'annotations.sqlite3'}"
        return
    import sqlalchemy as sa

    server = request.getfixturevalue("postgres_url")
    name = f"t{next(_pg_counter)}_{int(time.time() * 1000) % 10**8}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    yield server.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = open_store(db_url)
    yield s
    s.dispose()


@pytest.fixture
def sysu_store(store: Store, tmp_path: Path) -> Store:
    """A store with the small SYSU tree registered as ``sysu``."""
    root = small_sysu(tmp_path / "SYSU-MM01")
    with store.write() as s:
        register_dataset(s, "sysu", "sysu", root)
    return store


@pytest.fixture(scope="session")
def real_sysu_tree(reference_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A zero-byte SYSU-MM01 tree with the real ids, cameras and counts (45,863 images),
    written once per test session (it takes seconds)."""
    counts, splits = reference_structure(reference_dir)
    return write_sysu(tmp_path_factory.mktemp("sysu") / "SYSU-MM01", counts, splits)
