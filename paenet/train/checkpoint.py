"""Training checkpoints: atomic writes, validated reads, and the evaluator's loader.

A checkpoint is one ``torch.save`` file (loadable with ``weights_only=True``) holding a
dict:

- ``format`` = ``"paenet-train-checkpoint"``, ``version`` = 1;
- ``model``: the PAENet state dict (never a DDP/compiled wrapper's: plain key names);
- ``model_config``: :meth:`PAENetConfig.to_dict` (``num_classes`` included);
- ``config``: the resolved run configuration (:func:`paenet.train.config.to_dict`);
- ``manifest``: ``{"hash", "directory", "dataset", "kind"}`` of the training manifest;
- ``trial`` (RegDB trial or ``None``), ``train_splits`` (SYSU splits, list), ``pids``
  (``pids[class index]`` = person id);
- ``epoch``: epochs completed; ``step``: optimiser steps done in total;
  ``batch_in_epoch``: batches of epoch ``epoch`` already done (0 at an epoch's end),
  ``epoch_loss_sums``: this rank's loss-term sums over those batches (for the epoch log);
- ``optimizer``, ``scheduler``, ``scaler`` (``None`` without fp16), ``sampler``
  (its generator state and epoch, :class:`paenet.train.sampler.CrossModalitySampler`),
  ``rng`` (torch's global CPU RNG state, and CUDA's when used);
- ``kind``: ``"last"`` (written every ``runtime.checkpoint_every`` epochs and when stopped), ``"final"``
  (at the end of training) or ``"best"`` (best validation score);
- ``versions``: torch, torchvision, paenet; ``extra``: free-form (e.g. rank
  fingerprints of a distributed run, the validation score).

Files: ``RUN_DIR/checkpoints/last.pt`` (every ``checkpoint_every`` epochs), ``final.pt`` (the model after the
last epoch: the selected model unless a validation split picked ``best.pt``).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from paenet.model import PAENet, PAENetConfig

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "paenet-train-checkpoint"
CHECKPOINT_VERSION = 1
_REQUIRED = ("model", "model_config", "config", "manifest", "epoch", "step")


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable, or not one this code can load."""


@dataclass(frozen=True)
class TrainedModel:
    """A trained model ready for evaluation (``model`` is in eval mode, on the map location).

    ``config`` is the resolved run configuration (plain dict); ``manifest_hash`` the
    training manifest's ``content_hash``; ``kind`` ``"sysu"`` or ``"regdb"``; ``trial``
    the RegDB trial the model was trained for (``None`` for SYSU); ``train_splits`` the
    SYSU splits trained on; ``epoch`` epochs completed; ``pids[class]`` person ids.
    """

    model: PAENet
    model_config: PAENetConfig
    config: dict[str, Any]
    manifest_hash: str
    dataset: str
    kind: str
    trial: int | None
    train_splits: tuple[str, ...]
    epoch: int
    pids: tuple[int, ...]
    path: Path
    checkpoint_kind: str


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` to ``path`` atomically (temp file beside it, fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, **payload}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            torch.save(payload, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_checkpoint(path: Path | str, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """The checkpoint's dict, validated (format, version, required keys)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many types for a truncated or foreign file
        raise CheckpointError(
            f"checkpoint {path} cannot be read ({type(exc).__name__}: {exc}); expected a "
            f"{CHECKPOINT_FORMAT} file written by paenet-train"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not a {CHECKPOINT_FORMAT} file")
    if payload.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint version {payload.get('version')}, this code reads "
            f"version {CHECKPOINT_VERSION}"
        )
    missing = [k for k in _REQUIRED if k not in payload]
    if missing:
        raise CheckpointError(f"checkpoint {path} lacks {missing}")
    return payload


def model_config_from_dict(data: dict[str, Any]) -> PAENetConfig:
    """Inverse of :meth:`PAENetConfig.to_dict` (lists back to tuples)."""
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    # Written before the option existed: those heads read f^m without normalisation.
    values.setdefault("attribute_head_norm", False)
    return PAENetConfig(**values)


def build_model(model_config: PAENetConfig, seed: int | None = None) -> PAENet:
    """A PAENet; with ``seed`` its initialisation is drawn from that seed, leaving the
    global RNG as it was."""
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        return PAENet(model_config)


def load_trained_model(path: Path | str, map_location: str | torch.device = "cpu") -> TrainedModel:
    """The model of a ``paenet-train`` checkpoint (last, final or best), in eval mode.

    No ImageNet weights are needed (the backbone is built randomly, then overwritten).

    Raises:
        CheckpointError: missing file, not a paenet-train checkpoint, other version, or a
            state dict that does not fit the recorded model configuration.
    """
    payload = read_checkpoint(path, map_location)
    model_config = model_config_from_dict(payload["model_config"])
    model = build_model(replace(model_config, pretrained="none"))
    try:
        model.load_state_dict(payload["model"])
    except RuntimeError as exc:
        raise CheckpointError(
            f"checkpoint {path}: weights do not fit its model config: {exc}"
        ) from None
    model.to(map_location).eval()
    manifest = payload["manifest"]
    trial = payload.get("trial")
    return TrainedModel(
        model=model,
        model_config=model_config,
        config=payload["config"],
        manifest_hash=str(manifest["hash"]),
        dataset=str(manifest.get("dataset", "")),
        kind=str(manifest.get("kind", "")),
        trial=None if trial is None else int(trial),
        train_splits=tuple(payload.get("train_splits") or ()),
        epoch=int(payload["epoch"]),
        pids=tuple(int(p) for p in payload.get("pids") or ()),
        path=Path(path),
        checkpoint_kind=str(payload.get("kind", "last")),
    )
