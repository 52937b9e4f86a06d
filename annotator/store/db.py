"""Engines, short sessions and migrations for the annotation store.

Database URL: ``--db URL`` on every command, else ``PAENET_DB_URL``, else the
embedded default ``sqlite:///datasets/annotations.sqlite3`` (relative to the
working directory). PostgreSQL works by URL: ``postgresql+psycopg://user@host/db``.

On SQLite every connection uses WAL, ``synchronous=NORMAL``, a 30 s busy timeout
and foreign keys; write transactions start with ``BEGIN IMMEDIATE`` so that two
writers queue for the lock instead of one failing with "database is locked".
"""

from __future__ import annotations

import contextlib
import importlib.resources
import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from annotator.store import faults
from annotator.store.errors import DatabaseError

log = logging.getLogger(__name__)

ENV_VAR = "PAENET_DB_URL"
DEFAULT_URL = "sqlite:///datasets/annotations.sqlite3"
MIGRATIONS_PACKAGE = "annotator.store"
MIGRATIONS_DIR = "migrations"
"""The Alembic scripts ship inside the package (``annotator/store/migrations``), so a
wheel install migrates like a checkout; the repository's top-level ``alembic/`` is a
link to that folder, for ``alembic`` commands run with the root ``alembic.ini``."""
BUSY_TIMEOUT_MS = 30_000


class SchemaError(DatabaseError):
    """The database's schema revision is unknown to (newer than) this code."""


def resolve_url(url: str | None = None) -> str:
    return url or os.environ.get(ENV_VAR) or DEFAULT_URL


def _ensure_wal(cur) -> None:  # type: ignore[no-untyped-def]
    """Put the file in WAL mode once; later connections only read the mode.

    The mode is stored in the file, so re-issuing ``journal_mode=WAL`` on every connection
    only costs a lock. SQLite can answer "database is locked" to the journal-mode pragma at
    once, without waiting out the busy timeout (the switch needs the file to itself, and a
    connection that meets another one's WAL recovery or final checkpoint does not wait), so
    several processes opening the store together could fail at connect. Both the read and
    the switch are therefore retried until the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if str(cur.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cur.execute("PRAGMA journal_mode=WAL").fetchone()
            return
        except sqlite3.OperationalError as exc:
            transient = "locked" in str(exc) or "busy" in str(exc)
            if not transient or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sqlite_engine(url: str, immediate: bool) -> Engine:
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        _ensure_wal(cur)
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Store:
    """A database: a read engine and a write engine (on SQLite: ``BEGIN IMMEDIATE``)."""

    def __init__(self, url: str | None = None) -> None:
        self.url = resolve_url(url)
        faults.check_url(self.url)
        with self.faults():
            if self.url.startswith("sqlite"):
                db_path = self.url.split("///", 1)[-1]
                if db_path and db_path != ":memory:":
                    _make_folder(self.url, Path(db_path).parent)
                self.read_engine = _sqlite_engine(self.url, immediate=False)
                self.write_engine = _sqlite_engine(self.url, immediate=True)
            else:
                self.read_engine = self.write_engine = create_engine(self.url, pool_pre_ping=True)
        self._read = sessionmaker(self.read_engine, expire_on_commit=False)
        self._write = sessionmaker(self.write_engine, expire_on_commit=False)

    @property
    def display_url(self) -> str:
        """The URL without its password: what messages and pages show."""
        return faults.display_url(self.url)

    @contextlib.contextmanager
    def faults(self) -> Iterator[None]:
        """Re-raise a recognised database fault as :class:`DatabaseError` (see ``faults``)."""
        try:
            yield
        except Exception as exc:
            translated = faults.translate(exc, self.url)
            if translated is None:
                raise
            log.debug("database fault on %s", self.display_url, exc_info=True)
            raise translated from exc

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        with self.faults(), self._read() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """One short write transaction: committed at the end, rolled back on error."""
        with self.faults(), self._write() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.read_engine.dispose()
        if self.write_engine is not self.read_engine:
            self.write_engine.dispose()


def _make_folder(url: str, folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseError(
            f"database {faults.display_url(url)}: cannot create its folder {folder} "
            f"({exc.strerror or exc}); create it, or point --db at another database"
        ) from None


def migrations_dir() -> Path:
    """The installed package's Alembic script folder, found through ``importlib.resources``."""
    folder = importlib.resources.files(MIGRATIONS_PACKAGE) / MIGRATIONS_DIR
    if not folder.is_dir():
        raise SchemaError(
            f"the database migrations are missing from the installed package "
            f"({MIGRATIONS_PACKAGE}/{MIGRATIONS_DIR}); reinstall the tool"
        )
    return Path(str(folder))


def alembic_config(url: str) -> Config:
    """The programmatic Alembic configuration (the root ``alembic.ini`` is for developers)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def current_revision(store: Store) -> str | None:
    with store.write_engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def migrate_to_head(store: Store | str) -> str:
    """Upgrade the database (a :class:`Store` or a URL) to the code's head revision (never
    ``create_all``); returns the head revision.

    Raises :class:`SchemaError` when the database carries a revision this code does
    not know: it was written by a newer version of the tool.
    """
    if isinstance(store, str):
        owned = Store(store)
        try:
            return migrate_to_head(owned)
        finally:
            owned.dispose()
    with store.faults():
        return _migrate(store)


def _migrate(store: Store) -> str:
    from annotator.store.models import Base

    faults.check_version_table(store.write_engine, store.url, tuple(Base.metadata.tables))
    script = ScriptDirectory.from_config(alembic_config(store.url))
    current = current_revision(store)
    if current is not None and current not in {s.revision for s in script.walk_revisions()}:
        raise SchemaError(
            f"database {store.display_url} has schema revision {current!r}, which this version of the "
            f"tool does not know (its newest is {script.get_current_head()!r}): it was written "
            "by a newer version. Upgrade the tool (git pull; pip install -e .) instead of "
            "using this database with an older one."
        )
    cfg = alembic_config(store.url)
    with store.write_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    head = script.get_current_head()
    if current != head:
        log.info("database %s migrated from %s to %s", store.display_url, current, head)
    assert head is not None
    return head


def open_store(url: str | None = None) -> Store:
    """A store migrated to head: what the app and every CLI call at start."""
    store = Store(url)
    try:
        migrate_to_head(store)
    except BaseException:
        store.dispose()
        raise
    return store
