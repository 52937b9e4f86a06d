"""torchrun / DistributedDataParallel plumbing: process group, device, rank-0 checks.

Under ``torchrun`` the environment carries ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE``;
the process group uses NCCL on CUDA and gloo on the CPU. Without them the run is a
single process and nothing here talks to anyone.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device: torch.device) -> DistInfo:
    """Join torchrun's process group when launched by it (``WORLD_SIZE`` > 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    info = DistInfo(dist.get_rank(), int(os.environ.get("LOCAL_RANK", "0")), dist.get_world_size())
    log.info("distributed: rank %d of %d (%s)", info.rank, info.world_size, dist.get_backend())
    return info


def local_rank_from_env() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def shutdown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


def broadcast_buffers(model: nn.Module, info: DistInfo) -> None:
    """Copy rank 0's buffers (batch-norm running statistics) to every rank.

    DDP broadcasts buffers at the start of each forward, so after the last step every
    rank's running statistics hold its own last batch; this makes them equal again.
    """
    if not info.enabled:
        return
    for buffer in model.buffers():
        dist.broadcast(buffer.data, src=0)


def state_fingerprint(model: nn.Module) -> str:
    """SHA-256 over every parameter's and buffer's bytes, in state-dict order."""
    return state_dict_fingerprint(model.state_dict())


def state_dict_fingerprint(state: Mapping[str, torch.Tensor]) -> str:
    """:func:`state_fingerprint` of a state dict (a checkpoint's ``model``)."""
    h = hashlib.sha256()
    for name, tensor in state.items():
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def gather_fingerprints(model: nn.Module, info: DistInfo) -> list[str]:
    """Every rank's :func:`state_fingerprint` (rank order); one entry without DDP."""
    mine = state_fingerprint(model)
    if not info.enabled:
        return [mine]
    out: list[str | None] = [None] * info.world_size
    dist.all_gather_object(out, mine)
    return [str(x) for x in out]
