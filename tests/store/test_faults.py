"""Database faults end in one ``error:`` line naming the database (never its password) and
what to do, from the store, the CLI and the app alike."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from annotator import cli_labels
from annotator.store import db
from annotator.store.db import open_store
from annotator.store.errors import DatabaseError
from annotator.store.faults import display_url
from tests.annotator.server import free_port


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make ``path`` unwritable for this process: mode bits, or (as root, who ignores them)
    the immutable attribute."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        try:
            yield
        finally:
            path.chmod(mode)
        return
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("running as root and chattr +i is not available here")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def _cli_error(capsys: pytest.CaptureFixture[str], url: str, *command: str) -> str:
    code = cli_labels.main(["--db", url, *command])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err  # one line, no traceback
    assert lines[0].startswith("paenet-labels: error: database ")
    return lines[0]


def test_file_that_is_not_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "notes.sqlite3"
    path.write_text("lab notes, not a database\n")
    line = _cli_error(capsys, f"sqlite:///{path}", "export", str(tmp_path / "out.csv"))
    assert f"sqlite:///{path}" in line and "is not an SQLite database file" in line
    assert path.read_text() == "lab notes, not a database\n"  # untouched


def _damaged_copies(tmp_path: Path) -> dict[str, Path]:
    """A real annotations database, then a truncated copy and one with garbled pages."""
    path = tmp_path / "good.sqlite3"
    store = open_store(f"sqlite:///{path}")
    with store.write() as s:
        s.execute(text("CREATE TABLE filler (x TEXT)"))
        for _ in range(300):
            s.execute(text("INSERT INTO filler VALUES (:x)"), {"x": "y" * 200})
    store.dispose()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=DELETE")  # checkpoint: everything in the main file
    conn.close()
    data = path.read_bytes()
    truncated = tmp_path / "truncated.sqlite3"
    truncated.write_bytes(data[: len(data) // 3])
    garbled = bytearray(data)
    page = 4096
    for offset in range(page, len(garbled), 3 * page):  # every third page from page 2
        garbled[offset + 8 : offset + 400] = bytes(range(256)) + bytes(136)
    (tmp_path / "garbled.sqlite3").write_bytes(bytes(garbled))
    return {"truncated": truncated, "garbled": tmp_path / "garbled.sqlite3"}


@pytest.mark.parametrize("damage", ["truncated", "garbled"])
def test_malformed_database_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    path = _damaged_copies(tmp_path)[damage]
    before = path.read_bytes()
    line = _cli_error(capsys, f"sqlite:///{path}", "export", str(tmp_path / "out.csv"))
    assert f"sqlite:///{path}" in line and "malformed" in line
    assert f'sqlite3 {path} ".recover"' in line and "backup" in line
    assert path.read_bytes() == before  # untouched


def test_read_only_database_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.sqlite3"
    path.touch()  # a new database: migrating it must write
    with read_only(path):
        line = _cli_error(capsys, f"sqlite:///{path}", "export", str(tmp_path / "out.csv"))
    assert str(path) in line and "read-only" in line and "write permission" in line


def test_read_only_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    open_store(f"sqlite:///{folder / 'a.sqlite3'}").dispose()
    for extra in folder.glob("a.sqlite3-*"):
        extra.unlink()
    with read_only(folder):
        line = _cli_error(
            capsys, f"sqlite:///{folder / 'a.sqlite3'}", "register", "--name", "x",
            "--kind", "sysu", str(tmp_path),
        )  # fmt: skip
    assert "read-only" in line or "cannot be opened" in line


def test_locked_past_the_timeout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.sqlite3"
    open_store(f"sqlite:///{path}").dispose()
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 200)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process mid-write
    try:
        line = _cli_error(
            capsys, f"sqlite:///{path}", "register", "--name", "x", "--kind", "sysu",
            str(tmp_path),
        )  # fmt: skip
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert str(path) in line and "locked by another process" in line


def test_locked_during_a_write_is_a_database_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.sqlite3"
    store = open_store(f"sqlite:///{path}")
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 200)
    store.dispose()
    store = db.Store(f"sqlite:///{path}")  # engines made with the short timeout
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(DatabaseError, match="locked by another process"):
            with store.write() as s:
                s.execute(text("SELECT 1"))
    finally:
        other.execute("ROLLBACK")
        other.close()
        store.dispose()


@pytest.mark.parametrize(
    "url, shown, message",
    [
        ("not a url", "not a url", "malformed database URL"),
        ("postgresql://ada:hunter2@host:port/db", "ada:***@host", "malformed database URL"),
        ("mongodb://host/db", "mongodb://host/db", "unknown kind of database"),
    ],
)
def test_malformed_url(
    capsys: pytest.CaptureFixture[str], url: str, shown: str, message: str
) -> None:
    line = _cli_error(capsys, url, "export", "out.csv")
    assert shown in line and message in line and "hunter2" not in line


def test_unreachable_postgresql_hides_the_password(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"postgresql+psycopg://ada:hunter2@127.0.0.1:{free_port()}/labels"
    line = _cli_error(capsys, url, "export", "out.csv")
    assert "ada:***@127.0.0.1" in line and "hunter2" not in line
    assert "no PostgreSQL server answers" in line


def _after_version_table_edit(tmp_path: Path, capsys: pytest.CaptureFixture[str], sql: str) -> str:
    """The CLI's error line on a fresh store whose version table ``sql`` changed."""
    path = tmp_path / "a.sqlite3"
    store = open_store(f"sqlite:///{path}")
    with store.write_engine.begin() as conn:
        conn.execute(text(sql))
    store.dispose()
    return _cli_error(capsys, f"sqlite:///{path}", "export", str(tmp_path / "o.csv"))


def test_version_table_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = _after_version_table_edit(tmp_path, capsys, "DROP TABLE alembic_version")
    assert "no alembic_version table" in line and "restore it from a backup" in line


def test_version_table_with_two_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sql = "INSERT INTO alembic_version VALUES ('0002_other')"
    line = _after_version_table_edit(tmp_path, capsys, sql)
    assert "alembic_version table has 2 rows" in line and "0002_other" in line


def test_display_url() -> None:
    assert display_url("postgresql+psycopg://u:p%40ss@h:5432/d") == (
        "postgresql+psycopg://u:***@h:5432/d"
    )
    assert display_url("sqlite:///a/b.sqlite3") == "sqlite:///a/b.sqlite3"
    assert display_url("pg://u:secret@h:x/d") == "pg://u:***@h:x/d"


@pytest.mark.postgres
def test_missing_postgresql_database(postgres_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    url = postgres_url.rsplit("/", 1)[0] + "/no_such_labels"
    line = _cli_error(capsys, url, "export", "out.csv")
    assert "no_such_labels" in line and "does not exist on the server; create it" in line


def test_other_database_errors_keep_their_traceback() -> None:
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from annotator.store.faults import translate

    bug = ProgrammingError("SELECT * FROM t", {}, Exception('relation "t" does not exist'))
    assert translate(bug, "postgresql+psycopg://u@h/d") is None
    odd = OperationalError("SELECT 1", {}, Exception("something new"))
    assert translate(odd, "sqlite:///a.sqlite3") is None
    assert translate(ValueError("label value must be 0, 1"), "sqlite:///a") is None
