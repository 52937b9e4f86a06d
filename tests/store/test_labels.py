from __future__ import annotations

from pathlib import Path

import pytest

from annotator.store.db import Store
from annotator.store.errors import StaleVersionError, StoreError, UnknownIdentityError
from annotator.store.services.datasets import list_datasets, register_dataset
from annotator.store.services.label_reads import get_identity, history
from annotator.store.services.label_writes import decide, set_label, undo_last
from annotator.store.services.queue import (
    Status,
    conflicts,
    neighbour,
    next_identity,
    progress,
    statuses,
)
from paenet.attributes import ATTRIBUTE_KEYS


def test_register_is_idempotent_and_rescan_adds_images(sysu_store: Store) -> None:
    with sysu_store.read() as s:
        (info,) = list_datasets(s)
        root = Path(info.root)
    assert (info.identities, info.images) == (11, 11 * 2 * 3 + 8 * 4 * 3 + 3 * 4 * 12)
    with sysu_store.write() as s:
        set_label(s, "sysu", 1, "gender", 1, "ann", 0)
    (root / "cam1" / "0001" / "0004.jpg").write_bytes(b"")
    with sysu_store.write() as s:
        again = register_dataset(s, "sysu", "sysu", root)
    assert again.images == info.images + 1 and again.identities == 11
    with sysu_store.read() as s:
        view = get_identity(s, "sysu", 1)
    assert view.label("annotator:ann", "gender") == 1
    assert [i.path for i in view.images[1]][-1] == "cam1/0001/0004.jpg"
    assert set(view.images) == {1, 2, 3, 4, 5, 6} and view.split == "train"
    with sysu_store.write() as s, pytest.raises(ValueError, match="already registered"):
        register_dataset(s, "sysu", "sysu", root.parent)


def test_optimistic_concurrency_reports_the_other_change(sysu_store: Store) -> None:
    with sysu_store.write() as s:
        v1 = set_label(s, "sysu", 6, "backpack", 1, "alice", 0)
    with pytest.raises(StaleVersionError, match=r"alice set backpack: \(none\) → yes") as err:
        with sysu_store.write() as s:
            set_label(s, "sysu", 6, "backpack", 0, "bob", 0)
    assert (err.value.expected, err.value.actual) == (0, 1)
    with sysu_store.read() as s:
        view = get_identity(s, "sysu", 6)
    assert view.version == v1 == 1
    assert "annotator:bob" not in view.labels  # nothing of the rejected save
    with sysu_store.read() as s:
        assert len(history(s, "sysu", 6)) == 1


def test_history_and_undo(sysu_store: Store) -> None:
    with sysu_store.write() as s:
        v = set_label(s, "sysu", 2, "glasses", 1, "ann", 0)
        v = set_label(s, "sysu", 2, "glasses", 0, "ann", v)
        v = set_label(s, "sysu", 2, "backpack", 1, "ann", v, camera=4)
        v = undo_last(s, "sysu", 2, "ann", v)  # removes the cam4 override
        v = undo_last(s, "sysu", 2, "ann", v)  # glasses back to yes
    with sysu_store.read() as s:
        view = get_identity(s, "sysu", 2)
        h = history(s, "sysu", 2)
    assert view.label("annotator:ann", "glasses") == 1
    assert view.label("annotator:ann", "backpack", 4) is None
    assert [e.kind for e in h] == ["label", "label", "label", "undo", "undo"]
    assert [e.version for e in h] == [1, 2, 3, 4, 5] == list(range(1, v + 1))
    assert h[3].undoes == h[2].id and h[4].undoes == h[1].id
    with sysu_store.write() as s:
        v = undo_last(s, "sysu", 2, "ann", v)
        with pytest.raises(StoreError, match="nothing of ann's to undo"):
            undo_last(s, "sysu", 2, "ann", v)


def test_next_identity_progress_and_statuses(sysu_store: Store) -> None:
    with sysu_store.read() as s:
        assert next_identity(s, "sysu", "ann") == 1
        assert next_identity(s, "sysu", "ann", split="test") == 6
        assert neighbour(s, "sysu", 6, 1) == 7 and neighbour(s, "sysu", 1, -1) is None
    with sysu_store.write() as s:
        v = 0
        for key in ATTRIBUTE_KEYS:
            v = set_label(s, "sysu", 1, key, 0, "ann", v)
        set_label(s, "sysu", 2, "gender", -1, "ann", 0)
    with sysu_store.read() as s:
        assert next_identity(s, "sysu", "ann") == 2
        assert next_identity(s, "sysu", "ann", after_pid=2) == 3
        assert next_identity(s, "sysu", "ann", after_pid=11) == 2  # wraps around
        st = statuses(s, "sysu", "ann")
        prog = progress(s, "sysu", "ann")
    assert st[1] is Status.DONE and st[2] is Status.PARTIAL and st[3] is Status.UNLABELLED
    assert prog.overall.total == 11 and prog.overall.done == 1
    assert prog.by_split["train"].partial == 1


def test_conflicts_across_sources_and_cameras_and_decisions(sysu_store: Store) -> None:
    with sysu_store.write() as s:
        set_label(s, "sysu", 6, "backpack", 1, "alice", 0)
        set_label(s, "sysu", 6, "backpack", 0, "bob", 1)
        set_label(s, "sysu", 7, "satchel", 1, "alice", 0, camera=1)
        v = set_label(s, "sysu", 7, "satchel", 0, "alice", 1, camera=2)
        set_label(s, "sysu", 8, "gender", -1, "bob", 0)  # unknown never conflicts
        set_label(s, "sysu", 8, "gender", 1, "alice", 1)
    with sysu_store.read() as s:
        assert next_identity(s, "sysu", "alice", after_pid=5) == 6  # alice: backpack only
    with sysu_store.write() as s:
        v6 = 2
        for key in ATTRIBUTE_KEYS:
            v6 = set_label(s, "sysu", 6, key, 1, "alice", v6)
    with sysu_store.read() as s:
        assert next_identity(s, "sysu", "alice", after_pid=5) == 7  # 6 is done for alice
        # ... but bob disagrees on its backpack: work for whoever resolves conflicts
        assert next_identity(s, "sysu", "alice", after_pid=5, include_conflicts=True) == 6
        found = conflicts(s, "sysu")
        assert [(c.pid, c.attribute) for c in found] == [(6, "backpack"), (7, "satchel")]
        assert found[0].values == (("annotator:alice", 0, 1), ("annotator:bob", 0, 0))
        assert statuses(s, "sysu", "carol")[6] is Status.CONFLICT
    with sysu_store.write() as s:
        decide(s, "sysu", 7, "satchel", 1, "carol", v)
    with sysu_store.read() as s:
        assert [(c.pid, c.attribute) for c in conflicts(s, "sysu")] == [(6, "backpack")]
        assert get_identity(s, "sysu", 7).decisions[("satchel", 0)] == 1
        assert len(conflicts(s, "sysu", include_decided=True)) == 2


def test_bad_input(sysu_store: Store) -> None:
    with sysu_store.write() as s:
        with pytest.raises(UnknownIdentityError, match="no identity 999"):
            set_label(s, "sysu", 999, "gender", 1, "ann", 0)
        with pytest.raises(ValueError, match="unknown attribute 'hat'"):
            set_label(s, "sysu", 1, "hat", 1, "ann", 0)
        with pytest.raises(ValueError, match="0, 1 or -1"):
            set_label(s, "sysu", 1, "gender", 2, "ann", 0)


def test_effective_label_per_image(sysu_store: Store) -> None:
    from annotator.store.services.label_policy import effective_labels

    with sysu_store.write() as s:
        v = set_label(s, "sysu", 6, "backpack", 1, "alice", 0)
        v = set_label(s, "sysu", 6, "backpack", 0, "alice", v, camera=1)  # seen from the front
        v = set_label(s, "sysu", 6, "gender", 1, "alice", v)
        v = set_label(s, "sysu", 6, "gender", 0, "bob", v)
        v = set_label(s, "sysu", 6, "glasses", 1, "bob", v)
    with sysu_store.read() as s:
        view = get_identity(s, "sysu", 6)
    alice_cam1 = effective_labels(view, 1, "annotator:alice")
    assert alice_cam1["backpack"] == 0 and alice_cam1["gender"] == 1
    assert alice_cam1["glasses"] == -1  # alice never said: unknown, not 0
    assert effective_labels(view, 4, "annotator:alice")["backpack"] == 1
    pooled = effective_labels(view, 4)
    assert pooled["gender"] == -1 and pooled["glasses"] == 1 and pooled["backpack"] == 1
    with sysu_store.write() as s:
        decide(s, "sysu", 6, "gender", 1, "carol", view.version)
    with sysu_store.read() as s:
        assert effective_labels(get_identity(s, "sysu", 6), 4)["gender"] == 1
