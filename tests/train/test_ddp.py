"""torchrun with 2 CPU processes (gloo): identical weights on both ranks, one set of files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from paenet.model.loading import load_trained_model, read_checkpoint
from paenet.train.distributed import state_fingerprint
from tests.train.conftest import TINY

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_two_cpu_ranks_hold_identical_weights_and_write_one_set_of_files(stand_ins, tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "paenet.train", "--manifest", str(stand_ins["sysu"]), "--out", str(out),
           "--preset", "smoke"]  # fmt: skip
    for item in (*TINY, "data.batches_per_epoch=4", "optim.epochs=2"):
        cmd += ["--set", item]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]

    final = read_checkpoint(out / "checkpoints" / "final.pt")
    prints = final["extra"]["rank_fingerprints"]
    assert len(prints) == 2 and prints[0] == prints[1]
    # ... and they are the fingerprint of the saved model
    assert (
        state_fingerprint(load_trained_model(out / "checkpoints" / "final.pt").model) == prints[0]
    )
    # 4 batches per epoch shared by 2 ranks: 2 optimiser steps per epoch, 4 in all
    assert final["step"] == 4 and final["epoch"] == 2
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert [f for f in files if not f.startswith("tb/")] == [
        "checkpoints/final.pt", "checkpoints/last.pt", "config.yaml", "metrics.jsonl",
        "plots/losses.png", "plots/lr.png", "run.json",
    ]  # fmt: skip
    assert len([f for f in files if f.startswith("tb/")]) == 1
    assert '"world_size": 2' in (out / "run.json").read_text()
