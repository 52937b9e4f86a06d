"""paenet-train: a run always finishes or resumes (#20 items 3, 9, 13), on real files.

A killed run, a full disk while saving, a stale temporary checkpoint, a resume on a
manifest with another class count, ``--out`` under a file: each ends in one line on
stderr and leaves a run that ``--resume`` finishes.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import torch

from paenet.cli.train import main
from paenet.data.manifest import load_manifest
from paenet.data.manifest_build import manifest_from_synthetic
from paenet.model.loading import read_checkpoint
from tests.train.conftest import TINY

REPO = Path(__file__).resolve().parents[2]
ONE_BATCH = ("optim.epochs=1", "data.batches_per_epoch=1")


def args(manifest: Path, out: Path, *extra: str, sets: tuple[str, ...] = ()) -> list[str]:
    out_args = ["--manifest", str(manifest), "--out", str(out), *extra]
    for item in (*TINY, *sets):
        out_args += ["--set", item]
    return out_args


def resume(manifest: Path, out: Path, *extra: str) -> list[str]:
    return ["--manifest", str(manifest), "--out", str(out), "--resume", *extra]


def error_lines(err: str) -> list[str]:
    """stderr less the log lines (``LEVEL logger: ...``)."""
    levels = ("DEBUG ", "INFO ", "WARNING ")
    return [line for line in err.splitlines() if line and not line.startswith(levels)]


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_resume_writes_a_missing_final_and_a_finished_run_has_nothing_to_do(
    stand_ins, tmp_path, capsys
):
    out = tmp_path / "run"
    assert main(args(stand_ins["sysu"], out, "--preset", "smoke", sets=ONE_BATCH)) == 0
    ckpts = out / "checkpoints"
    uninterrupted = read_checkpoint(ckpts / "final.pt")
    # Killed after the last epoch's last.pt, before final.pt (or final.pt's write failed)
    (ckpts / "final.pt").unlink()
    shutil.rmtree(out / "plots")
    capsys.readouterr()
    assert main(resume(stand_ins["sysu"], out)) == 0
    assert "no epoch drawn yet" not in capsys.readouterr().err
    final = read_checkpoint(ckpts / "final.pt")
    assert final["kind"] == "final" and (final["epoch"], final["step"]) == (1, 1)
    for key in uninterrupted["model"]:
        assert torch.equal(final["model"][key], uninterrupted["model"][key]), key
    # the very fingerprint the uninterrupted run recorded, and its plots again
    assert final["extra"]["rank_fingerprints"] == uninterrupted["extra"]["rank_fingerprints"]
    assert (out / "plots" / "losses.png").is_file()
    # resumed again: finished, nothing written
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert main(resume(stand_ins["sysu"], out)) == 0
    err = capsys.readouterr().err
    assert f"run {out} already finished (epoch 1/1); nothing to do" in err
    assert error_lines(err) == []
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def _limited_resume(manifest: Path, out: Path, limit: int) -> subprocess.CompletedProcess:
    """``paenet-train --resume`` in a child process whose files may not grow past ``limit``
    bytes (``RLIMIT_FSIZE``): a write beyond it fails with EFBIG, as a full disk fails
    with ENOSPC (SIGXFSZ ignored, so the write returns the error instead of killing)."""
    code = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))\n"
        "from paenet.cli.train import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", code, *resume(manifest, out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )


def test_a_failed_checkpoint_write_is_one_line_and_the_run_still_resumes(stand_ins, tmp_path):
    assert hasattr(signal, "SIGXFSZ") and resource.RLIMIT_FSIZE is not None
    out = tmp_path / "run"
    two = ("optim.epochs=1", "data.batches_per_epoch=2", "runtime.stop_after_steps=1")
    assert main(args(stand_ins["sysu"], out, "--preset", "smoke", sets=two)) == 0
    last = out / "checkpoints" / "last.pt"
    saved = last.read_bytes()
    assert len(saved) > 1_000_000  # the limit below stops the checkpoint, not the logs
    done = _limited_resume(stand_ins["sysu"], out, 1_000_000)
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    lines = error_lines(done.stderr)
    assert len(lines) == 1, done.stderr[-3000:]
    assert lines[0].startswith(f"paenet-train: error: cannot write checkpoint {last}: ")
    assert "File too large [EFBIG]" in lines[0] and "partial file was removed" in lines[0]
    assert "--resume" in lines[0]
    # the partial temporary is gone, the earlier last.pt intact, the run resumable
    assert sorted(p.name for p in last.parent.iterdir()) == ["last.pt"]
    assert last.read_bytes() == saved
    assert main(resume(stand_ins["sysu"], out)) == 0
    assert read_checkpoint(out / "checkpoints" / "final.pt")["step"] == 2


def test_stale_temporaries_of_dead_processes_are_removed_at_the_next_start(
    stand_ins, tmp_path, capsys
):
    out = tmp_path / "run"
    stop = ("optim.epochs=1", "data.batches_per_epoch=2", "runtime.stop_after_steps=1")
    assert main(args(stand_ins["sysu"], out, "--preset", "smoke", sets=stop)) == 0
    ckpts = out / "checkpoints"
    # a write killed half-way (its process gone) and one still being written (alive)
    stale = ckpts / f".last.pt.{dead_pid()}.tmp"
    stale.write_bytes(b"\0" * 4096)
    alive = ckpts / f".final.pt.{os.getppid()}.tmp"
    alive.write_bytes(b"\0" * 4096)
    mine = out / f".notes.txt.{dead_pid()}.tmp"  # not in checkpoints/: not ours to remove
    mine.write_text("the user's")
    assert main(resume(stand_ins["sysu"], out)) == 0
    assert not stale.exists()
    assert alive.exists() and mine.exists()
    assert f"removed {stale}" in capsys.readouterr().err
    assert read_checkpoint(ckpts / "final.pt")["step"] == 2


def test_resume_on_a_manifest_with_another_class_count_is_refused(stand_ins, tmp_path, capsys):
    out = tmp_path / "run"
    stop = ("data.batches_per_epoch=2", "runtime.stop_after_steps=1")
    assert main(args(stand_ins["sysu"], out, "--preset", "smoke", sets=stop)) == 0
    # the same stand-in with one validation identity fewer: 21 training classes, not 22
    root = tmp_path / "SYSU-MM01"
    shutil.copytree(load_manifest(stand_ins["sysu"]).root, root)
    val = root / "exp" / "val_id.txt"
    ids = val.read_text().strip().split(",")
    val.write_text(",".join(ids[:-1]))
    other = manifest_from_synthetic(root, "sysu", tmp_path / "other")
    before = (out / "checkpoints" / "last.pt").read_bytes()
    capsys.readouterr()
    assert main(resume(other, out, "--force")) == 2
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 1
    assert "22 identity classes" in lines[0] and "has 21" in lines[0]
    assert "class counts differ" in lines[0] and "head cannot be reused" in lines[0]
    assert (out / "checkpoints" / "last.pt").read_bytes() == before


def test_out_under_a_file_is_one_line(stand_ins, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    for out in (tmp_path / "file", tmp_path / "file" / "run"):
        assert main(args(stand_ins["sysu"], out, "--preset", "smoke", sets=ONE_BATCH)) == 2
        lines = error_lines(capsys.readouterr().err)
        assert len(lines) == 1 and "is a file" in lines[0], lines
    assert (tmp_path / "file").read_text() == "x"


def test_a_run_saved_before_a_config_key_existed_still_resumes(stand_ins, tmp_path, capsys):
    """A checkpoint written before ``data.skip_unreadable`` existed lacks the key: the run
    behaved as its default, so --resume goes on (and a key that truly differs is refused)."""
    from paenet.train.checkpoint import save_checkpoint

    out = tmp_path / "run"
    two = ("optim.epochs=2", "data.batches_per_epoch=1")
    assert main(args(stand_ins["sysu"], out, "--preset", "smoke", sets=two)) == 0
    ckpts = out / "checkpoints"
    (ckpts / "final.pt").unlink()
    old = read_checkpoint(ckpts / "last.pt")
    del old["config"]["data"]["skip_unreadable"]
    old["epoch"], old["step"] = 1, 1  # as if killed after the first epoch
    for key in ("format", "version"):
        old.pop(key)
    save_checkpoint(ckpts / "last.pt", old)
    capsys.readouterr()
    assert main(resume(stand_ins["sysu"], out)) == 0, capsys.readouterr().err
    assert read_checkpoint(ckpts / "final.pt")["epoch"] == 2
    save_checkpoint(ckpts / "last.pt", old)  # a real difference is still refused
    (ckpts / "final.pt").unlink()
    capsys.readouterr()
    assert main([*resume(stand_ins["sysu"], out), "--set", "data.skip_unreadable=true"]) == 2
    assert "data.skip_unreadable" in capsys.readouterr().err


def test_an_image_that_passes_the_header_scan_but_not_decoding_is_one_line(tmp_path, capsys):
    """A JPEG cut in half keeps a valid header (the scan before the first step reads only
    headers): the decode error in the middle of training is one line naming the file."""
    from paenet.synth import SynthConfig, synthesize

    root = tmp_path / "SYSU-MM01"
    synthesize(SynthConfig(layout="sysu", out=root, scale="tiny", seed=0, workers=1))
    manifest = manifest_from_synthetic(root, "sysu", tmp_path / "manifest")
    m = load_manifest(manifest)
    victim = m.image_path(m.training_set().samples[0])
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])
    out = tmp_path / "run"
    sets = ("optim.epochs=1", "data.batches_per_epoch=1", "data.cache=true")  # decodes all
    capsys.readouterr()  # what the set-up logged (through an earlier test's handler) aside
    assert main(args(manifest, out, "--preset", "smoke", sets=sets)) == 2
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 1 and str(victim) in lines[0], lines
    assert "not a decodable image" in lines[0] and "start again with --overwrite" in lines[0]
