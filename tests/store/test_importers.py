"""Importers on the real published PAENet files, with the counts of their README."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import openpyxl
import pytest
import scipy.io

from annotator.export.csv_labels import export_csv
from annotator.store.db import Store, open_store
from annotator.store.errors import ImportFormatError, StoreError
from annotator.store.importers.common import UnknownIdsError
from annotator.store.importers.csv_labels import import_csv
from annotator.store.importers.published_paenet import import_paenet_mat, import_paenet_xlsx
from annotator.store.importers.synth_truth import import_synth
from annotator.store.services.agreement import agreement
from annotator.store.services.datasets import register_dataset
from annotator.store.services.label_reads import get_identity
from annotator.store.services.label_writes import decide, set_label
from annotator.store.services.queue import conflicts


@pytest.fixture(scope="module")
def release(reference_dir: Path) -> Path:
    return reference_dir / "paenet-attribute-release"


@pytest.fixture
def real_store(real_sysu_tree: Path, tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    with store.write() as s:
        register_dataset(s, "sysu", "sysu", real_sysu_tree)
    yield store
    store.dispose()


def test_mat_import_counts_placeholders_and_disagreements(real_store: Store, release: Path) -> None:
    with real_store.write() as s:
        report = import_paenet_mat(s, "sysu", release)
    assert report.skipped == {
        "placeholder columns cam1": 73, "placeholder columns cam2": 73,
        "placeholder columns cam3": 49, "placeholder columns cam4": 41,
        "placeholder columns cam5": 32, "placeholder columns cam6": 34,
    }  # fmt: skip
    assert len(report.notes) == 200  # ids whose cameras disagree
    with real_store.read() as s:
        found = conflicts(s, "sysu")
        by_attr: dict[str, int] = {}
        for c in found:
            by_attr[c.attribute] = by_attr.get(c.attribute, 0) + 1
        view = get_identity(s, "sysu", 6)
    assert len({c.pid for c in found}) == 200
    assert by_attr == {"backpack": 173, "satchel": 25, "sleeve_length": 6, "lower_body_type": 1}
    mat = scipy.io.loadmat(str(release / "cam1_att.mat"))["cam1_att"]
    assert view.label("paenet-mat", "gender", 1) == int(mat[0, 5])  # column j = id j + 1


def test_xlsx_import_and_agreement_with_the_mat(real_store: Store, release: Path) -> None:
    with real_store.write() as s:
        import_paenet_mat(s, "sysu", release)
        report = import_paenet_xlsx(s, "sysu", release / "label_finished.xlsx")
    assert report.identities == 96
    with real_store.read() as s:
        per_cam = {
            a.attribute: a
            for a in agreement(s, "sysu", ["paenet-mat", "paenet-xlsx"], per_camera=True)
        }
        view = get_identity(s, "sysu", 6)
    expected = {"gender": 0.98, "hair_length": 0.92, "glasses": 0.88, "lower_body_length": 0.84,
                "backpack": 0.84, "satchel": 0.96}  # fmt: skip
    for key, raw in expected.items():
        assert per_cam[key].raw == pytest.approx(raw, abs=0.005), key
    assert per_cam["sleeve_length"].items == 0  # the xlsx has no sleeve column: unknown
    assert view.label("paenet-xlsx", "sleeve_length") is None
    assert view.label("paenet-xlsx", "gender") == 0  # 0006: 性别（男） is set


def test_flip_polarity(real_store: Store, release: Path) -> None:
    with real_store.write() as s:
        import_paenet_mat(s, "sysu", release, source="plain")
        import_paenet_mat(s, "sysu", release, source="flipped", flip=["sleeve_length"])
    with real_store.read() as s:
        v = get_identity(s, "sysu", 6)
    assert v.label("flipped", "sleeve_length", 1) == 1 - v.label("plain", "sleeve_length", 1)
    assert v.label("flipped", "gender", 1) == v.label("plain", "gender", 1)


def _copy_release(release: Path, dest: Path) -> Path:
    dest.mkdir()
    for f in release.iterdir():
        if f.suffix in (".mat", ".xlsx"):
            (dest / f.name).write_bytes(f.read_bytes())
    return dest


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda m: {"other": m["cam3_att"]}, r"cam3_att.mat: expected a variable 'cam3_att'"),
        (lambda m: {"cam3_att": m["cam3_att"][:7]}, r"must have shape \(8, K\), got \(7, 533\)"),
        (lambda m: {"cam3_att": m["cam3_att"] * 2}, "must hold only 0 and 1, found \\[2\\]"),
    ],
)
def test_bad_mat_files_import_nothing(
    real_store: Store, release: Path, tmp_path: Path, mutate, message: str
) -> None:
    folder = _copy_release(release, tmp_path / "rel")
    path = folder / "cam3_att.mat"
    scipy.io.savemat(str(path), mutate(scipy.io.loadmat(str(path))))
    with pytest.raises(ImportFormatError, match=message), real_store.write() as s:
        import_paenet_mat(s, "sysu", folder)
    with real_store.read() as s:
        assert get_identity(s, "sysu", 6).labels == {}


def test_bad_xlsx_and_unknown_ids(real_store: Store, release: Path, tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(release / "label_finished.xlsx")
    wb["Sheet1"].cell(row=1, column=18).value = "backpack yes"
    bad = tmp_path / "bad.xlsx"
    wb.save(bad)
    with pytest.raises(
        ImportFormatError, match=r"bad.xlsx: unexpected headers: missing columns \['背包有'\]"
    ):
        with real_store.write() as s:
            import_paenet_xlsx(s, "sysu", bad)
    wb = openpyxl.load_workbook(release / "label_finished.xlsx")
    wb["Sheet1"].cell(row=2, column=1).value = "0999"
    unknown = tmp_path / "unknown.xlsx"
    wb.save(unknown)
    with pytest.raises(UnknownIdsError, match=r"not in dataset 'sysu' \(first: \[999\]\)"):
        with real_store.write() as s:
            import_paenet_xlsx(s, "sysu", unknown)
    (tmp_path / "garbage.xlsx").write_text("not a workbook")
    with pytest.raises(ImportFormatError, match="not a readable .xlsx"), real_store.write() as s:
        import_paenet_xlsx(s, "sysu", tmp_path / "garbage.xlsx")
    with real_store.write() as s:
        import_paenet_xlsx(s, "sysu", release / "label_finished.xlsx")
    with pytest.raises(StoreError, match="already exists"), real_store.write() as s:
        import_paenet_xlsx(s, "sysu", release / "label_finished.xlsx")


def test_synth_ground_truth_and_csv_round_trip(
    sysu_store: Store, tmp_path: Path, db_url: str
) -> None:
    with sysu_store.read() as s:
        root = Path(get_identity(s, "sysu", 1).dataset_root)
    lines = [
        "pid,gender,hair_length,glasses,sleeve_length,lower_body_type,lower_body_length,backpack,satchel"
    ]
    lines += [f"{pid},1,0,0,1,0,1,1,0" for pid in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)]
    (root / "synth_attributes.csv").write_text("\n".join(lines) + "\n")
    with sysu_store.write() as s:
        rep = import_synth(s, "sysu", root)
        v = set_label(
            s, "sysu", 6, "backpack", 0, "ann", get_identity(s, "sysu", 6).version, camera=3
        )
        decide(s, "sysu", 6, "backpack", 1, "rev", v)
    assert (rep.identities, rep.labels) == (11, 88)
    first = tmp_path / "a.csv"
    with sysu_store.read() as s:
        n = export_csv(s, first, "sysu")
    assert n == 88 + 2
    other = open_store(f"sqlite:///{tmp_path / 'other.sqlite3'}")
    with other.write() as s:
        register_dataset(s, "sysu", "sysu", root)
        import_csv(s, first)
    second = tmp_path / "b.csv"
    with other.read() as s:
        export_csv(s, second, "sysu")
    assert first.read_text() == second.read_text()
    with other.read() as s:
        assert get_identity(s, "sysu", 6).decisions == {("backpack", 0): 1}
    with pytest.raises(StoreError, match="refusing to mix"), other.write() as s:
        import_csv(s, first)
    header = first.read_text().splitlines()[0]
    (tmp_path / "bad.csv").write_text(f"{header}\nlabel,sysu,1,hat,0,synth-gt,import,1,,\n")
    with pytest.raises(
        ImportFormatError,
        match=r"bad.csv: 1 bad line\(s\), nothing imported: line 2: unknown attribute 'hat'",
    ):
        with other.write() as s:
            import_csv(s, tmp_path / "bad.csv")
    other.dispose()


def test_cohen_and_fleiss_by_hand() -> None:
    from annotator.store.services.agreement import cohen_kappa, fleiss_kappa

    # po = 0.8, p(1) = 0.6 and 0.4 -> pe = 0.24 + 0.24 = 0.48 -> kappa = 0.32 / 0.52
    a = [1, 1, 1, 0, 0, 1, 0, 1, 1, 0]
    b = [1, 1, 0, 0, 0, 1, 0, 0, 1, 0]
    assert np.mean(np.array(a) == np.array(b)) == 0.8
    assert cohen_kappa(a, b) == pytest.approx((0.8 - 0.48) / 0.52)
    # Fleiss, 3 raters, 4 items: P_i = 1, 1/3, 1/3, 1 -> P̄ = 2/3; p1 = 6/12 -> Pe = 0.5
    r = np.array([[1, 1, 1], [1, 1, 0], [0, 0, 1], [0, 0, 0]])
    assert fleiss_kappa(r) == pytest.approx((2 / 3 - 0.5) / 0.5)
    assert cohen_kappa([1, 1], [1, 1]) == 1.0


def test_unreadable_mat_and_bad_synth_file(
    real_store: Store, release: Path, tmp_path: Path
) -> None:
    folder = _copy_release(release, tmp_path / "rel")
    (folder / "cam5_att.mat").write_bytes(b"not a MATLAB file")
    with pytest.raises(ImportFormatError, match=r"cam5_att.mat: not a readable MATLAB v5 file"):
        with real_store.write() as s:
            import_paenet_mat(s, "sysu", folder)
    synth = tmp_path / "synth_attributes.csv"
    synth.write_text("pid,gender,hair\n1,0,1\n")
    with pytest.raises(
        ImportFormatError, match=r"synth_attributes.csv: expected header pid,gender"
    ):
        with real_store.write() as s:
            import_synth(s, "sysu", tmp_path)
    synth.write_text(
        "pid,gender,hair_length,glasses,sleeve_length,lower_body_type,lower_body_length,"
        "backpack,satchel\n1,0,1,0,0,0,1,0,7\n"
    )
    with pytest.raises(ImportFormatError, match=r"synth_attributes.csv: line 2"):
        with real_store.write() as s:
            import_synth(s, "sysu", tmp_path)
    with real_store.read() as s:
        assert get_identity(s, "sysu", 1).labels == {}  # nothing half-imported


@pytest.mark.parametrize(
    "odd, shown", [(0.5, "[0.5]"), (float("nan"), "[nan]"), (-1.0, "[-1]"), (2, "[2]")]
)
def test_mat_values_other_than_0_and_1_are_named_as_found(
    tmp_path: Path, odd: float, shown: str
) -> None:
    from annotator.store.importers.published_paenet import read_mat

    arr = np.ones((8, 4)) if isinstance(odd, float) else np.ones((8, 4), dtype=np.uint8)
    arr[2, 1] = odd
    path = tmp_path / "cam1_att.mat"
    scipy.io.savemat(str(path), {"cam1_att": arr})
    with pytest.raises(ImportFormatError) as err:
        read_mat(path, 1)
    assert f"cam1_att.mat: variable 'cam1_att' must hold only 0 and 1, found {shown}" in str(
        err.value
    )
