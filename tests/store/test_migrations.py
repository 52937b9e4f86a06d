from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from annotator.store.db import SchemaError, Store, alembic_config, head_revision, migrate_to_head
from annotator.store.models import Base


def test_upgrade_downgrade_upgrade_and_no_autogenerate_diff(db_url: str) -> None:
    store = Store(db_url)
    cfg = alembic_config(db_url)
    command.upgrade(cfg, "head")
    tables = set(inspect(store.write_engine).get_table_names())
    assert {"datasets", "identities", "images", "labels", "decisions", "history"} <= tables
    command.downgrade(cfg, "base")
    assert set(inspect(store.write_engine).get_table_names()) <= {"alembic_version"}
    assert migrate_to_head(store) == head_revision()
    with store.write_engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    assert diff == []
    store.dispose()


def test_sqlite_pragmas(tmp_path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    migrate_to_head(store)
    with store.read() as s:
        assert s.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert s.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert s.execute(text("PRAGMA busy_timeout")).scalar() == 30000
    store.dispose()


def test_newer_schema_is_refused_with_a_clear_message(db_url: str) -> None:
    store = Store(db_url)
    migrate_to_head(store)
    with store.write_engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    with pytest.raises(SchemaError, match="'9999_future'.*newer version"):
        migrate_to_head(store)
    with pytest.raises(SchemaError, match="does not know"):
        migrate_to_head(db_url)  # the URL form, as the CLI and the app call it
    store.dispose()
