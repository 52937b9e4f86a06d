"""SYSU-MM01 protocol sizes and official sampling against the real protocol files.

The tree copies the real dataset's structure (ids, cameras, image counts from
``rand_perm_cam.mat``) with zero-byte files: the readers never open images.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from paenet.cli.data import main as data_main
from paenet.data import DatasetError
from paenet.data.sysu import read_sysu
from paenet.data.sysu_protocol import Sampling, SearchMode, load_rand_perm, sysu_protocol
from tests.data.trees import reference_structure, write_sysu


@pytest.fixture(scope="module")
def real_structure(reference_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    counts, splits = reference_structure(reference_dir)
    return write_sysu(tmp_path_factory.mktemp("sysu-structure"), counts, splits)


@pytest.fixture(scope="module")
def rand_perm_path(reference_dir: Path) -> Path:
    return reference_dir / "sysu-mm01-official" / "rand_perm_cam.mat"


def test_counts_match_the_reference_readme(real_structure: Path) -> None:
    ds = read_sysu(real_structure)
    per_cam = {c: sum(1 for s in ds.samples if s.camera == c) for c in range(1, 7)}
    assert per_cam == {1: 6289, 2: 7528, 3: 9812, 4: 8030, 5: 8224, 6: 5980}
    assert len(ds.samples) == 45863
    assert len(ds.split_ids("train")) == 296 and len(ds.split_ids("test")) == 96


@pytest.mark.parametrize("sampling", [Sampling.SEEDED, Sampling.OFFICIAL])
def test_protocol_sizes(real_structure: Path, rand_perm_path: Path, sampling: Sampling) -> None:
    ds = read_sysu(real_structure)
    rp = load_rand_perm(rand_perm_path)
    expected = {("all", 1): 301, ("indoor", 1): 112, ("all", 10): 3010, ("indoor", 10): 1120}
    for (mode, shots), gallery in expected.items():
        p = sysu_protocol(ds, mode, shots, trial=5, sampling=sampling, rand_perm=rp)
        assert len(p.query) == 3803
        assert sum(1 for s in p.query if s.camera == 3) == 1883
        assert len(p.gallery) == gallery
        assert p.params["sampling"] == sampling.value


def test_official_sampling_image_for_image(real_structure: Path, rand_perm_path: Path) -> None:
    ds = read_sysu(real_structure)
    rp = load_rand_perm(rand_perm_path)
    cells = scipy.io.loadmat(str(rand_perm_path))["rand_perm_cam"]
    for trial in (0, 9):
        p = sysu_protocol(ds, SearchMode.ALL, 10, trial, Sampling.OFFICIAL, rp)
        picked = {(s.pid, s.camera): [] for s in p.gallery}
        for s in p.gallery:
            picked[(s.pid, s.camera)].append(int(s.path.stem))
        for (pid, cam), frames in picked.items():
            perm = np.asarray(cells[cam - 1, 0][pid - 1, 0])
            # frame k on disk is the k-th sorted file: frame number == 1-based index
            assert frames == [int(x) for x in perm[trial, :10]], (pid, cam, trial)


def test_dataset_that_does_not_match_the_permutations(
    real_structure: Path, rand_perm_path: Path, tmp_path: Path
) -> None:
    counts, splits = reference_structure(rand_perm_path.parents[1])
    counts[1][6] += 1  # one extra image for the first test id in cam1
    root = write_sysu(tmp_path, {1: counts[1]} | {c: counts[c] for c in (2, 3, 4, 5, 6)}, splits)
    with pytest.raises(DatasetError, match=r"cam1/0006.*lists 42 images.*has 43"):
        sysu_protocol(read_sysu(root), "all", 1, 0, "official", load_rand_perm(rand_perm_path))


def test_inspect_json_reports_the_official_sizes(
    real_structure: Path, rand_perm_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["inspect", "--dataset", "sysu", str(real_structure), "--json"]
    assert data_main([*argv, "--rand-perm", str(rand_perm_path)]) == 0
    summary = json.loads(capsys.readouterr().out)
    sizes = {(p["mode"], p["shots"]): (p["query"], p["gallery"]) for p in summary["protocols"]}
    assert sizes == {
        ("all", 1): (3803, 301),
        ("all", 10): (3803, 3010),
        ("indoor", 1): (3803, 112),
        ("indoor", 10): (3803, 1120),
    }
    assert summary["images"] == 45863
    assert summary["per_modality"] == {"visible": 30071, "infrared": 15792}
    assert summary["splits"]["test"]["identities"] == 96
    assert set(summary) == {
        "dataset", "root", "identities", "images", "per_modality", "per_camera", "splits",
        "protocols",
    }  # fmt: skip
    assert data_main(argv[:-1]) == 0
    text = capsys.readouterr().out
    assert "all-search     1-shot (seeded): query  3803 images / 96 ids, gallery   301" in text


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda m: {"other": m["rand_perm_cam"]}, "expected a variable 'rand_perm_cam'"),
        (lambda m: {"rand_perm_cam": m["rand_perm_cam"][:5]}, r"must be a \(6, 1\) cell"),
    ],
)
def test_malformed_rand_perm(rand_perm_path: Path, tmp_path: Path, mutate, message: str) -> None:
    bad = tmp_path / "rand_perm_cam.mat"
    scipy.io.savemat(str(bad), mutate(scipy.io.loadmat(str(rand_perm_path))))
    with pytest.raises(DatasetError, match=message) as err:
        load_rand_perm(bad)
    assert str(bad) in str(err.value)


def test_rand_perm_not_a_mat_file(tmp_path: Path) -> None:
    bad = tmp_path / "rand_perm_cam.mat"
    bad.write_text("hello")
    with pytest.raises(DatasetError, match="not a readable MATLAB"):
        load_rand_perm(bad)
