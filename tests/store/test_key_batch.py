"""Key batches and the own-saves rule of the labels service (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from annotator.store.db import Store
from annotator.store.errors import StaleVersionError
from annotator.store.models import Identity
from annotator.store.services.label_reads import get_identity, history, labels_seen_by
from annotator.store.services.label_writes import SetValue, Undo, apply_key_batch, set_label


def _mine(store: Store, pid: int, who: str = "ann") -> dict[str, int | None]:
    with store.read() as s:
        view = get_identity(s, "sysu", pid)
    return {k: view.label(f"annotator:{who}", k) for k in ("gender", "glasses", "backpack")}


def test_batch_applies_every_key_in_order_one_version_each(sysu_store: Store) -> None:
    steps = [
        SetValue("gender", 1),
        SetValue("gender", 0),  # the later key wins
        SetValue("glasses", 1),
        SetValue("backpack", -1),
        Undo(),  # undoes backpack only
    ]
    with sysu_store.write() as s:
        result = apply_key_batch(s, "sysu", 4, steps, "ann", 0)
    assert result.version == 5
    assert result.saved == (
        "gender = female", "gender = male", "glasses = yes", "backpack = unknown",
        "undo backpack → (none)",
    )  # fmt: skip
    assert result.skipped == ()
    assert _mine(sysu_store, 4) == {"gender": 0, "glasses": 1, "backpack": None}
    with sysu_store.read() as s:
        h = history(s, "sysu", 4)
    assert [(e.version, e.kind, e.attribute, e.old_value, e.new_value) for e in h] == [
        (1, "label", "gender", None, 1),
        (2, "label", "gender", 1, 0),
        (3, "label", "glasses", None, 1),
        (4, "label", "backpack", None, -1),
        (5, "undo", "backpack", -1, None),
    ]


def test_undo_with_nothing_to_undo_is_skipped_not_a_change(sysu_store: Store) -> None:
    with sysu_store.write() as s:
        result = apply_key_batch(s, "sysu", 4, [Undo(), SetValue("glasses", 0)], "ann", 0)
    assert (result.version, result.saved) == (1, ("glasses = no",))
    assert result.skipped == ("nothing of ann's to undo on sysu id 4",)


def test_conflicting_batch_writes_nothing(sysu_store: Store) -> None:
    with sysu_store.write() as s:
        set_label(s, "sysu", 4, "glasses", 1, "bob", 0)
    with pytest.raises(StaleVersionError, match=r"bob set glasses: \(none\) → yes"):
        with sysu_store.write() as s:
            apply_key_batch(s, "sysu", 4, [SetValue("gender", 1)] * 3, "ann", 0,
                            build_on_own=True)  # fmt: skip
    assert _mine(sysu_store, 4) == {"gender": None, "glasses": None, "backpack": None}
    with sysu_store.read() as s:
        assert len(history(s, "sysu", 4)) == 1 and get_identity(s, "sysu", 4).version == 1


def test_bad_step_is_refused_before_anything_is_written(sysu_store: Store) -> None:
    with pytest.raises(ValueError, match="label value must be 0, 1 or -1"):
        with sysu_store.write() as s:
            apply_key_batch(s, "sysu", 4, [SetValue("gender", 1), SetValue("gender", 2)],
                            "ann", 0)  # fmt: skip
    assert _mine(sysu_store, 4)["gender"] is None


def test_own_newer_saves_are_built_on_only_when_asked(sysu_store: Store) -> None:
    with sysu_store.write() as s:
        set_label(s, "sysu", 5, "glasses", 1, "ann", 0)
        set_label(s, "sysu", 5, "gender", 1, "ann", 1)  # the page still shows version 0
    with pytest.raises(StaleVersionError):
        with sysu_store.write() as s:
            set_label(s, "sysu", 5, "backpack", 1, "ann", 0)
    with sysu_store.write() as s:
        assert set_label(s, "sysu", 5, "backpack", 1, "ann", 0, build_on_own=True) == 3
    with sysu_store.write() as s:
        result = apply_key_batch(s, "sysu", 5, [SetValue("glasses", 0)], "ann", 1,
                                 build_on_own=True)  # fmt: skip
    assert result.version == 4
    assert _mine(sysu_store, 5) == {"gender": 1, "glasses": 0, "backpack": 1}


def test_someone_elses_change_is_a_conflict_even_among_own_saves(sysu_store: Store) -> None:
    with sysu_store.write() as s:
        v = set_label(s, "sysu", 5, "glasses", 1, "ann", 0)
        v = set_label(s, "sysu", 5, "gender", 1, "bob", v)
        set_label(s, "sysu", 5, "gender", 0, "ann", v)
    with pytest.raises(StaleVersionError, match="bob set gender"):
        with sysu_store.write() as s:
            set_label(s, "sysu", 5, "backpack", 1, "ann", 0, build_on_own=True)


def test_a_version_moved_without_history_is_a_conflict(sysu_store: Store) -> None:
    """A bump nobody signed (no history row) is not "my own": no silent build-on."""
    with sysu_store.write() as s:
        v = set_label(s, "sysu", 5, "glasses", 1, "ann", 0)
        s.execute(update(Identity).where(Identity.pid == 5).values(version=v + 1))
    with pytest.raises(StaleVersionError):
        with sysu_store.write() as s:
            set_label(s, "sysu", 5, "backpack", 1, "ann", 0, build_on_own=True)


def test_labels_seen_by_separates_mine_from_others(sysu_store: Store) -> None:
    with sysu_store.write() as s:
        v = set_label(s, "sysu", 6, "glasses", 1, "ann", 0)
        v = set_label(s, "sysu", 6, "glasses", 0, "bob", v)
        v = set_label(s, "sysu", 6, "gender", 1, "bob", v, camera=2)
        set_label(s, "sysu", 6, "gender", 0, "ann", v, camera=2)
    with sysu_store.read() as s:
        view = get_identity(s, "sysu", 6)
    wide = labels_seen_by(view, "ann")
    assert (wide["glasses"].mine, dict(wide["glasses"].others)) == (1, {"annotator:bob": 0})
    assert (wide["gender"].mine, dict(wide["gender"].others)) == (None, {})
    cam2 = labels_seen_by(view, "ann", 2)
    assert (cam2["gender"].mine, dict(cam2["gender"].others)) == (0, {"annotator:bob": 1})
    nobody = labels_seen_by(view, None)
    assert nobody["glasses"].mine is None
    assert dict(nobody["glasses"].others) == {"annotator:ann": 1, "annotator:bob": 0}
