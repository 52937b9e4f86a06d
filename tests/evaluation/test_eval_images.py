"""paenet-eval and unreadable, escaping or oversized test images: the scan before the
features (refuse, or leave out with ``--skip-unreadable``) and the decoder's own rules."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from paenet.cli.eval import main
from paenet.data.images import ImageDecodeError
from paenet.data.manifest import load_manifest
from paenet.data.manifest_build import manifest_from_synthetic
from paenet.evaluation.features import extract_bank
from paenet.model.loading import load_trained_model
from paenet.synth import SynthConfig, synthesize


@pytest.fixture()
def dataset(tmp_path: Path) -> tuple[Path, Path]:
    """(dataset root, manifest directory) of a fresh tiny SYSU stand-in this test may damage."""
    root = tmp_path / "SYSU-MM01"
    synthesize(SynthConfig(layout="sysu", out=root, scale="tiny", seed=0, workers=1))
    return root, manifest_from_synthetic(root, "sysu", tmp_path / "manifest")


def run(ckpt: Path, manifest: Path, *extra: str) -> int:
    args = ["--checkpoint", str(ckpt), "--manifest", str(manifest), "--no-progress"]
    return main([*args, "--trial", "0", *extra])


def trial0_images(manifest: Path) -> list[str]:
    """Trial 0's query images, then its gallery images (manifest paths)."""
    m = load_manifest(manifest)
    protocol = m.protocols(trial=0)[0]
    return [str(s.path) for s in (*protocol.query, *protocol.gallery)]


def test_unreadable_test_images_are_listed_and_refused(checkpoints, dataset, tmp_path, capsys):
    root, manifest = dataset
    paths = trial0_images(manifest)
    victims = [paths[0], paths[1], paths[-1]]  # two queries, one gallery image
    (root / victims[0]).unlink()
    (root / victims[1]).write_bytes(b"")
    (root / victims[2]).write_bytes(np.random.default_rng(0).bytes(2000))
    out = tmp_path / "results"
    assert run(checkpoints["sysu"], manifest, "--out", str(out)) == 2
    err = capsys.readouterr().err
    for victim, problem in zip(victims, ("missing", "empty", "not a decodable image")):
        assert any(victim in x and problem in x for x in err.splitlines())
    last = err.strip().splitlines()[-1]
    assert last.startswith("paenet-eval: error: ") and "3 of " in last
    assert "--skip-unreadable" in last and "Traceback" not in err
    assert not (out / "results.json").exists()
    # --skip-unreadable: evaluated without them, and the result says so
    assert run(checkpoints["sysu"], manifest, "--out", str(out), "--skip-unreadable") == 0
    results = json.loads((out / "results.json").read_text())
    note = next(n for n in results["notes"] if n.startswith("SKIPPED"))
    assert all(v in note for v in victims)
    full = {
        s.path for p in load_manifest(manifest).protocols(trial=0) for s in (*p.query, *p.gallery)
    }
    assert results["test_images"] == len(full) - 3


def test_a_link_outside_the_root_is_refused(checkpoints, dataset, tmp_path, capsys):
    root, manifest = dataset
    victim = trial0_images(manifest)[2]
    outside = tmp_path / "elsewhere" / "secret.jpg"
    outside.parent.mkdir()
    outside.write_bytes((root / victim).read_bytes())
    (root / victim).unlink()
    (root / victim).symlink_to(outside)
    assert run(checkpoints["sysu"], manifest) == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert last.startswith("paenet-eval: error: ") and victim in last
    assert "outside the dataset root" in last and "Traceback" not in err
    # the feature extractor's decoder refuses it too (not only the scan)
    m = load_manifest(manifest)
    sample = m.image(victim).sample
    model = load_trained_model(checkpoints["sysu"]).model
    with pytest.raises(ImageDecodeError, match="outside the dataset root"):
        extract_bank(model, [sample], [m.image_path(sample)], source="predicted",
                     input_size=(64, 32), progress=False, root=m.root)  # fmt: skip


def test_an_oversized_test_image_is_refused(checkpoints, dataset, capsys):
    root, manifest = dataset
    victim = trial0_images(manifest)[-2]
    Image.new("1", (6000, 6000)).save(root / victim, format="PNG")  # a few KB, 108 MB decoded
    assert run(checkpoints["sysu"], manifest) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("paenet-eval: error: ") and victim in last
    assert "6000×6000" in last and "over the limit" in last
