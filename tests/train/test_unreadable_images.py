"""Unreadable, escaping and oversized training images: the scan before the first step
(refuse, or leave out with ``data.skip_unreadable``) and the decoder's own rules."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import simplejpeg
from PIL import Image

from paenet.cli.train import main
from paenet.data.images import ImageDecodeError, decode
from paenet.data.manifest import load_manifest
from paenet.data.manifest_build import manifest_from_synthetic
from paenet.data.records import Modality
from paenet.synth import SynthConfig, synthesize
from paenet.train.config import DataConfig
from paenet.train.data import TrainDataset, TrainImages
from tests.train.conftest import TINY


@pytest.fixture()
def dataset(tmp_path: Path) -> tuple[Path, Path]:
    """(dataset root, manifest directory) of a fresh tiny SYSU stand-in this test may damage."""
    root = tmp_path / "SYSU-MM01"
    synthesize(SynthConfig(layout="sysu", out=root, scale="tiny", seed=0, workers=1))
    return root, manifest_from_synthetic(root, "sysu", tmp_path / "manifest")


def train(manifest: Path, out: Path, *sets: str) -> int:
    args = ["--manifest", str(manifest), "--out", str(out), "--preset", "smoke"]
    for item in (*TINY, *sets):
        args += ["--set", item]
    return main(args)


def training_paths(manifest: Path) -> list[str]:
    return [str(im.sample.path) for im in load_manifest(manifest).training_set().images]


def damage_three(root: Path, manifest: Path) -> list[str]:
    """One missing, one empty and one random-bytes training image (of three identities)."""
    paths = training_paths(manifest)
    missing, empty, garbage = paths[0], paths[len(paths) // 2], paths[-1]
    (root / missing).unlink()
    (root / empty).write_bytes(b"")
    (root / garbage).write_bytes(np.random.default_rng(0).bytes(2000))
    return [missing, empty, garbage]


def big_png(path: Path, side: int = 6000) -> Path:
    """A real PNG of side × side black pixels: a few KB on disk, 108 MB decoded."""
    Image.new("1", (side, side)).save(path, format="PNG")
    return path


def test_unreadable_images_stop_training_before_the_first_step(dataset, tmp_path, capsys):
    root, manifest = dataset
    victims = damage_three(root, manifest)
    out = tmp_path / "run"
    assert train(manifest, out) == 2
    err = capsys.readouterr().err
    for victim, problem in zip(victims, ("missing", "empty", "not a decodable image")):
        line = next(x for x in err.splitlines() if victim in x and "unreadable" in x)
        assert problem in line
    last = err.strip().splitlines()[-1]
    assert last.startswith("paenet-train: error: ") and "3 of " in last
    assert "data.skip_unreadable=true" in last and "Traceback" not in err
    assert not (out / "metrics.jsonl").exists() and not (out / "checkpoints").exists()


def test_skip_unreadable_trains_warns_and_records_the_dropped_paths(dataset, tmp_path, capsys):
    root, manifest = dataset
    victims = damage_three(root, manifest)
    # every infrared image of one identity gone: that identity cannot be sampled
    m = load_manifest(manifest)
    training = m.training_set()
    pid = training.pids[3]
    infrared = [
        str(im.sample.path)
        for im in training.images
        if im.sample.pid == pid and Modality(im.sample.modality) == Modality.INFRARED
    ]
    for path in infrared:
        (root / path).unlink()
    out = tmp_path / "run"
    assert train(manifest, out, "data.skip_unreadable=true") == 0
    err = capsys.readouterr().err
    assert all(v in err for v in victims) and f"person ids [{pid}]" in err
    info = json.loads((out / "run.json").read_text())
    assert sorted(x["path"] for x in info["unreadable_images"]) == sorted(victims + infrared)
    assert info["num_classes"] == training.num_classes - 1
    assert info["train_images"] == sum(
        1 for im in training.images if im.sample.pid != pid and str(im.sample.path) not in victims
    )
    assert (out / "checkpoints" / "final.pt").is_file()


def test_dropping_renumbers_labels_and_leaves_out_one_sided_identities(dataset):
    _, manifest = dataset
    m = load_manifest(manifest)
    images = TrainImages.from_training_set(m, m.training_set())
    ir = Modality.INFRARED.model_index
    gone = {p for p, lab, mod in zip(images.paths, images.labels, images.modality)
            if lab == 0 and mod == ir}  # fmt: skip
    gone.add(images.paths[-1])  # one image of the last identity: it keeps both modalities
    kept, lost = images.without(frozenset(gone))
    assert lost == (images.pids[0],)
    assert kept.pids == images.pids[1:]
    assert kept.labels.tolist() == sorted(kept.labels.tolist())
    assert set(kept.labels.tolist()) == set(range(len(kept.pids)))
    assert len(kept) == int((images.labels != 0).sum()) - 1 and kept.root == images.root


def test_a_link_outside_the_root_is_refused_by_the_scan_and_the_decoder(dataset, tmp_path, capsys):
    root, manifest = dataset
    victim = training_paths(manifest)[5]
    outside = tmp_path / "outside.jpg"
    outside.write_bytes((root / victim).read_bytes())
    (root / victim).unlink()
    (root / victim).symlink_to(outside)
    assert train(manifest, tmp_path / "run") == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert last.startswith("paenet-train: error: ") and victim in last
    assert "outside the dataset root" in last and "Traceback" not in err
    # the decoder itself refuses it (a link made after the scan, or any other reader)
    m = load_manifest(manifest)
    images = TrainImages.from_training_set(m, m.training_set())
    index = images.paths.index(root / victim)
    with pytest.raises(ImageDecodeError, match=f"{victim}.*outside the dataset root"):
        TrainDataset(images, DataConfig(input_size=(64, 32))).load(index)
    with pytest.raises(ImageDecodeError, match="outside the dataset root"):
        decode(root / victim, root)
    assert decode(outside).shape[2] == 3  # without a root, nothing to check against


def test_an_oversized_image_is_refused_before_decoding(dataset, tmp_path, capsys):
    root, manifest = dataset
    victim = training_paths(manifest)[7]
    big_png(root / victim)  # a PNG under a .jpg name: headers decide, not names
    assert (root / victim).stat().st_size < 100_000
    assert train(manifest, tmp_path / "run") == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert victim in last and "6000×6000" in last and "over the limit" in last
    with pytest.raises(ImageDecodeError, match=r"6000×6000.*refused before decoding"):
        decode(root / victim, root)


def test_the_decoder_reads_a_jpeg_header_before_its_pixels(tmp_path):
    """A JPEG whose header declares 20000×20000 (1.2 GB decoded) is refused from its
    header; the same file with its true size decodes."""
    small = simplejpeg.encode_jpeg(np.zeros((16, 8, 3), np.uint8))
    sof = small.index(b"\xff\xc0")  # baseline frame header: length(2) precision(1) h(2) w(2)
    assert simplejpeg.decode_jpeg_header(small)[:2] == (16, 8)
    huge = bytearray(small)
    huge[sof + 5 : sof + 9] = (20000).to_bytes(2, "big") * 2
    (tmp_path / "huge.jpg").write_bytes(bytes(huge))
    (tmp_path / "small.jpg").write_bytes(small)
    with pytest.raises(ImageDecodeError, match=r"huge\.jpg.*20000×20000.*over the limit"):
        decode(tmp_path / "huge.jpg", tmp_path)
    assert decode(tmp_path / "small.jpg", tmp_path).shape == (16, 8, 3)
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(ImageDecodeError, match=r"empty\.jpg is empty"):
        decode(tmp_path / "empty.jpg")


def test_validation_images_are_scanned_and_skipped_too(dataset, tmp_path, capsys):
    root, manifest = dataset
    m = load_manifest(manifest)
    victim = str(next(im.sample.path for im in m.images if im.split == "val"))
    (root / victim).write_bytes(b"")
    sets = ("data.splits=[train]", "data.val_split=val")
    assert train(manifest, tmp_path / "refused", *sets) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "training and validation images are unreadable" in last and victim in last
    out = tmp_path / "run"
    assert train(manifest, out, *sets, "data.skip_unreadable=true") == 0
    info = json.loads((out / "run.json").read_text())
    assert [x["path"] for x in info["unreadable_images"]] == [victim]
    assert (out / "checkpoints" / "best.pt").is_file()
