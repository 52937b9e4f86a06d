from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from paenet.data import DatasetError, Modality
from paenet.data.regdb import read_regdb
from paenet.data.regdb_protocol import Direction, regdb_protocol, regdb_train_entries
from tests.data.trees import write_regdb


def test_reader_and_both_directions(tmp_path: Path) -> None:
    ds = read_regdb(write_regdb(tmp_path, num_ids=8, per_modality=2))
    assert len(ds.samples) == 8 * 2 * 2
    assert ds.pids == tuple(range(1, 9))
    s = ds.samples_of(3)[0]
    assert s.path == PurePosixPath("Visible/3/male_front_v_01_3.bmp")
    assert (s.camera, s.modality) == (1, Modality.VISIBLE)
    v2t = regdb_protocol(ds, trial=2, direction=Direction.VISIBLE_TO_THERMAL)
    t2v = regdb_protocol(ds, trial=2, direction="t2v")
    assert {x.modality for x in v2t.query} == {Modality.VISIBLE}
    assert {x.modality for x in v2t.gallery} == {Modality.INFRARED}
    assert v2t.query == t2v.gallery and v2t.gallery == t2v.query
    assert len(v2t.query) == 4 * 2 and not v2t.skip_rules and not v2t.unique_identity_cmc
    train = {e.sample.pid for e in regdb_train_entries(ds, 2)}
    assert not train & {x.pid for x in v2t.query}
    assert ds.trial_ids("train", 2) == tuple(sorted(train))
    labels = sorted({e.label for e in regdb_train_entries(ds, 2)})
    assert labels == list(range(4))


def _idx(root: Path, name: str = "test_visible_1.txt") -> Path:
    return root / "idx" / name


@pytest.mark.parametrize(
    "line, message",
    [
        ("Visible/1/male_front_v_01_1.bmp", "expected 'relative/path label'"),
        ("Visible/1/male_front_v_01_1.bmp  0", "expected 'relative/path label'"),
        ("Visible/1/male_front_v_01_1.bmp zero", "expected 'relative/path label'"),
        ("../outside/secret.bmp 0", "escapes the dataset root"),
        ("/etc/passwd 0", "escapes the dataset root"),
        ("Visible/1/nothere.bmp 0", "is not in the dataset"),
        ("Thermal/1/male_front_t_01_1.bmp 0", "is infrared, this file lists visible"),
    ],
)
def test_bad_idx_lines_name_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    root = write_regdb(tmp_path)
    path = _idx(root)
    good = path.read_text().splitlines()
    path.write_text("\n".join([good[0], line, *good[1:]]) + "\n")
    ds = read_regdb(root)
    with pytest.raises(DatasetError, match=message) as err:
        ds.read_idx("test", Modality.VISIBLE, 1)
    assert f"{path}:2:" in str(err.value)


@pytest.mark.parametrize("folder", ["Visible", "Thermal", "idx"])
def test_missing_folders(tmp_path: Path, folder: str) -> None:
    root = write_regdb(tmp_path)
    target = root / folder
    for f in sorted(target.rglob("*"), reverse=True):
        f.unlink() if f.is_file() else f.rmdir()
    target.rmdir()
    with pytest.raises(DatasetError, match=f"{folder}.*missing the '{folder}/' folder"):
        read_regdb(root)


def test_missing_idx_file(tmp_path: Path) -> None:
    root = write_regdb(tmp_path, trials=[1])
    ds = read_regdb(root)
    with pytest.raises(DatasetError, match=r"test_visible_4.txt: idx file is missing"):
        regdb_protocol(ds, trial=4)


def test_trial_range_checked(tmp_path: Path) -> None:
    ds = read_regdb(write_regdb(tmp_path))
    with pytest.raises(ValueError, match="1..10"):
        regdb_protocol(ds, trial=0)


def test_unreadable_person_folder_is_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    root = write_regdb(tmp_path)
    folder = root / "Thermal" / "3"
    folder.chmod(0)
    if os.geteuid() == 0:  # root reads every folder: the denial is injected instead
        real = os.scandir

        def denied(path):  # type: ignore[no-untyped-def]
            if Path(path) == folder:
                raise PermissionError(13, "Permission denied", str(path))
            return real(path)

        monkeypatch.setattr(os, "scandir", denied)
    try:
        with pytest.raises(DatasetError, match="cannot list folder") as err:
            read_regdb(root)
    finally:
        folder.chmod(0o755)
    assert str(folder) in str(err.value)


def test_non_utf8_file_name_is_refused_naming_the_folder(tmp_path: Path) -> None:
    import os

    root = write_regdb(tmp_path)
    folder = root / "Visible" / "2"
    name = b"caf\xe9_v_03_2.bmp"
    try:
        with open(os.fsencode(folder) + b"/" + name, "wb"):
            pass
    except OSError:
        pytest.skip("this file system refuses non-UTF-8 names")
    with pytest.raises(DatasetError, match="not valid UTF-8") as err:
        read_regdb(root)
    assert str(folder) in str(err.value) and "caf" in str(err.value)


def test_superscript_person_folder_is_refused(tmp_path: Path) -> None:
    root = write_regdb(tmp_path)
    (root / "Visible" / "1²").mkdir()
    with pytest.raises(DatasetError, match="numeric person-id folder"):
        read_regdb(root)


def test_symlinked_modality_folder_leading_outside_is_refused(tmp_path: Path) -> None:
    root = write_regdb(tmp_path / "inside")
    outside = tmp_path / "outside" / "5"
    outside.mkdir(parents=True)
    (outside / "x.bmp").write_bytes(b"")
    (root / "Visible" / "99").symlink_to(outside, target_is_directory=True)
    with pytest.raises(DatasetError, match="outside the dataset root") as err:
        read_regdb(root)
    assert str(root / "Visible" / "99") in str(err.value)
