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

A write goes to ``.NAME.PID.tmp`` beside the file (:mod:`paenet.atomic`) and is renamed
over it only when complete: a killed or failed write never leaves a half-written
checkpoint. A failed write (e.g. a full disk) removes its temporary file and raises
:class:`CheckpointWriteError`; a killed one leaves it, and
:func:`remove_stale_temporaries` removes it at the run's next start once its process is
gone.
"""

from __future__ import annotations

import errno
import logging
import os
import pickle
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import torch

import paenet
from paenet.atomic import atomic_open, temporary_pid
from paenet.model import PAENet, PAENetConfig

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "paenet-train-checkpoint"
CHECKPOINT_VERSION = 1
_REQUIRED = ("model", "model_config", "config", "manifest", "epoch", "step")


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable, or not one this code can load."""


class CheckpointWriteError(CheckpointError):
    """A checkpoint could not be written (full disk, quota, file size limit, I/O error);
    the temporary file is removed and the earlier file of that name, if any, is intact."""


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


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` to ``path`` atomically (temp file beside it, fsync, rename).

    Raises:
        CheckpointWriteError: the write failed (the temporary file is removed, ``path``
            is as it was).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, **payload}
    try:
        with atomic_open(path, "wb", fsync=True) as fh:  # removes its temporary on failure
            torch.save(payload, fh)
    except BaseException as exc:
        cause = _os_error(exc) if isinstance(exc, Exception) else None
        if cause is None:
            raise
        before = "unchanged" if path.exists() else "not written"
        raise CheckpointWriteError(
            f"cannot write checkpoint {path}: {_describe(cause)}; the partial file was "
            f"removed, {path.name} is {before}"
        ) from exc


def _os_error(exc: BaseException) -> OSError | None:
    """The ``OSError`` behind a failed write: ``exc`` itself, or the one torch's writer
    turned into a ``RuntimeError`` ("unexpected pos ...")."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, OSError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _describe(error: OSError) -> str:
    name = errno.errorcode.get(error.errno or 0)
    reason = error.strerror or str(error)
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        reason = f"the disk is full ({reason})"
    return f"{reason} [{name}]" if name else reason


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (another user's process counts)."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def remove_stale_temporaries(directory: Path | str) -> list[Path]:
    """Remove ``.NAME.PID.tmp`` files in ``directory`` whose writing process is gone (a
    killed checkpoint write: tens of MB that nothing else would ever remove); a live
    process's file is left alone. Returns the removed paths."""
    directory = Path(directory)
    removed: list[Path] = []
    if not directory.is_dir():
        return removed
    for tmp in sorted(directory.iterdir()):
        parsed = temporary_pid(tmp.name)
        if parsed is None or not tmp.is_file() or process_alive(parsed[1]):
            continue
        name, pid = parsed
        size = tmp.stat().st_size
        try:
            tmp.unlink()
        except FileNotFoundError:  # removed meanwhile by someone else
            continue
        removed.append(tmp)
        log.warning(
            "removed %s (%.1f MB): an interrupted write of %s by process %s, which is gone",
            tmp,
            size / 1e6,
            name,
            pid,
        )
    return removed


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
