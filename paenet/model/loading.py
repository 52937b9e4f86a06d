"""Reading a ``paenet-train`` checkpoint back: its format, checks, and the trained model.

The writer is :mod:`paenet.train.checkpoint` (which documents the file's keys); this
side is what the evaluator, ``paenet-predict`` and a resumed training share, kept beside
the model so that none of them depends on the trainer.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import torch

import paenet
from paenet.model.config import PAENetConfig
from paenet.model.paenet import PAENet

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
    manifest_directory: str = ""
    """Where the training manifest was when the run started (it may have moved since)."""


def read_checkpoint(path: Path | str, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """The checkpoint's dict, validated (format, version, required keys)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many types for a truncated or foreign file
        raise CheckpointError(
            f"checkpoint {path} cannot be read ({_load_failure(exc)}); expected a "
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


def _load_failure(exc: Exception) -> str:
    """One line for why ``torch.load`` failed (its messages run to several lines, and the
    ``weights_only`` one suggests a load that could run arbitrary code)."""
    if isinstance(exc, pickle.UnpicklingError) or "Weights only load failed" in str(exc):
        return (
            "not a PyTorch file of tensors and plain data: random bytes, another format, "
            "or objects that a safe load refuses"
        )
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    first = lines[0] if lines else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def model_config_from_dict(
    data: dict[str, Any], versions: dict[str, Any] | None = None
) -> PAENetConfig:
    """Inverse of :meth:`PAENetConfig.to_dict` (lists back to tuples).

    Raises:
        CheckpointError: ``data`` has a key this version's :class:`PAENetConfig` does not
            know (a checkpoint of a newer paenet; ``versions`` are the checkpoint's), or a
            value it refuses.
    """
    if not isinstance(data, dict):
        raise CheckpointError(f"model_config is a {type(data).__name__}, expected a mapping")
    known = {f.name for f in fields(PAENetConfig)}
    unknown = sorted(set(data) - known)
    written = (versions or {}).get("paenet", "an unknown version")
    if unknown:
        raise CheckpointError(
            f"model_config has {'keys' if len(unknown) > 1 else 'a key'} this paenet "
            f"{paenet.__version__} does not know: {', '.join(map(str, unknown))} (the "
            f"checkpoint was written by paenet {written}); load it with that version "
            "or a newer one"
        )
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    # Written before the option existed: those heads read f^m without normalisation.
    values.setdefault("attribute_head_norm", False)
    try:
        return PAENetConfig(**values)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(
            f"model_config cannot be used by paenet {paenet.__version__} (written by "
            f"paenet {written}): {exc}"
        ) from None


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
    try:
        model_config = model_config_from_dict(payload["model_config"], payload.get("versions"))
    except CheckpointError as exc:
        raise CheckpointError(f"checkpoint {path}: {exc}") from None
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
        manifest_directory=str(manifest.get("directory", "")),
    )
