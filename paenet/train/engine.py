"""Training a run: manifest → model → epochs → checkpoints, logs and plots.

``train(manifest_dir, run_dir, config)`` runs one process's share of a run (one
process, or one rank under ``torchrun``). Rank 0 alone writes ``RUN_DIR``:
``config.yaml`` (the resolved configuration), ``run.json`` (manifest, versions,
devices), ``metrics.jsonl``, ``tb/``, ``checkpoints/{last,final}.pt`` and ``plots/``.

This module sets a run up (checks, data, model, optimiser, sampler, resume) and wires
it: the epochs are :class:`paenet.train.loop.TrainLoop`'s, what happens around them the
hooks' (:mod:`paenet.train.hooks`), what a checkpoint holds the
:class:`paenet.train.state.Checkpointer`'s.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch.nn.parallel import DistributedDataParallel

from paenet.atomic import write_text_atomic
from paenet.attributes import is_known
from paenet.model import PAENetConfig
from paenet.model.loading import (
    CheckpointError,
    build_model,
    model_config_from_dict,
    read_checkpoint,
)
from paenet.runtime import pick_device
from paenet.train import distributed as D
from paenet.train.checkpoint import remove_stale_temporaries, save_checkpoint
from paenet.train.config import SECTIONS, RunConfig, to_dict
from paenet.train.data import DecodedCache, TrainDataset, build_loader, load_train_images
from paenet.train.hooks import (
    FinalCheckpoint,
    LastCheckpoint,
    LogMetrics,
    RankFingerprints,
    StepWarnings,
    Validate,
)
from paenet.train.logs import RunLog, plot_metrics
from paenet.train.loop import Hook, TrainLoop
from paenet.train.sampler import CrossModalitySampler
from paenet.train.state import Checkpointer, TrainState, final_from_last, versions
from paenet.train.steps import (
    amp_dtype,
    build_optimizer,
    build_scheduler,
    detach_attribute_head_input,
)
from paenet.train.validation import ValidationSet, validation_set

log = logging.getLogger(__name__)


class TrainSetupError(ValueError):
    """The run cannot start: wrong trial/split for the dataset, or a refused resume."""


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    checkpoint: Path
    """``final.pt`` when the run finished, ``last.pt`` when it stopped early."""
    epochs_done: int
    steps: int
    finished: bool
    fingerprints: tuple[str, ...]
    """Every rank's model-state SHA-256 at the end (equal on all ranks)."""
    already_finished: bool = False
    """``resume`` found the run finished (``final.pt`` of its last epoch): nothing done."""


def model_config_for(config: RunConfig, num_classes: int, num_attributes: int) -> PAENetConfig:
    """The network's config: the ``model`` section plus the training set's class and
    attribute counts."""
    return PAENetConfig(
        num_classes=num_classes, num_attributes=num_attributes, **asdict(config.model)
    )


def _training_set(manifest: Any, config: RunConfig) -> Any:
    data = config.data
    problem = manifest.kind_spec.training_problem(manifest.dataset, data.trial, data.val_split)
    if problem is not None:
        raise TrainSetupError(problem)
    return manifest.training_set(splits=data.splits, trial=data.trial)


def positive_rates(attributes: np.ndarray) -> torch.Tensor:
    """The share of positives per attribute among the known labels (N, n) -> (n,);
    0.5 for an attribute with no known label."""
    known = is_known(attributes)
    positives = (attributes == 1).sum(axis=0)
    counts = known.sum(axis=0)
    rates = np.where(counts > 0, positives / np.maximum(counts, 1), 0.5)
    return torch.tensor(rates, dtype=torch.float32)


def _check_resume(ckpt: dict[str, Any], config: RunConfig, manifest: Any, force: bool) -> None:
    saved = ckpt["config"]
    current = to_dict(config)
    # a key the checkpoint lacks was added after it was written: the run behaved as the
    # key's default (new keys default to the old behaviour), so compare with that
    defaults = to_dict(RunConfig())
    changed = [
        f"{s}.{k}"
        for s in SECTIONS
        if s != "runtime"
        for k in current[s]
        if saved.get(s, {}).get(k, defaults[s].get(k)) != current[s][k]
    ]
    if changed:
        raise TrainSetupError(
            f"--resume continues the saved configuration; these keys differ: {changed} "
            "(only runtime.* may change on resume)"
        )
    if ckpt["manifest"]["hash"] != manifest.content_hash:
        message = (
            f"the run was trained on manifest {ckpt['manifest']['hash'][:12]} "
            f"({ckpt['manifest'].get('directory')}), this manifest is "
            f"{manifest.content_hash[:12]} ({manifest.directory})"
        )
        if not force:
            raise TrainSetupError(message + "; refusing to resume (use --force to override)")
        log.warning("%s; resuming anyway (--force)", message)


def _check_same_network(ckpt: dict[str, Any], model_config: PAENetConfig, path: Path) -> None:
    """Refuse a resume whose network would not take the checkpoint's weights: another
    class count (a ``--force`` resume on another manifest) changes the identity head."""
    try:
        saved = model_config_from_dict(ckpt["model_config"], ckpt.get("versions"))
    except CheckpointError as exc:
        raise CheckpointError(f"checkpoint {path}: {exc}") from None
    for key, what in (("num_classes", "identity classes"), ("num_attributes", "attributes")):
        before, now = getattr(saved, key), getattr(model_config, key)
        if before != now:
            raise TrainSetupError(
                f"{path} was trained with {before} {what}, this manifest's training set "
                f"has {now}: the class counts differ, so the trained head cannot be "
                "reused and the run cannot resume on this manifest; start a new run "
                "(another --out, or --overwrite)"
                if key == "num_classes"
                else f"{path} was trained with {before} {what}, this manifest's training "
                f"set has {now}: the run cannot resume on this manifest; start a new run"
            )


def train(
    manifest_dir: Path | str,
    run_dir: Path | str,
    config: RunConfig,
    *,
    resume: bool = False,
    force: bool = False,
    hooks: Sequence[Hook] = (),
) -> TrainResult:
    """Train (or with ``resume``, continue) a run. See the module docstring for outputs.

    ``hooks`` run after the built-in ones (:mod:`paenet.train.hooks`) at each call of
    the loop (:mod:`paenet.train.loop`), on every rank.

    Raises:
        TrainSetupError: RegDB without a trial, SYSU with one, a resume whose saved
            configuration or manifest differs (the manifest unless ``force``).
        paenet.train.steps.NonFiniteLossError: a loss term became NaN/inf.
        paenet.data.manifest.ManifestError: the manifest does not load.
    """
    from paenet.data.manifest import load_manifest

    run_dir = Path(run_dir)
    rt = config.runtime
    if rt.threads is not None:
        torch.set_num_threads(rt.threads)
    try:
        device = pick_device(rt.device, D.local_rank_from_env())
    except RuntimeError as exc:  # no CUDA, or a device string torch does not parse
        raise TrainSetupError(f"runtime.device={rt.device!r}: {exc}") from None
    info = D.init_distributed(device)
    try:
        if info.is_main:
            remove_stale_temporaries(run_dir / "checkpoints")
        manifest = load_manifest(manifest_dir)
        ckpt = None
        if resume:
            ckpt = read_checkpoint(run_dir / "checkpoints" / "last.pt")
            _check_resume(ckpt, config, manifest, force)
            done = _finish_done_run(ckpt, run_dir, config, info)
            if done is not None:
                return done
        return _train(manifest, run_dir, config, device, info, ckpt, hooks)
    finally:
        D.shutdown(info)


def _finish_done_run(
    ckpt: dict[str, Any], run_dir: Path, config: RunConfig, info: D.DistInfo
) -> TrainResult | None:
    """Resume of a run whose epochs are all done (``last.pt`` is of the last epoch):
    ``None`` when epochs remain. A ``final.pt`` of that epoch and step means the run is
    finished: nothing is written. Without one (the run was killed, or the disk filled,
    between ``last.pt`` and ``final.pt``) ``final.pt`` is written from ``last.pt``: the
    state an uninterrupted run would have saved (its RNG, sampler and optimiser states
    are those of the end of the last epoch), then the plots."""
    epochs, epoch, step = config.optim.epochs, int(ckpt["epoch"]), int(ckpt["step"])
    if epoch < epochs:
        return None
    ckpt_dir = run_dir / "checkpoints"
    final = ckpt_dir / "final.pt"
    fingerprint = D.state_dict_fingerprint(ckpt["model"])
    result = TrainResult(run_dir, final, epoch, step, True, (fingerprint,) * info.world_size)
    if info.is_main:
        try:
            done = read_checkpoint(final) if final.is_file() else None
        except CheckpointError as exc:
            log.warning("%s; writing it again from last.pt", exc)
            done = None
        if done is not None and (int(done["epoch"]), int(done["step"])) == (epoch, step):
            log.info("run %s already finished (epoch %d/%d); nothing to do", run_dir, epoch, epochs)
            D.barrier(info)
            return replace(result, already_finished=True)
        if done is not None:
            log.warning(
                "%s is of epoch %d, step %d, not of last.pt's epoch %d, step %d: replacing it",
                final,
                int(done["epoch"]),
                int(done["step"]),
                epoch,
                step,
            )
        save_checkpoint(final, final_from_last(ckpt, result.fingerprints))
        if config.data.val_split is not None and not (ckpt_dir / "best.pt").is_file():
            log.warning(
                "%s is missing: the best validation epoch's model is not in last.pt and "
                "cannot be recovered; final.pt is the last epoch's model",
                ckpt_dir / "best.pt",
            )
        plot_metrics(run_dir / "metrics.jsonl", run_dir / "plots")
        log.info(
            "the run's %d epochs were done but final.pt was missing: wrote %s from last.pt",
            epochs,
            final,
        )
    D.barrier(info)
    return result


def _builtin_hooks(
    config: RunConfig,
    run_dir: Path,
    info: D.DistInfo,
    checkpointer: Checkpointer,
    run_log: RunLog | None,
    val: ValidationSet | None,
    ranks: RankFingerprints,
) -> list[Hook]:
    """The hooks every run has, in their order (:mod:`paenet.train.hooks`): validation
    (with a validation set) before ``last.pt``, both before the epoch's log record;
    ``last.pt`` of a stop before the fingerprints, those before ``final.pt``."""
    data = config.data
    hooks: list[Hook] = [StepWarnings()]
    if val is not None:
        hooks.append(Validate(val, config, checkpointer))
    images_per_batch = 2 * data.num_ids * data.per_modality * info.world_size
    return [
        *hooks,
        LastCheckpoint(checkpointer, config.runtime.checkpoint_every),
        LogMetrics(run_log, config, images_per_batch),
        ranks,
        FinalCheckpoint(checkpointer, ranks, run_dir),
    ]


def _train(
    manifest: Any,
    run_dir: Path,
    config: RunConfig,
    device: torch.device,
    info: D.DistInfo,
    ckpt: dict[str, Any] | None,
    extra_hooks: Sequence[Hook] = (),
) -> TrainResult:
    """One run from its start, or from ``ckpt`` (``last.pt``, already checked against
    the configuration and the manifest): builds the pieces, then runs the loop."""
    rt, data, optim = config.runtime, config.data, config.optim
    training = _training_set(manifest, config)
    val = validation_set(manifest, data.val_split) if data.val_split is not None else None
    if (
        val is not None
        and data.val_attribute_source == "predicted"
        and config.model.pae
        and not config.model.attribute_head
    ):
        raise TrainSetupError(
            "data.val_attribute_source=predicted needs model.attribute_head=true "
            "(or choose gt / backbone)"
        )
    images, val, unreadable = load_train_images(
        manifest, training, val, skip_unreadable=data.skip_unreadable,
        progress=rt.progress and info.is_main,
    )  # fmt: skip
    model_config = model_config_for(config, len(images.pids), images.attributes.shape[1])
    ckpt_dir = run_dir / "checkpoints"
    if ckpt is not None:
        _check_same_network(ckpt, model_config, ckpt_dir / "last.pt")

    cuda = device.type == "cuda"
    if cuda:
        torch.backends.cudnn.benchmark = True
    model = build_model(model_config, seed=rt.seed)
    if not config.loss.attribute_head_to_backbone:
        detach_attribute_head_input(model)
    model.to(device)
    channels_last = cuda and rt.channels_last
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = build_optimizer(model, optim)
    scheduler = build_scheduler(optimizer, optim)
    dtype = amp_dtype(device, rt)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    sampler = CrossModalitySampler(
        images.labels,
        images.modality,
        data.num_ids,
        data.per_modality,
        seed=rt.seed,
        batches_per_epoch=data.batches_per_epoch,
        rank=info.rank,
        world_size=info.world_size,
    )
    run_info = {
        "manifest": {
            "directory": str(manifest.directory),
            "hash": manifest.content_hash,
            "dataset": manifest.dataset,
            "kind": manifest.kind,
        },
        "trial": data.trial,
        "train_splits": manifest.kind_spec.training_splits(data.splits),
        "num_classes": len(images.pids),
        "train_images": len(images),
        "unreadable_images": [
            {"path": str(b.path.relative_to(manifest.root)), "problem": b.problem}
            for b in unreadable
        ],
        "world_size": info.world_size,
        "device": str(device),
        "amp": str(dtype).replace("torch.", "") if dtype else "off",
        "versions": versions(),
    }
    checkpointer = Checkpointer(
        ckpt_dir,
        model=model,
        model_config=model_config,
        config=config,
        optimizer=optimizer,
        scheduler=scheduler,
        scaler=scaler,
        sampler=sampler,
        device=device,
        manifest=run_info["manifest"],
        train_splits=run_info["train_splits"],
        pids=images.pids,
    )
    state = checkpointer.restore(ckpt) if ckpt is not None else TrainState()

    cache = None
    if data.cache:
        cache_dir = Path(data.cache_dir) if data.cache_dir else run_dir / "cache"
        if info.is_main:
            DecodedCache.ensure(
                cache_dir, manifest.content_hash, images, data.input_size, data.pad,
                progress=rt.progress,
            )  # fmt: skip
        D.barrier(info)
        cache = DecodedCache.ensure(
            cache_dir, manifest.content_hash, images, data.input_size, data.pad, progress=False
        )
    loader = build_loader(TrainDataset(images, data, cache), sampler, data, cuda)

    net: torch.nn.Module = model
    if info.enabled:
        unused = (
            model.attribute_head is not None and config.loss.predicted_attribute_weight == 0
        ) or (model.aal is not None and config.loss.attribute_weight == 0)
        net = DistributedDataParallel(
            model, device_ids=[device.index] if cuda else None, find_unused_parameters=unused
        )
    if rt.compile:
        net = torch.compile(net)  # type: ignore[assignment]

    run_log = None
    if info.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_text_atomic(run_dir / "config.yaml", yaml.safe_dump(to_dict(config), sort_keys=False))
        write_text_atomic(run_dir / "run.json", json.dumps(run_info, indent=2) + "\n")
        run_log = RunLog(run_dir, resume_step=state.step if ckpt is not None else None)

    ranks = RankFingerprints()
    hooks = _builtin_hooks(config, run_dir, info, checkpointer, run_log, val, ranks)
    loop = TrainLoop(
        config=config,
        model=model,
        net=net,
        loader=loader,
        sampler=sampler,
        optimizer=optimizer,
        scheduler=scheduler,
        scaler=scaler,
        device=device,
        dtype=dtype,
        channels_last=channels_last,
        attribute_rates=positive_rates(images.attributes).to(device),
        info=info,
        state=state,
        hooks=[*hooks, *extra_hooks],
    )
    try:
        loop.run()
    finally:
        if run_log is not None:
            run_log.close()
    checkpoint = checkpointer.path("final" if loop.finished else "last")
    return TrainResult(
        run_dir, checkpoint, state.epoch, state.step, loop.finished, ranks.fingerprints
    )
