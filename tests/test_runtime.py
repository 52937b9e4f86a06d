"""One device rule and one autocast rule for training, evaluation and prediction (#22)."""

from __future__ import annotations

import pytest
import torch

from paenet.runtime import autocast_dtype, pick_device
from paenet.train.config import RuntimeConfig
from paenet.train.steps import amp_dtype


@pytest.mark.parametrize("mode", ["auto", "bf16", "fp16", "off"])
def test_full_precision_on_the_cpu_whatever_the_mode(mode: str) -> None:
    cpu = torch.device("cpu")
    assert autocast_dtype(cpu, mode) is None
    assert amp_dtype(cpu, RuntimeConfig(amp=mode)) is None  # type: ignore[arg-type]


def test_cuda_modes() -> None:
    cuda = torch.device("cuda")  # no GPU needed: forced modes never ask the device
    assert autocast_dtype(cuda, "bf16") is torch.bfloat16
    assert autocast_dtype(cuda, "fp16") is torch.float16
    assert autocast_dtype(cuda, "off") is None
    assert amp_dtype(cuda, RuntimeConfig(amp="fp16")) is torch.float16


def test_pick_device() -> None:
    assert pick_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        assert pick_device("auto") == torch.device("cpu")
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            pick_device("cuda")
