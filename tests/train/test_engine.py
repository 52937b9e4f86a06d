"""paenet-train end to end on the tiny stand-in: files, checkpoints, resume, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from paenet.cli.train import main
from paenet.data.manifest import load_manifest
from paenet.data.manifest_build import manifest_from_synthetic
from paenet.model.loading import load_trained_model, read_checkpoint
from paenet.train.config import RunConfig
from paenet.train.presets import apply
from tests.train.conftest import TINY


def run(manifest: Path, out: Path, *extra: str, sets: tuple[str, ...] = ()) -> int:
    args = ["--manifest", str(manifest), "--out", str(out), *extra]
    for item in (*TINY, *sets):
        args += ["--set", item]
    return main(args)


def metrics(run_dir: Path) -> list[dict]:
    return [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_smoke_preset_end_to_end(stand_ins, tmp_path):
    out = tmp_path / "run"
    assert run(stand_ins["sysu"], out, "--preset", "smoke") == 0
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["final.pt", "last.pt"]
    assert sorted(p.name for p in (out / "plots").iterdir()) == ["losses.png", "lr.png"]
    assert len(list((out / "tb").glob("events.out.tfevents.*"))) == 1
    lines = metrics(out)
    steps = [x for x in lines if x["kind"] == "step"]
    assert [x["step"] for x in steps] == [1, 2, 3, 4]  # smoke: 4 batches, log every step
    assert [x["kind"] for x in lines].count("epoch") == 1
    for x in steps:
        terms = {k[5:]: v for k, v in x.items() if k.startswith("loss/")}
        assert set(terms) == {"total", "id", "triplet", "mmd", "attribute", "predicted_attribute"}
        assert terms["total"] == pytest.approx(sum(v for k, v in terms.items() if k != "total"))
        assert x["lr"] == 0.001 and x["images_per_s"] > 0  # smoke: AdamW 1e-3, cosine epoch 0
    # config.yaml is the resolved configuration and is enough to rerun
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["preset"] == "smoke" and saved["data"]["input_size"] == [64, 32]
    # ... fed back with the decoded cache on, it trains the very same weights
    again = tmp_path / "again"
    args = ["--manifest", str(stand_ins["sysu"]), "--out", str(again)]
    assert main([*args, "--config", str(out / "config.yaml"), "--set", "data.cache=true"]) == 0
    assert len(list((again / "cache").glob("*.u8"))) == 1
    a = read_checkpoint(out / "checkpoints" / "final.pt")
    b = read_checkpoint(again / "checkpoints" / "final.pt")
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    # the evaluator's loader
    trained = load_trained_model(out / "checkpoints" / "final.pt")
    assert not trained.model.training
    assert trained.kind == "sysu" and trained.trial is None
    assert trained.train_splits == ("train", "val") and trained.epoch == 1
    assert trained.manifest_hash == json.loads((out / "run.json").read_text())["manifest"]["hash"]
    assert trained.model_config.num_classes == len(trained.pids) == 22  # 16 train + 6 val ids
    assert trained.checkpoint_kind == "final"


@pytest.mark.slow
def test_resume_is_bit_for_bit(stand_ins, tmp_path):
    """2 epochs × 3 batches uninterrupted == stopped after step 4 (mid epoch 2) + resume."""
    sets = ("optim.epochs=2", "data.batches_per_epoch=3", "data.random_erasing=0.5",
            "loss.pae_feed=mix")  # fmt: skip
    full, parts = tmp_path / "full", tmp_path / "parts"
    assert run(stand_ins["sysu"], full, "--preset", "smoke", sets=sets) == 0
    assert run(stand_ins["sysu"], parts, "--preset", "smoke",
               sets=(*sets, "runtime.stop_after_steps=4")) == 0  # fmt: skip
    stopped = read_checkpoint(parts / "checkpoints" / "last.pt")
    assert (stopped["epoch"], stopped["step"], stopped["batch_in_epoch"]) == (1, 4, 1)
    assert not (parts / "checkpoints" / "final.pt").exists()
    assert main(["--manifest", str(stand_ins["sysu"]), "--out", str(parts), "--resume"]) == 0
    a = read_checkpoint(full / "checkpoints" / "final.pt")
    b = read_checkpoint(parts / "checkpoints" / "final.pt")
    assert a["step"] == b["step"] == 6
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    assert a["optimizer"]["state"].keys() == b["optimizer"]["state"].keys()
    for k, state in a["optimizer"]["state"].items():  # AdamW in smoke: exp_avg, exp_avg_sq, step
        assert state.keys() == b["optimizer"]["state"][k].keys()
        for name, value in state.items():
            assert torch.equal(value, b["optimizer"]["state"][k][name]), (k, name)
    # the resumed run's log is the uninterrupted one's (the lost tail is dropped)
    strip = [{k: v for k, v in x.items() if k not in ("images_per_s", "seconds")}
             for x in metrics(full)]  # fmt: skip
    assert strip == [{k: v for k, v in x.items() if k not in ("images_per_s", "seconds")}
                     for x in metrics(parts)]  # fmt: skip


def test_resume_refuses_another_manifest_unless_forced(stand_ins, tmp_path):
    out = tmp_path / "run"
    assert run(stand_ins["sysu"], out, "--preset", "smoke",
               sets=("runtime.stop_after_steps=1",)) == 0  # fmt: skip
    # The same images under another dataset name: another manifest content hash.
    root = load_manifest(stand_ins["sysu"]).root
    other = manifest_from_synthetic(root, "sysu", tmp_path / "other", dataset="sysu-renamed")
    assert main(["--manifest", str(other), "--out", str(out), "--resume"]) == 2
    assert main(["--manifest", str(other), "--out", str(out), "--resume", "--force"]) == 0
    assert read_checkpoint(out / "checkpoints" / "final.pt")["step"] == 4


def test_resume_only_changes_runtime_keys(stand_ins, tmp_path, capsys):
    out = tmp_path / "run"
    assert run(stand_ins["sysu"], out, "--preset", "smoke",
               sets=("runtime.stop_after_steps=1",)) == 0  # fmt: skip
    code = main(["--manifest", str(stand_ins["sysu"]), "--out", str(out), "--resume",
                 "--set", "optim.lr=0.5"])  # fmt: skip
    assert code == 2
    assert "only runtime.* keys" in capsys.readouterr().err


def test_regdb_needs_a_trial_and_trains_on_its_list(stand_ins, tmp_path, capsys):
    assert run(stand_ins["regdb"], tmp_path / "no-trial", "--preset", "smoke") == 2
    assert "--trial" in capsys.readouterr().err
    out = tmp_path / "trial2"
    assert run(stand_ins["regdb"], out, "--preset", "smoke", "--trial", "2") == 0
    trained = load_trained_model(out / "checkpoints" / "final.pt")
    assert trained.kind == "regdb" and trained.trial == 2 and trained.train_splits == ()
    expected = load_manifest(stand_ins["regdb"]).training_set(trial=2)
    assert trained.pids == expected.pids
    assert trained.model_config.num_classes == expected.num_classes


def test_non_finite_loss_names_step_and_term(stand_ins, tmp_path, capsys):
    # A learning rate of 1e30 blows the weights up after the first step.
    code = run(stand_ins["sysu"], tmp_path / "nan", "--preset", "smoke",
               sets=("optim.lr=1e30",))  # fmt: skip
    assert code == 3
    err = capsys.readouterr().err
    assert "non-finite loss at step 2" in err and "term '" in err


def test_resolved_config_is_the_saved_one(stand_ins, tmp_path):
    out = tmp_path / "run"
    assert run(stand_ins["sysu"], out, "--preset", "smoke",
               sets=("runtime.stop_after_steps=1", "loss.pae_feed=predicted")) == 0  # fmt: skip
    saved = read_checkpoint(out / "checkpoints" / "last.pt")["config"]
    assert saved == yaml.safe_load((out / "config.yaml").read_text())
    config = apply(RunConfig(preset="smoke"), saved, "test")
    assert config.loss.pae_feed == "predicted" and config.data.input_size == (64, 32)


def test_validation_split_picks_the_best_epoch_and_never_sees_test(stand_ins, tmp_path):
    from paenet.train.validation import validation_set

    manifest = load_manifest(stand_ins["sysu"])
    val = validation_set(manifest, "val")
    val_pids = {im.sample.pid for im in manifest.images if im.split == "val"}
    assert {s.pid for s in val.protocol.query + val.protocol.gallery} == val_pids
    assert {s.camera for s in val.protocol.query} <= {3, 6}
    assert {s.camera for s in val.protocol.gallery} <= {1, 2, 4, 5}
    out = tmp_path / "run"
    sets = ("data.splits=[train]", "data.val_split=val", "optim.epochs=2",
            "data.batches_per_epoch=2")  # fmt: skip
    assert run(stand_ins["sysu"], out, "--preset", "smoke", sets=sets) == 0
    epochs = [x for x in metrics(out) if x["kind"] == "epoch"]
    maps = [x["val/mAP"] for x in epochs]
    assert len(maps) == 2 and all(0.0 < m <= 1.0 for m in maps)
    best = read_checkpoint(out / "checkpoints" / "best.pt")
    assert best["kind"] == "best" and best["extra"]["validation"]["val/mAP"] == max(maps)
    assert best["epoch"] == 1 + maps.index(max(maps))
    trained = load_trained_model(out / "checkpoints" / "best.pt")
    assert trained.train_splits == ("train",) and trained.model_config.num_classes == 16
    for record in epochs:  # rank-1 and the attribute head's balanced accuracy beside mAP
        assert 0.0 <= record["val/rank1"] <= 1.0
        assert 0.0 <= record["val/attribute_balanced_accuracy"] <= 1.0
    assert (out / "plots" / "validation.png").is_file()


def test_validation_every_n_epochs_and_after_the_last(stand_ins, tmp_path):
    out = tmp_path / "run"
    sets = ("data.splits=[train]", "data.val_split=val", "optim.epochs=3",
            "data.batches_per_epoch=1", "data.val_every=2")  # fmt: skip
    assert run(stand_ins["sysu"], out, "--preset", "smoke", sets=sets) == 0
    scored = [x["epoch"] for x in metrics(out) if x["kind"] == "epoch" and "val/mAP" in x]
    assert scored == [1, 2]  # 0-based epochs 1 (the 2nd) and 2 (the last)


def test_instruments_are_logged_and_plotted(stand_ins, tmp_path):
    out = tmp_path / "run"
    sets = ("optim.epochs=1", "data.batches_per_epoch=4", "runtime.probe_every=2")
    assert run(stand_ins["sysu"], out, "--preset", "smoke", sets=sets) == 0
    steps = [x for x in metrics(out) if x["kind"] == "step"]
    probed = [x["step"] for x in steps if "health/backbone/effective_rank" in x]
    assert probed == [2, 4]
    record = steps[probed[1] - 1]
    for term in ("id", "triplet", "mmd", "attribute", "predicted_attribute"):
        assert record[f"grad/{term}"] >= 0.0
    assert record["grad/id"] > 0.0
    assert record["health/backbone/std"] > 0.0 and record["health/metric/centre_distance"] > 0.0
    assert "health/attribute_logit_spread" in record
    assert (out / "plots" / "health.png").is_file()


def test_last_checkpoint_every_n_epochs_after_the_last_and_when_stopped(
    stand_ins, tmp_path, monkeypatch
):
    import paenet.train.state as state

    written: list[tuple[str, int]] = []
    real = state.save_checkpoint

    def spy(path, payload):
        written.append((path.name, payload["epoch"]))
        real(path, payload)

    monkeypatch.setattr(state, "save_checkpoint", spy)
    sets = ("optim.epochs=5", "data.batches_per_epoch=1", "runtime.checkpoint_every=2")
    assert run(stand_ins["sysu"], tmp_path / "run", "--preset", "smoke", sets=sets) == 0
    assert written == [("last.pt", 2), ("last.pt", 4), ("last.pt", 5), ("final.pt", 5)]
    written.clear()
    stop = (*sets, "runtime.stop_after_steps=3")  # stops at the end of epoch 3
    assert run(stand_ins["sysu"], tmp_path / "stop", "--preset", "smoke", sets=stop) == 0
    assert written == [("last.pt", 2), ("last.pt", 3)]
    resume = ["--manifest", str(stand_ins["sysu"]), "--out", str(tmp_path / "stop"), "--resume"]
    assert main(resume) == 0
    assert read_checkpoint(tmp_path / "stop" / "checkpoints" / "final.pt")["epoch"] == 5


def test_an_existing_run_is_refused_unless_resumed_or_overwritten(stand_ins, tmp_path, capsys):
    out = tmp_path / "run"
    sets = ("optim.epochs=1", "data.batches_per_epoch=1")
    assert run(stand_ins["sysu"], out, "--preset", "smoke", sets=sets) == 0
    (out / "notes.txt").write_text("mine")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    # a second run into the same folder: refused, nothing touched
    assert run(stand_ins["sysu"], out, "--preset", "smoke", sets=sets) == 2
    err = capsys.readouterr().err
    assert "already holds a run" in err and "--resume" in err and "--overwrite" in err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    # --overwrite: the old run is gone (no stale final.pt of it), the user's file stays
    longer = ("optim.epochs=1", "data.batches_per_epoch=2")
    assert run(stand_ins["sysu"], out, "--preset", "smoke", "--overwrite", sets=longer) == 0
    assert (out / "notes.txt").read_text() == "mine"
    assert read_checkpoint(out / "checkpoints" / "final.pt")["step"] == 2
    assert [x["step"] for x in metrics(out) if x["kind"] == "step"] == [1, 2]
    # --resume of a finished run is not refused by this check; --resume with --overwrite is
    capsys.readouterr()
    both = ["--manifest", str(stand_ins["sysu"]), "--out", str(out), "--resume", "--overwrite"]
    assert main(both) == 2
    assert "choose one" in capsys.readouterr().err
    assert read_checkpoint(out / "checkpoints" / "final.pt")["step"] == 2  # untouched
    # --out naming a file
    (tmp_path / "file").write_text("x")
    assert run(stand_ins["sysu"], tmp_path / "file", "--preset", "smoke", sets=sets) == 2
    assert "is a file" in capsys.readouterr().err
