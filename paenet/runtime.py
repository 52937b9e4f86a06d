"""Where a model runs and in which precision: one rule each for training, evaluation
and ``paenet-predict``.

Imports torch lazily (the command lines import this module before parsing arguments).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import torch

AutocastMode = Literal["auto", "bf16", "fp16", "off"]
"""``auto``: bf16 where the GPU supports it, else fp16; ``off``: full precision."""


def pick_device(requested: str, local_rank: int = 0) -> torch.device:
    """``auto`` → CUDA (this process's local rank) when available, else CPU; a bare
    ``cuda`` becomes ``cuda:<local_rank>``, made the current CUDA device.

    Raises:
        RuntimeError: CUDA asked for but not available (or a name torch does not know).
    """
    import torch

    if requested == "auto":
        requested = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(requested)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(f"runtime.device={requested!r} but CUDA is not available")
        if device.index is None:
            device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    return device


def autocast_dtype(device: torch.device, mode: AutocastMode | str) -> torch.dtype | None:
    """The autocast dtype on ``device``, or ``None`` for full precision (always on the CPU).

    ``mode``: ``bf16``/``fp16`` force that type on CUDA; ``auto`` takes bf16 where the GPU
    supports it, else fp16; ``off`` (or any device other than CUDA) runs full precision.
    Training passes ``runtime.amp``; evaluation and prediction pass ``auto`` (or ``off``
    for ``--no-amp``).
    """
    import torch

    if device.type != "cuda" or mode == "off":
        return None
    if mode == "bf16" or (mode == "auto" and torch.cuda.is_bf16_supported()):
        return torch.bfloat16
    return torch.float16
