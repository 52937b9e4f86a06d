"""``paenet-predict`` end to end: a checkpoint in the real format, a registered stand-in,
suggestions stored per identity and camera, calibrated, replaced on a re-run, and every
unusable input refused with one line."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from scipy.special import expit
from sqlalchemy import func, select

from annotator.cli_predict import main
from annotator.store.db import open_store
from annotator.store.importers.run import ImportFormat, run_import
from annotator.store.models import Suggestion
from annotator.store.services.datasets import register_dataset
from annotator.store.services.suggestions import model_sources, suggestions_of
from paenet.attributes import ATTRIBUTE_KEYS
from paenet.data.kinds import read_dataset
from paenet.data.manifest_build import manifest_from_synthetic
from paenet.evaluation.features import extract_bank
from paenet.model.loading import load_trained_model
from paenet.synth import SynthConfig, synthesize
from tests.evaluation.conftest import write_untrained_checkpoint


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("predict")
    root = base / "SYSU-MM01"
    synthesize(SynthConfig(layout="sysu", out=root, scale="tiny", seed=0, workers=1))
    manifest = manifest_from_synthetic(root, "sysu", base / "manifest")
    ckpt = write_untrained_checkpoint(base / "final.pt", manifest, seed=3)
    no_head = write_untrained_checkpoint(base / "nohead.pt", manifest, attribute_head=False)
    return {"base": base, "root": root, "manifest": manifest, "ckpt": ckpt, "no_head": no_head}


def _store(tmp_path: Path, root: Path) -> str:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    store = open_store(url)
    with store.write() as s:
        register_dataset(s, "sysu", "sysu", root)
        run_import(s, ImportFormat.SYNTH, root, "sysu")
    store.dispose()
    return url


def test_predict_stores_pooled_calibrated_suggestions_and_a_rerun_replaces_them(
    setup: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _store(tmp_path, setup["root"])
    args = ["--checkpoint", str(setup["ckpt"]), "--dataset", "sysu", "--db", url]
    assert main([*args, "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("model source model-sysu (run 1):")
    ds = read_dataset("sysu", setup["root"])
    cams = {(s.pid, s.camera) for s in ds.samples}
    pids = sorted({s.pid for s in ds.samples})
    assert f"{len(pids)} identities, {len(ds.samples)} images" in out
    store = open_store(url)
    with store.read() as s:
        n = s.scalar(select(func.count()).select_from(Suggestion))
        assert n == 8 * (len(pids) + len(cams))
        (src,) = model_sources(s, "sysu")
        details = src.details
        pid = pids[0]
        got = suggestions_of(s, "sysu", pid, "model-sysu")
    # the default calibration: the training manifest's identities the model did not train on
    cal = details["calibration"]
    assert cal["held_out"].startswith(f"training manifest {setup['manifest']}")
    temps = np.array([cal["attributes"][k]["temperature"] for k in ATTRIBUTE_KEYS])
    assert details["checkpoint"]["sha256"] == _sha(setup["ckpt"])
    assert details["manifest"]["directory"] == str(setup["manifest"])
    # the identity's probability, recomputed by another path: the evaluator's feature bank
    trained = load_trained_model(setup["ckpt"])
    own = [smp for smp in ds.samples if smp.pid == pid]
    bank = extract_bank(
        trained.model, own, [setup["root"] / smp.path for smp in own], source="backbone",
        input_size=(64, 32), progress=False,
    )  # fmt: skip
    assert bank.attribute_logits is not None
    expected = expit(bank.attribute_logits.astype(np.float64).mean(axis=0) / temps)
    np.testing.assert_allclose([got[k].probability for k in ATTRIBUTE_KEYS], expected, atol=1e-4)
    assert [got[k].value for k in ATTRIBUTE_KEYS] == [int(p >= 0.5) for p in expected]

    assert main([*args, "--no-progress", "--calibrate-on", "synth-gt"]) == 0
    assert "(run 2)" in capsys.readouterr().out
    with store.read() as s:
        assert s.scalar(select(func.count()).select_from(Suggestion)) == n  # replaced
        details = model_sources(s, "sysu")[0].details
    assert details["calibration"]["held_out"].startswith("label source synth-gt on sysu")
    store.dispose()


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("paenet-predict: error: "), err
    return lines[0]


def test_unusable_inputs_are_refused_with_one_line(
    setup: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _store(tmp_path, setup["root"])
    db = ["--db", url, "--no-progress"]
    assert main(["--checkpoint", str(setup["no_head"]), "--dataset", "sysu", *db]) == 2
    assert "no attribute-recognition head" in _one_error_line(capsys)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(os.urandom(4096))
    assert main(["--checkpoint", str(junk), "--dataset", "sysu", *db]) == 2
    assert str(junk) in _one_error_line(capsys)
    assert main(["--checkpoint", str(setup["ckpt"]), "--dataset", "nope", *db]) == 2
    assert "nope" in _one_error_line(capsys)
    assert main(["--checkpoint", str(setup["ckpt"]), "--dataset", "sysu", "--source",
                 "synth-gt", *db]) == 2  # fmt: skip
    assert "is an import source" in _one_error_line(capsys)
    store = open_store(url)
    with store.read() as s:
        assert model_sources(s) == []  # nothing half-written
    store.dispose()


def test_an_image_linked_outside_the_root_is_refused(
    setup: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    root = tmp_path / "SYSU-MM01"
    shutil.copytree(setup["root"], root)
    url = _store(tmp_path, root)
    victim = next(root.glob("cam1/*/*.jpg"))
    outside = tmp_path / "elsewhere.jpg"
    shutil.copy(victim, outside)
    victim.unlink()
    victim.symlink_to(outside)  # after registration: only the header check can see it
    assert main(["--checkpoint", str(setup["ckpt"]), "--dataset", "sysu", "--db", url,
                 "--no-progress"]) == 2  # fmt: skip
    line = _one_error_line(capsys)
    assert str(victim) in line and "outside the dataset root" in line


def test_help_names_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--checkpoint", "--dataset", "--source", "--calibrate-on", "--device"):
        assert flag in text


def test_a_checkpoint_of_another_attribute_schema_is_refused(
    setup: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dataclasses import replace

    from paenet.model.loading import build_model, model_config_from_dict, read_checkpoint
    from paenet.train.checkpoint import save_checkpoint

    payload = read_checkpoint(setup["ckpt"])
    four = replace(model_config_from_dict(payload["model_config"]), num_attributes=4)
    payload.update(model=build_model(four).state_dict(), model_config=four.to_dict())
    for key in ("format", "version"):
        payload.pop(key)
    other = tmp_path / "four.pt"
    save_checkpoint(other, payload)
    url = _store(tmp_path, setup["root"])
    assert main(["--checkpoint", str(other), "--dataset", "sysu", "--db", url,
                 "--no-progress"]) == 2  # fmt: skip
    line = _one_error_line(capsys)
    assert "another attribute schema (4 attributes)" in line and str(other) in line


def test_the_decoder_refuses_a_link_outside_the_root_given(
    setup: dict[str, Path], tmp_path: Path
) -> None:
    """Defence in depth: even without the header scan, the head's image reader applies
    the trainer's decoder rules under the dataset root."""
    from paenet.data.images import ImageDecodeError
    from paenet.suggest.predict import PredictImage, attribute_logits, load_attribute_model

    root = tmp_path / "root"
    root.mkdir()
    outside = next(setup["root"].glob("cam1/*/*.jpg"))
    (root / "a.jpg").symlink_to(outside)
    trained = load_attribute_model(setup["ckpt"])
    images = [PredictImage(1, 1, "visible", root / "a.jpg")]
    assert attribute_logits(trained, images, progress=False).shape == (1, 8)  # no root: read
    with pytest.raises(ImageDecodeError, match="outside the dataset root"):
        attribute_logits(trained, images, root=root, progress=False)


def test_predict_on_the_regdb_layout_with_a_model_trained_on_sysu(
    setup: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The cross-domain case the tool exists for: RegDB (no public labels) suggested by a
    SYSU-MM01 model; calibrated on the SYSU manifest's held-out identities."""
    root = tmp_path / "RegDB"
    synthesize(SynthConfig(layout="regdb", out=root, scale="tiny", seed=1, workers=1))
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    store = open_store(url)
    with store.write() as s:
        register_dataset(s, "regdb", "regdb", root)
    assert main(["--checkpoint", str(setup["ckpt"]), "--dataset", "regdb", "--db", url,
                 "--no-progress"]) == 0  # fmt: skip
    ds = read_dataset("regdb", root)
    pids = {smp.pid for smp in ds.samples}
    cams = {(smp.pid, smp.camera) for smp in ds.samples}
    assert len(cams) == 2 * len(pids)  # RegDB: a visible and a thermal camera per person
    with store.read() as s:
        assert s.scalar(select(func.count()).select_from(Suggestion)) == 8 * (len(pids) + len(cams))
        (src,) = model_sources(s, "regdb")
    store.dispose()
    assert src.name == "model-regdb" and src.details["manifest"]["kind"] == "sysu"
    assert src.details["calibration"]["held_out"].startswith("training manifest")
    assert f"{len(pids)} identities, {len(ds.samples)} images" in capsys.readouterr().out
