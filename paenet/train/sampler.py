"""Cross-modality P×K identity sampler: the batch layout the losses check.

Each batch is ``[visible: id_1×K … id_P×K | infrared: id_1×K … id_P×K]`` (P distinct
identities, the same order in both halves), as :func:`paenet.losses.check_layout`
requires. Every item is ``(image index, augmentation seed)``: the seed makes each
image's augmentation a function of the sampler's draw alone, so results do not depend
on the number of DataLoader workers and a resumed run sees the same pixels.

**Epoch.** One epoch is ``ceil(infrared images / (P·K))`` batches: as many infrared
draws as the training set has infrared images (the smaller modality in SYSU-MM01 and
equal in RegDB), capped by ``batches_per_epoch``. Within an epoch, the images of each
(identity, modality) are drawn from a shuffled queue, refilled when empty, so every
image is shown before any is repeated; the P identities of a batch are drawn without
replacement, uniformly. Only identities with images in both modalities are used.

**Randomness.** One ``torch.Generator`` (seeded with the run's seed) draws everything.
``plan(epoch)`` draws a whole epoch from the state at the epoch's start; the state
saved in checkpoints is the state at the start of the current epoch, so a run resumed
in the middle of an epoch redraws the same plan and skips the batches already done.

**Distributed.** Every rank draws the same plan; rank r takes batches r, r+W, r+2W…
of it (the plan is cut to a multiple of W), so each rank trains on its own P×K batch.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from paenet.model.backbone import INFRARED, VISIBLE

log = logging.getLogger(__name__)

Item = tuple[int, int]
"""(index into the training images, augmentation seed)."""


class SamplerError(ValueError):
    """The training set cannot produce a P×K cross-modality batch."""


@dataclass(frozen=True)
class EpochPlan:
    """The batches of one epoch for every rank: ``batches[i]`` is a list of 2·P·K items."""

    epoch: int
    batches: tuple[tuple[Item, ...], ...]


class CrossModalitySampler:
    """Yields this rank's batches of one epoch; call :meth:`set_epoch` before iterating.

    Args:
        labels: (N,) class index per training image.
        modality: (N,) ``VISIBLE``/``INFRARED`` code per image.
        num_ids: P. per_modality: K. seed: the generator's seed.
        batches_per_epoch: optional cap on the epoch's length (before sharding).
        rank, world_size: this process's share of each epoch.
    """

    def __init__(
        self,
        labels: np.ndarray,
        modality: np.ndarray,
        num_ids: int,
        per_modality: int,
        seed: int,
        batches_per_epoch: int | None = None,
        rank: int = 0,
        world_size: int = 1,
    ):
        labels = np.asarray(labels, dtype=np.int64)
        modality = np.asarray(modality, dtype=np.int64)
        if labels.shape != modality.shape or labels.ndim != 1:
            raise SamplerError(
                f"labels {labels.shape} and modality {modality.shape} must be equal 1-D shapes"
            )
        if not 0 <= rank < world_size:
            raise SamplerError(f"rank {rank} outside world size {world_size}")
        self.num_ids = num_ids
        self.per_modality = per_modality
        self.rank = rank
        self.world_size = world_size
        self._pools: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        one_sided = []
        for label in np.unique(labels):
            vis = np.flatnonzero((labels == label) & (modality == VISIBLE))
            ir = np.flatnonzero((labels == label) & (modality == INFRARED))
            if len(vis) and len(ir):
                self._pools[int(label)] = (vis, ir)
            else:
                one_sided.append(int(label))
        if one_sided:
            log.warning(
                "%d classes have images in one modality only and are never sampled (first: %s)",
                len(one_sided),
                one_sided[:5],
            )
        self.ids = np.array(sorted(self._pools), dtype=np.int64)
        if len(self.ids) < num_ids:
            raise SamplerError(
                f"P={num_ids} identities per batch, but only {len(self.ids)} identities have "
                "both visible and infrared images; lower data.num_ids"
            )
        infrared = sum(len(ir) for _, ir in self._pools.values())
        full = max(1, -(-infrared // (num_ids * per_modality)))
        if batches_per_epoch is not None:
            full = min(full, batches_per_epoch)
        if full < world_size:
            raise SamplerError(
                f"an epoch of {full} batches cannot be shared by {world_size} processes"
            )
        self.batches_in_plan = full - full % world_size
        self.generator = torch.Generator().manual_seed(seed)
        self._epoch = 0
        self._epoch_start_state = self.generator.get_state()
        self._plan: EpochPlan | None = None
        self._skip = 0

    # ------------------------------------------------------------------ epochs
    def __len__(self) -> int:
        """Batches this rank yields per epoch (before skipping resumed batches)."""
        return self.batches_in_plan // self.world_size

    def set_epoch(self, epoch: int) -> None:
        """Draw epoch ``epoch``'s plan (epochs must be visited in order, each once)."""
        if self._plan is not None and epoch == self._plan.epoch:
            return
        if self._plan is not None and epoch != self._plan.epoch + 1:
            raise SamplerError(f"epoch {epoch} after epoch {self._plan.epoch}: epochs go in order")
        self._epoch_start_state = self.generator.get_state()
        self._plan = self.plan(epoch)
        self._epoch = epoch

    def skip(self, batches: int) -> None:
        """Skip this rank's first ``batches`` batches of the current epoch (resume)."""
        self._skip = batches

    def __iter__(self) -> Iterator[list[Item]]:
        if self._plan is None:
            self.set_epoch(self._epoch)
        assert self._plan is not None
        mine = self._plan.batches[self.rank :: self.world_size]
        skip, self._skip = self._skip, 0
        for batch in mine[skip:]:
            yield list(batch)

    def plan(self, epoch: int) -> EpochPlan:
        """Draw one epoch's batches (for all ranks) from the generator's current state."""
        g = self.generator
        queues: dict[tuple[int, int], list[int]] = {}

        def take(label: int, side: int, k: int) -> list[int]:
            pool = self._pools[label][side]
            queue = queues.setdefault((label, side), [])
            out = []
            for _ in range(k):
                if not queue:
                    queue.extend(pool[torch.randperm(len(pool), generator=g).numpy()].tolist())
                out.append(queue.pop())
            return out

        p, k = self.num_ids, self.per_modality
        batches = []
        for _ in range(self.batches_in_plan):
            chosen = self.ids[torch.randperm(len(self.ids), generator=g)[:p].numpy()]
            visible = [i for label in chosen for i in take(int(label), 0, k)]
            infrared = [i for label in chosen for i in take(int(label), 1, k)]
            seeds = torch.randint(0, 2**31 - 1, (2 * p * k,), generator=g).tolist()
            batches.append(tuple(zip(visible + infrared, seeds)))
        return EpochPlan(epoch, tuple(batches))

    # -------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        """The generator's state at the start of the current epoch, and that epoch."""
        return {"epoch": self._epoch, "generator": self._epoch_start_state.clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"])
        self._epoch = int(state["epoch"])
        self._plan = None
        self._epoch_start_state = self.generator.get_state()

    def next_epoch_state(self, next_epoch: int) -> dict[str, Any]:
        """The state to save at the end of an epoch: resuming draws ``next_epoch`` next."""
        if self._plan is None:
            raise SamplerError("no epoch drawn yet")
        return {"epoch": next_epoch, "generator": self.generator.get_state().clone()}


def batch_labels(items: Sequence[Item], labels: np.ndarray) -> np.ndarray:
    """The class labels of a batch (test helper and sanity checks)."""
    return labels[[i for i, _ in items]]
