"""Every writer moves the identities it changes one version on (and no other identity)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from annotator.store.db import Store
from annotator.store.errors import StaleVersionError, UnknownDatasetError, UnknownSourceError
from annotator.store.importers.published_paenet import import_paenet_mat, import_paenet_xlsx
from annotator.store.importers.synth_truth import SYNTH_FILE, import_synth
from annotator.store.models import Identity
from annotator.store.services.agreement import agreement
from annotator.store.services.label_reads import get_identity
from annotator.store.services.label_writes import (
    decide,
    mark_reviewed,
    set_label,
    set_labels,
    undo_last,
)
from annotator.store.services.lookups import source_row
from paenet.attributes import ATTRIBUTE_KEYS
from tests.store.fakes import write_mat_folder, write_xlsx


def _versions(store: Store) -> dict[int, int]:
    with store.read() as s:
        return {pid: v for pid, v in s.execute(select(Identity.pid, Identity.version))}


def _synth_csv(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["pid," + ",".join(ATTRIBUTE_KEYS), "2," + ",".join(["1"] * 8), "5," + ",".join(["0"] * 8)]  # fmt: skip
    (folder / SYNTH_FILE).write_text("\n".join(lines) + "\n")
    return folder


Writer = Callable[[Session, Path], object]
WRITERS: dict[str, tuple[Writer, set[int]]] = {
    "set_label": (lambda s, _: set_label(s, "sysu", 3, "gender", 1, "ann", 0), {3}),
    "set_labels": (
        lambda s, _: set_labels(s, "sysu", 3, {"gender": 1, "glasses": 0}, "ann", 0),
        {3},
    ),
    "decide": (lambda s, _: decide(s, "sysu", 4, "backpack", 0, "rev", 0), {4}),
    "mark_reviewed": (lambda s, _: mark_reviewed(s, "sysu", 6), {6}),
    "import_paenet_mat": (
        lambda s, tmp: import_paenet_mat(
            s, "sysu", write_mat_folder(tmp / "mat", {1: [0] * 8, 7: [1, 0] * 4}, 11)
        ),
        {1, 7},
    ),
    "import_paenet_xlsx": (
        lambda s, tmp: import_paenet_xlsx(
            s,
            "sysu",
            write_xlsx(tmp / "l.xlsx", {9: {"gender": "性别女"}, 10: {"glasses": "眼镜有"}}),
        ),
        {9, 10},
    ),
    "import_synth": (lambda s, tmp: import_synth(s, "sysu", _synth_csv(tmp / "synth")), {2, 5}),
}


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_each_writer_bumps_the_versions_it_touches(
    sysu_store: Store, tmp_path: Path, writer: str
) -> None:
    write, touched = WRITERS[writer]
    before = _versions(sysu_store)
    assert set(before.values()) == {0}
    with sysu_store.write() as s:
        write(s, tmp_path)
    after = _versions(sysu_store)
    assert after == {pid: v + (1 if pid in touched else 0) for pid, v in before.items()}


def test_undo_bumps_the_version(sysu_store: Store) -> None:
    with sysu_store.write() as s:
        v = set_label(s, "sysu", 3, "gender", 1, "ann", 0)
        assert undo_last(s, "sysu", 3, "ann", v) == 2
    assert _versions(sysu_store)[3] == 2


def test_mark_reviewed(sysu_store: Store) -> None:
    with sysu_store.write() as s:
        assert mark_reviewed(s, "sysu", 6, expected_version=0) == 1
    with sysu_store.read() as s:
        view = get_identity(s, "sysu", 6)
        assert view.reviewed and view.version == 1
    with pytest.raises(StaleVersionError, match="you saw version 0, it is now 1"):
        with sysu_store.write() as s:
            mark_reviewed(s, "sysu", 6, reviewed=False, expected_version=0)
    with sysu_store.write() as s:
        assert mark_reviewed(s, "sysu", 6, reviewed=False) == 2
    with sysu_store.read() as s:
        view = get_identity(s, "sysu", 6)
        assert not view.reviewed and view.version == 2
        assert not get_identity(s, "sysu", 7).reviewed


def test_missing_source_is_its_own_error(sysu_store: Store) -> None:
    with sysu_store.write() as s:
        set_label(s, "sysu", 3, "gender", 1, "ann", 0)
    with sysu_store.read() as s:
        with pytest.raises(
            UnknownSourceError,
            match=r"no label source named 'nobody' \(known sources: annotator:ann\)",
        ):
            source_row(s, "nobody")
        with pytest.raises(UnknownSourceError, match="'paenet-mat'.*annotator:ann"):
            agreement(s, "sysu", ["annotator:ann", "paenet-mat"])
        assert not issubclass(UnknownSourceError, UnknownDatasetError)
