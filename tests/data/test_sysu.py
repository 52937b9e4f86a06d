from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from paenet.data import DatasetError, Modality
from paenet.data.sysu import parse_id_line, read_sysu
from paenet.data.sysu_protocol import Sampling, SearchMode, sysu_protocol
from tests.data.trees import small_sysu, tiny_jpeg, write_sysu


def test_reader_builds_records_from_path_parts(tmp_path: Path) -> None:
    ds = read_sysu(small_sysu(tmp_path))
    assert len(ds.samples) == 11 * 2 * 3 + 8 * 4 * 3 + 3 * 4 * 12
    s = ds.images(6, 3)[0]
    assert s.path == PurePosixPath("cam3/0006/0001.jpg")
    assert (s.pid, s.camera, s.modality) == (6, 3, Modality.INFRARED)
    assert ds.images(6, 1)[0].modality is Modality.VISIBLE
    assert [x.path.name for x in ds.images(6, 1)] == [f"{k:04d}.jpg" for k in range(1, 13)]
    assert ds.train_ids() == (1, 2, 3, 4, 5, 7, 8, 9)
    assert ds.train_ids(include_val=False) == (1, 2, 4, 5, 7, 8)
    assert ds.split_of(9) == "val" and ds.split_of(6) == "test"


def test_query_gallery_and_skip_rule(tmp_path: Path) -> None:
    ds = read_sysu(small_sysu(tmp_path))
    p = sysu_protocol(ds, SearchMode.ALL, shots=1, trial=0)
    assert {s.camera for s in p.query} == {3, 6}
    assert len(p.query) == 3 * 2 * 3
    assert len(p.gallery) == 3 * 4
    assert {s.camera for s in p.gallery} == {1, 2, 4, 5}
    indoor = sysu_protocol(ds, SearchMode.INDOOR, shots=10, trial=0)
    assert len(indoor.gallery) == 3 * 2 * 10
    assert {s.camera for s in indoor.gallery} == {1, 2}
    keep = p.keep_mask([3, 6], [1, 2, 4, 5])
    assert keep.tolist() == [[True, False, True, True], [True, True, True, True]]
    assert p.unique_identity_cmc and p.params["sampling"] == "seeded"


def test_seeded_sampling_is_reproducible_and_varies_by_trial(tmp_path: Path) -> None:
    ds = read_sysu(small_sysu(tmp_path))
    a = sysu_protocol(ds, "all", 1, trial=3).gallery
    b = sysu_protocol(ds, "all", 1, trial=3).gallery
    others = {sysu_protocol(ds, "all", 1, trial=t).gallery for t in range(10)}
    assert a == b
    assert len(others) > 1
    multi = sysu_protocol(ds, "all", 10, trial=0).gallery
    assert len(set(multi)) == len(multi)  # drawn without replacement


def test_official_sampling_requires_the_file(tmp_path: Path) -> None:
    ds = read_sysu(small_sysu(tmp_path))
    with pytest.raises(ValueError, match="rand_perm_cam.mat"):
        sysu_protocol(ds, sampling=Sampling.OFFICIAL)


@pytest.mark.parametrize("cam", [1, 3, 6])
def test_missing_camera_folder_is_named(tmp_path: Path, cam: int) -> None:
    root = small_sysu(tmp_path)
    for f in (root / f"cam{cam}").rglob("*.jpg"):
        f.unlink()
    for d in sorted((root / f"cam{cam}").iterdir()):
        d.rmdir()
    (root / f"cam{cam}").rmdir()
    with pytest.raises(DatasetError, match=f"cam{cam}.*missing camera folder"):
        read_sysu(root)


def test_missing_exp_folder(tmp_path: Path) -> None:
    root = small_sysu(tmp_path)
    for f in (root / "exp").iterdir():
        f.unlink()
    (root / "exp").rmdir()
    with pytest.raises(DatasetError, match="exp.*missing the 'exp/' folder"):
        read_sysu(root)


def test_missing_root(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        read_sysu(tmp_path / "nowhere")


@pytest.mark.parametrize(
    "text, message",
    [
        ("1, 2, x3", "found 'x3'"),
        ("1 2 3", "found '1 2 3'"),
        ("1,2\n3,4", "found 2 non-empty lines"),
        ("", "found 0 non-empty lines"),
        ("1,2,2", "listed twice"),
    ],
)
def test_malformed_split_file_names_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "train_id.txt"
    path.write_text(text)
    with pytest.raises(DatasetError, match=message) as err:
        parse_id_line(path)
    assert str(path) in str(err.value)


def test_split_file_line_number_in_message(tmp_path: Path) -> None:
    path = tmp_path / "val_id.txt"
    path.write_text("4,five")
    with pytest.raises(DatasetError) as err:
        parse_id_line(path)
    assert f"{path}:1:" in str(err.value)


def test_trailing_newline_and_spaces_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "test_id.txt"
    path.write_text("6, 10,11\n")
    assert parse_id_line(path) == (6, 10, 11)


def test_id_in_split_but_absent_on_disk(tmp_path: Path) -> None:
    root = small_sysu(tmp_path)
    (root / "exp" / "test_id.txt").write_text("6,10,11,300")
    with pytest.raises(DatasetError, match=r"test_id.txt.*have no images.*300"):
        read_sysu(root)


def test_bad_person_folder_name(tmp_path: Path) -> None:
    root = small_sysu(tmp_path)
    (root / "cam2" / "17").mkdir()
    with pytest.raises(DatasetError, match=r"cam2/17.*4-digit"):
        read_sysu(root)


def test_files_that_are_not_frames_are_ignored(tmp_path: Path) -> None:
    root = write_sysu(
        tmp_path,
        {1: {1: 2, 2: 1, 3: 1}, 3: {1: 2}},
        {"train": [1], "val": [2], "test": [3]},
        tiny_jpeg(),
    )
    (root / "cam1" / "0001" / "Thumbs.db").write_bytes(b"x")
    ds = read_sysu(root)
    assert len(ds.samples) == 6


@pytest.mark.parametrize("first, second", [("train", "test"), ("val", "test"), ("train", "val")])
def test_overlapping_splits_are_refused_naming_both_files_and_ids(
    tmp_path: Path, first: str, second: str
) -> None:
    root = small_sysu(tmp_path)
    splits = {"train": [1, 2, 4, 5, 7, 8], "val": [3, 9], "test": [6, 10, 11]}
    splits[first] = [*splits[first], 10, 6] if second == "test" else [*splits[first], 9]
    for name, ids in splits.items():
        (root / "exp" / f"{name}_id.txt").write_text(",".join(map(str, ids)))
    with pytest.raises(DatasetError) as err:
        read_sysu(root)
    message = str(err.value)
    assert str(root / "exp" / f"{first}_id.txt") in message
    assert str(root / "exp" / f"{second}_id.txt") in message
    assert ("[6, 10]" if second == "test" else "[9]") in message


def test_split_file_with_a_superscript_digit_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "test_id.txt"
    path.write_text("6,1²,11")
    with pytest.raises(DatasetError, match="found '1²'") as err:
        parse_id_line(path)
    assert f"{path}:1:" in str(err.value)


@pytest.mark.parametrize("level", ["camera", "person"])
def test_symlinked_folder_leading_outside_the_root_is_refused(tmp_path: Path, level: str) -> None:
    root = small_sysu(tmp_path / "inside")
    outside = tmp_path / "outside"
    (outside / "0001").mkdir(parents=True)
    (outside / "0001" / "0001.jpg").write_bytes(b"")
    if level == "camera":
        for f in sorted((root / "cam5").rglob("*"), reverse=True):
            f.unlink() if f.is_file() else f.rmdir()
        (root / "cam5").rmdir()
        (root / "cam5").symlink_to(outside, target_is_directory=True)
        link = root / "cam5"
    else:
        (root / "cam5" / "0012").symlink_to(outside / "0001", target_is_directory=True)
        link = root / "cam5" / "0012"
    with pytest.raises(DatasetError, match="outside the dataset root") as err:
        read_sysu(root)
    assert str(link) in str(err.value)


def test_symlink_inside_the_root_is_fine(tmp_path: Path) -> None:
    root = small_sysu(tmp_path)
    (root / "cam5" / "0001").rename(root / "spare")
    (root / "cam5" / "0001").symlink_to(root / "spare", target_is_directory=True)
    assert len(read_sysu(root).images(1, 5)) == 3
