"""Typed identity splits: SYSU's fixed train/val/test, none for RegDB; progress counts
every identity once, with the aggregate apart from the splits."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from annotator.store.db import Store, alembic_config, migrate_to_head
from annotator.store.services.datasets import register_dataset
from annotator.store.services.label_reads import get_identity
from annotator.store.services.label_writes import set_label, set_labels
from annotator.store.services.queue import neighbour, next_identity, progress
from paenet.attributes import ATTRIBUTE_KEYS
from paenet.data.kinds import identity_split, identity_splits
from paenet.data.sysu import SysuSplit
from tests.data.trees import small_sysu, write_regdb, write_sysu

ALL_ZERO = dict.fromkeys(ATTRIBUTE_KEYS, 0)


def test_sysu_progress_per_split_and_overall(sysu_store: Store) -> None:
    # small_sysu: train 1 2 4 5 7 8, val 3 9, test 6 10 11
    with sysu_store.write() as s:
        set_labels(s, "sysu", 1, ALL_ZERO, "ann", 0)  # train, done
        set_labels(s, "sysu", 9, ALL_ZERO, "ann", 0)  # val, done
        set_label(s, "sysu", 6, "gender", 1, "ann", 0)  # test, partial
    with sysu_store.read() as s:
        report = progress(s, "sysu", "ann")
    assert list(report.by_split) == ["train", "val", "test"]
    o = report.overall
    assert (o.total, o.done, o.partial, o.unlabelled) == (11, 2, 1, 8)
    counts = {k: (p.total, p.done, p.partial) for k, p in report.by_split.items()}
    assert counts == {"train": (6, 1, 0), "val": (2, 1, 0), "test": (3, 0, 1)}
    assert report.overall.fraction == pytest.approx(2 / 11)


def test_regdb_progress_counts_every_identity_once(store: Store, tmp_path: Path) -> None:
    root = write_regdb(tmp_path / "RegDB", num_ids=20, per_modality=1)
    with store.write() as s:
        register_dataset(s, "regdb", "regdb", root)
        set_labels(s, "regdb", 4, ALL_ZERO, "ann", 0)
        set_label(s, "regdb", 5, "glasses", 1, "ann", 0)
    with store.read() as s:
        report = progress(s, "regdb", "ann")
        view = get_identity(s, "regdb", 4)
    o = report.overall
    assert (o.total, o.done, o.partial, o.unlabelled) == (20, 1, 1, 18)
    assert dict(report.by_split) == {}
    assert view.split is None


def test_sysu_id_in_no_split_file_counts_only_overall(store: Store, tmp_path: Path) -> None:
    counts = {cam: {1: 1, 2: 1, 3: 1, 4: 1} for cam in range(1, 7)}
    root = write_sysu(tmp_path / "SYSU-MM01", counts, {"train": [1], "val": [4], "test": [2]})
    with store.write() as s:
        register_dataset(s, "sysu", "sysu", root)
    with store.read() as s:
        report = progress(s, "sysu", "ann")
        assert get_identity(s, "sysu", 3).split is None
        assert get_identity(s, "sysu", 1).split == "train"
    assert report.overall.total == 4
    assert {k: p.total for k, p in report.by_split.items()} == {"train": 1, "val": 1, "test": 1}


def test_split_filters_are_validated_against_the_kind(sysu_store: Store, tmp_path: Path) -> None:
    with sysu_store.write() as s:
        register_dataset(s, "regdb", "regdb", write_regdb(tmp_path / "RegDB", num_ids=4))
    with sysu_store.read() as s:
        assert next_identity(s, "sysu", "ann", split=SysuSplit.TEST) == 6
        assert neighbour(s, "sysu", 6, 1, split="test") == 10
        with pytest.raises(ValueError, match=r"sysu split must be one of \['train', 'val', 'test'\], got 'other'"):  # fmt: skip
            next_identity(s, "sysu", "ann", split="other")
        with pytest.raises(ValueError, match="regdb identities have no split"):
            neighbour(s, "regdb", 1, 1, split="all")
        assert next_identity(s, "regdb", "ann") == 1
    assert identity_splits("regdb") == ()
    assert identity_split("sysu", "val") is SysuSplit.VAL
    with pytest.raises(ValueError, match=r"dataset kind must be one of \['sysu', 'regdb'\]"):
        identity_split("market", "train")


def test_migration_0002_clears_the_old_placeholder_splits(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    store = Store(url)
    command.upgrade(alembic_config(url), "0001")
    with store.write_engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO datasets (id, name, kind, root, registered_at) VALUES "
            "(1, 'regdb', 'regdb', '/r', '2026-01-01'), (2, 'sysu', 'sysu', '/s', '2026-01-01')"
        ))  # fmt: skip
        conn.execute(text(
            "INSERT INTO identities (dataset_id, pid, split, version, reviewed) VALUES "
            "(1, 1, 'all', 0, 0), (1, 2, 'all', 0, 0), (2, 1, 'train', 0, 0), "
            "(2, 2, 'other', 0, 0), (2, 3, 'all', 0, 0)"
        ))  # fmt: skip
    migrate_to_head(store)
    with store.read() as s:
        got = s.execute(text("SELECT dataset_id, pid, split FROM identities ORDER BY 1, 2")).all()
    # a SYSU split literally named 'all' is not RegDB's placeholder: left for a person to see
    assert got == [(1, 1, None), (1, 2, None), (2, 1, "train"), (2, 2, None), (2, 3, "all")]
    command.downgrade(alembic_config(url), "0001")
    with store.read() as s:
        got = s.execute(text("SELECT split FROM identities ORDER BY dataset_id, pid")).scalars()
        assert list(got) == ["all", "all", "train", "other", "all"]
    store.dispose()


def test_small_tree_splits_as_registered(store: Store, tmp_path: Path) -> None:
    with store.write() as s:
        register_dataset(s, "sysu", "sysu", small_sysu(tmp_path / "SYSU-MM01"))
        assert get_identity(s, "sysu", 9).split == SysuSplit.VAL
