"""Training checkpoints: atomic writes (validated reads and the loader of the trained
model are :mod:`paenet.model.loading`).

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
from pathlib import Path
from typing import Any

import torch

from paenet.atomic import atomic_open, process_alive, temporary_pid
from paenet.model.loading import CHECKPOINT_FORMAT, CHECKPOINT_VERSION, CheckpointError

log = logging.getLogger(__name__)


class CheckpointWriteError(CheckpointError):
    """A checkpoint could not be written (full disk, quota, file size limit, I/O error);
    the temporary file is removed and the earlier file of that name, if any, is intact."""


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
