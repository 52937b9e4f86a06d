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
