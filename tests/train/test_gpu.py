"""A few AMP steps with channels-last on CUDA (skipped without a GPU)."""

from __future__ import annotations

import pytest
import torch

from paenet.cli.train import main
from paenet.model.loading import load_trained_model, read_checkpoint
from paenet.train.config import RuntimeConfig
from paenet.train.steps import amp_dtype

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_amp_channels_last_steps_on_cuda(stand_ins, tmp_path, amp):
    out = tmp_path / amp
    sets = ["data.input_size=[128, 64]", "runtime.progress=false", "runtime.device=cuda",
            f"runtime.amp={amp}", "runtime.channels_last=true", "optim.epochs=2"]  # fmt: skip
    args = ["--manifest", str(stand_ins["sysu"]), "--out", str(out), "--preset", "smoke"]
    for item in sets:
        args += ["--set", item]
    assert main(args) == 0
    ckpt = read_checkpoint(out / "checkpoints" / "final.pt")
    assert ckpt["step"] == 8
    assert (ckpt["scaler"] is not None) == (amp == "fp16")  # a gradient scaler only for fp16
    assert (
        '"amp": "' + ("bfloat16" if amp == "bf16" else "float16") in (out / "run.json").read_text()
    )
    trained = load_trained_model(out / "checkpoints" / "final.pt", map_location="cuda")
    assert next(trained.model.parameters()).device.type == "cuda"
    assert all(torch.isfinite(v).all() for v in ckpt["model"].values() if v.is_floating_point())


def test_auto_amp_prefers_bf16():
    dtype = amp_dtype(torch.device("cuda"), RuntimeConfig(amp="auto"))
    assert dtype == (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16)
    assert amp_dtype(torch.device("cpu"), RuntimeConfig(amp="auto")) is None
