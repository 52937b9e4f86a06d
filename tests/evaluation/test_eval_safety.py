"""paenet-eval: bad output folders, devices and checkpoint files are one line, and an
unwritable ``--out`` is found before the evaluation, not after it (#20 items 9, 10)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import torch

import paenet
from paenet.cli.eval import main


def run(ckpt: Path, manifest: Path, *extra: str) -> int:
    return main(["--checkpoint", str(ckpt), "--manifest", str(manifest), "--no-progress", *extra])


def one_error(capsys: pytest.CaptureFixture[str]) -> str:
    """The single line on stderr, which must be ``paenet-eval: error: ...``; nothing on
    stdout (the results table is printed only after an evaluation)."""
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("paenet-eval: error: ")
    assert captured.out == ""
    return lines[0]


def test_an_unwritable_out_is_refused_before_evaluating(checkpoints, stand_ins, tmp_path, capsys):
    (tmp_path / "file").write_text("mine")
    for out in (tmp_path / "file", tmp_path / "file" / "results"):
        assert run(checkpoints["sysu"], stand_ins["sysu"], "--trial", "0", "--out", str(out)) == 2
        line = one_error(capsys)
        assert str(out) in line and "file" in line
    assert (tmp_path / "file").read_text() == "mine"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_a_read_only_out_is_refused_before_evaluating(checkpoints, stand_ins, tmp_path, capsys):
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        assert run(checkpoints["sysu"], stand_ins["sysu"], "--trial", "0", "--out", str(out)) == 2
    finally:
        out.chmod(stat.S_IRWXU)
    line = one_error(capsys)
    assert f"--out {out} cannot be written" in line and "nothing was evaluated" in line
    assert list(out.iterdir()) == []


def test_a_new_out_is_created_and_left_without_the_probe(checkpoints, stand_ins, tmp_path, capsys):
    out = tmp_path / "a" / "b"
    assert run(checkpoints["baseline"], stand_ins["sysu"], "--trial", "0", "--out", str(out)) == 0
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []
    assert (out / "results.json").is_file()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_a_gpu_is_one_line(checkpoints, stand_ins, capsys):
    assert run(checkpoints["sysu"], stand_ins["sysu"], "--device", "cuda") == 2
    line = one_error(capsys)
    assert "--device cuda" in line and "CUDA is not available" in line


def test_an_unknown_device_is_one_line(checkpoints, stand_ins, capsys):
    assert run(checkpoints["sysu"], stand_ins["sysu"], "--device", "gpu") == 2
    assert "--device gpu" in one_error(capsys)


def test_a_random_file_as_checkpoint_is_one_line(stand_ins, tmp_path, capsys):
    junk = tmp_path / "random.pt"
    junk.write_bytes(os.urandom(4096))
    assert run(junk, stand_ins["sysu"]) == 2
    line = one_error(capsys)
    assert str(junk) in line and "paenet-train-checkpoint" in line
    assert "weights_only" not in line


def test_a_model_config_key_of_a_newer_version_is_named(checkpoints, stand_ins, tmp_path, capsys):
    payload = torch.load(checkpoints["sysu"], weights_only=True)
    payload["model_config"]["future_gate"] = True
    payload["versions"] = {"paenet": "9.9.0", "torch": str(torch.__version__)}
    newer = tmp_path / "newer.pt"
    torch.save(payload, newer)
    assert run(newer, stand_ins["sysu"]) == 2
    line = one_error(capsys)
    assert str(newer) in line and "future_gate" in line
    assert "paenet 9.9.0" in line and f"paenet {paenet.__version__}" in line
