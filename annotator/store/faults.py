"""Database faults turned into one sentence for a person: which database, what is wrong,
what to do. The store raises :class:`~annotator.store.errors.DatabaseError` with it, so
each CLI and the app needs a single ``except StoreError`` to print ``error: …``.

The database is always named without its password (:func:`display_url`). Faults that
are not recognised are re-raised unchanged (a bug should keep its traceback).
"""

from __future__ import annotations

import re
import shlex

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, NoSuchModuleError

from annotator.store.errors import DatabaseError

URL_EXAMPLES = "sqlite:///path/to/annotations.sqlite3 or postgresql+psycopg://user@host/dbname"
_PASSWORD_IN_URL = re.compile(r"(://[^:/@]*:)[^@]*@")


def display_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (also when the URL does not parse)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # a malformed URL: hide what looks like user:password@
        return _PASSWORD_IN_URL.sub(r"\1***@", url)


def public_url(url: str) -> str:
    """``url`` with its password removed (not masked): what an export records."""
    try:
        u = make_url(url)
    except Exception:  # not an SQLAlchemy URL: keep nothing that could be a secret
        return url.split("@")[-1]
    bare = URL.create(u.drivername, u.username, None, u.host, u.port, u.database, u.query)
    return bare.render_as_string(hide_password=False)


def check_url(url: str) -> None:
    """Raise :class:`DatabaseError` when ``url`` does not parse (e.g. a port that is not
    a number), before any engine is made."""
    try:
        make_url(url).port  # noqa: B018  (a bad port raises only when read)
    except (ArgumentError, ValueError):
        raise DatabaseError(
            f"database {display_url(url)}: malformed database URL; expected {URL_EXAMPLES}"
        ) from None


# (regex searched in the driver's message, lower-cased; what is wrong and what to do);
# the first match wins; ``{file}`` in the advice is the SQLite file (``FILE`` elsewhere)
_KNOWN: tuple[tuple[str, str], ...] = (
    ("file is not a database", "is not an SQLite database file; point --db (or PAENET_DB_URL) "
     "at the annotations database, or move this file away"),
    ("database disk image is malformed|malformed database schema", "is damaged (SQLite finds "
     "it malformed: a truncated or overwritten file); copy out what is readable with "
     'sqlite3 {file} ".recover" | sqlite3 recovered.sqlite3 and use --db on the copy, or '
     "restore the file from a backup"),
    ("readonly database", "is read-only (the file, or its folder where SQLite keeps its -wal "
     "and -shm files); give this user write permission on both, or use another --db"),
    ("unable to open database file", "cannot be opened: its folder is missing or not writable; "
     "create the folder or give this user write permission on it, or use another --db"),
    ("database is locked", "is locked by another process for longer than the timeout; finish "
     "or stop the other writer (another paenet-labels, the app mid-import) and try again"),
    ("disk i/o error", "could not be read or written (disk I/O error); check the disk and "
     "the file, then try again"),
    ("password authentication failed", "refused the user name or password; check the "
     "credentials in the URL"),
    (r'(database|role) ".*" does not exist', "names a database or role that does not exist "
     "on the server; create it (createdb NAME) or fix the URL"),
    ("failed to resolve host", "names a host that cannot be resolved; fix the host in the URL"),
    ("connection refused", "cannot be reached: no PostgreSQL server answers at that host and "
     "port; start it or fix the host/port in the URL"),
    ("timeout expired", "did not answer in time; check that the server runs and the network "
     "reaches it"),
    ("connection failed", "cannot be reached; check that the server runs and the URL's host "
     "and port"),
    ("could not connect", "cannot be reached; check that the server runs and the URL's host "
     "and port"),
)  # fmt: skip


def translate(exc: BaseException, url: str) -> DatabaseError | None:
    """The :class:`DatabaseError` for a recognised fault of database ``url``, else None."""
    where = f"database {display_url(url)}"
    if isinstance(exc, NoSuchModuleError):
        return DatabaseError(
            f"{where}: unknown kind of database in the URL; expected {URL_EXAMPLES}"
        )
    if isinstance(exc, ArgumentError):
        return DatabaseError(f"{where}: malformed database URL; expected {URL_EXAMPLES}")
    if isinstance(exc, IntegrityError) or not isinstance(exc, DBAPIError):
        return None
    message = str(exc.orig if exc.orig is not None else exc).lower()
    for pattern, advice in _KNOWN:
        if re.search(pattern, message):
            return DatabaseError(f"{where} {advice.format(file=_shell_file(url))}")
    return None


def sqlite_file(url: str) -> str | None:
    """The file of an SQLite URL (as written in it), None for another database or memory."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1] if "///" in url else ""
    return path if path and path != ":memory:" else None


def _shell_file(url: str) -> str:
    path = sqlite_file(url)
    return shlex.quote(path) if path else "FILE"


def check_version_table(engine: Engine, url: str, tables: tuple[str, ...]) -> None:
    """Refuse a database whose ``alembic_version`` is missing while our tables exist, or
    holds several rows: migrating it would fail half-way with a raw Alembic error."""
    where = f"database {display_url(url)}"
    with engine.connect() as conn:
        present = set(inspect(conn).get_table_names())
        if "alembic_version" not in present:
            ours = sorted(present & set(tables))
            if ours:
                raise DatabaseError(
                    f"{where} has the annotator's tables ({', '.join(ours[:4])}, …) but no "
                    "alembic_version table, so its schema version is unknown; restore it from "
                    "a backup, or point --db at another database"
                )
            return
        rows = [r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))]
    if len(rows) > 1:
        raise DatabaseError(
            f"{where}: its alembic_version table has {len(rows)} rows ({', '.join(rows)}); "
            "it must hold exactly one. Delete the wrong row (or restore a backup) and retry"
        )
