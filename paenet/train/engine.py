"""The training loop: manifest → model → epochs → checkpoints, logs and plots.

``train(manifest_dir, run_dir, config)`` runs one process's share of a run (one
process, or one rank under ``torchrun``). Rank 0 alone writes ``RUN_DIR``:
``config.yaml`` (the resolved configuration), ``run.json`` (manifest, versions,
devices), ``metrics.jsonl``, ``tb/``, ``checkpoints/{last,final}.pt`` and ``plots/``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchvision
import yaml
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

import paenet
from paenet.data.images import normalize_batch
from paenet.model import PAENetConfig
from paenet.model.loading import (
    CheckpointError,
    build_model,
    model_config_from_dict,
    read_checkpoint,
)
from paenet.train import distributed as D
from paenet.train.checkpoint import remove_stale_temporaries, save_checkpoint
from paenet.train.config import SECTIONS, RunConfig, to_dict
from paenet.train.data import DecodedCache, TrainDataset, build_loader, load_train_images
from paenet.train.health import COLLAPSE_RELATIVE_STD
from paenet.train.logs import RunLog, plot_metrics, write_text_atomic
from paenet.train.sampler import CrossModalitySampler
from paenet.train.steps import (
    amp_dtype,
    build_optimizer,
    build_scheduler,
    detach_attribute_head_input,
    feeds_predicted,
    loss_config,
    train_step,
)
from paenet.train.validation import evaluate, validation_set

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
    if manifest.kind == "regdb":
        if data.trial is None:
            raise TrainSetupError(
                "RegDB trains one model per trial: give --trial k (1-10) or data.trial"
            )
        if data.val_split is not None:
            raise TrainSetupError("RegDB has no validation split; leave data.val_split null")
        return manifest.training_set(trial=data.trial)
    if data.trial is not None:
        raise TrainSetupError(f"data.trial is only for RegDB; {manifest.dataset} is SYSU-MM01")
    return manifest.training_set(splits=data.splits)


def positive_rates(attributes: np.ndarray) -> torch.Tensor:
    """The share of positives per attribute among the known labels (N, n) -> (n,);
    0.5 for an attribute with no known label."""
    known = attributes >= 0
    positives = (attributes == 1).sum(axis=0)
    counts = known.sum(axis=0)
    rates = np.where(counts > 0, positives / np.maximum(counts, 1), 0.5)
    return torch.tensor(rates, dtype=torch.float32)


def _versions() -> dict[str, str]:
    return {
        "torch": str(torch.__version__),
        "torchvision": str(torchvision.__version__),
        "paenet": paenet.__version__,
    }


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
) -> TrainResult:
    """Train (or with ``resume``, continue) a run. See the module docstring for outputs.

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
        device = D.pick_device(rt.device, D.local_rank_from_env())
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
        return _train(manifest, run_dir, config, device, info, ckpt)
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
    fingerprint = _state_fingerprint(ckpt["model"])
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
        state = {k: v for k, v in ckpt.items() if k not in ("format", "version")}
        state["kind"] = "final"
        state["extra"] = {
            **(ckpt.get("extra") or {}),
            "rank_fingerprints": list(result.fingerprints),
        }
        save_checkpoint(final, state)
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


def _state_fingerprint(state: dict[str, torch.Tensor]) -> str:
    """:func:`paenet.train.distributed.state_fingerprint` of a saved state dict."""
    h = hashlib.sha256()
    for name, tensor in state.items():
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _train(
    manifest: Any,
    run_dir: Path,
    config: RunConfig,
    device: torch.device,
    info: D.DistInfo,
    ckpt: dict[str, Any] | None,
) -> TrainResult:
    """One run from its start, or from ``ckpt`` (``last.pt``, already checked against
    the configuration and the manifest)."""
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
    epoch, step, batch_in_epoch = 0, 0, 0
    resumed_sums: dict[str, float] = {}
    best_val: float | None = None
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        if ckpt.get("scaler") is not None:
            scaler.load_state_dict(ckpt["scaler"])
        sampler.load_state_dict(ckpt["sampler"])
        torch.set_rng_state(ckpt["rng"]["torch"])
        epoch, step = int(ckpt["epoch"]), int(ckpt["step"])
        batch_in_epoch = int(ckpt.get("batch_in_epoch", 0))
        resumed_sums = dict(ckpt.get("epoch_loss_sums") or {})
        best_val = ckpt.get("best_val")
        log.info("resuming at epoch %d, step %d (batch %d)", epoch, step, batch_in_epoch)

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

    run_info = {
        "manifest": {
            "directory": str(manifest.directory),
            "hash": manifest.content_hash,
            "dataset": manifest.dataset,
            "kind": manifest.kind,
        },
        "trial": data.trial,
        "train_splits": list(data.splits) if manifest.kind == "sysu" else [],
        "num_classes": len(images.pids),
        "train_images": len(images),
        "unreadable_images": [
            {"path": str(b.path.relative_to(manifest.root)), "problem": b.problem}
            for b in unreadable
        ],
        "world_size": info.world_size,
        "device": str(device),
        "amp": str(dtype).replace("torch.", "") if dtype else "off",
        "versions": _versions(),
    }
    run_log = None
    if info.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_text_atomic(run_dir / "config.yaml", yaml.safe_dump(to_dict(config), sort_keys=False))
        write_text_atomic(run_dir / "run.json", json.dumps(run_info, indent=2) + "\n")
        run_log = RunLog(run_dir, resume_step=step if ckpt is not None else None)

    batch_images = 2 * data.num_ids * data.per_modality * info.world_size

    def payload(
        kind: str,
        sampler_state: dict[str, Any],
        epochs_done: int,
        in_epoch: int,
        sums: dict[str, float] | None = None,
    ) -> dict[str, Any]:
        rng = {"torch": torch.get_rng_state()}
        if cuda:
            rng["cuda"] = torch.cuda.get_rng_state(device)
        return {
            "kind": kind,
            "model": model.state_dict(),
            "model_config": model_config.to_dict(),
            "config": to_dict(config),
            "manifest": run_info["manifest"],
            "trial": data.trial,
            "train_splits": run_info["train_splits"],
            "pids": list(images.pids),
            "epoch": epochs_done,
            "step": step,
            "batch_in_epoch": in_epoch,
            "epoch_loss_sums": dict(sums or {}),
            "best_val": best_val,
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "scaler": scaler.state_dict() if scaler.is_enabled() else None,
            "sampler": sampler_state,
            "rng": rng,
            "versions": _versions(),
            "extra": {},
        }

    attribute_rates = positive_rates(images.attributes).to(device)
    stopped = False
    warned: set[str] = set()
    collapse_warned: set[int] = set()
    try:
        while epoch < optim.epochs and not stopped:
            sampler.set_epoch(epoch)
            losses = loss_config(config.loss, epoch, optim.epochs)  # this epoch's weights
            sampler.skip(batch_in_epoch)
            net.train()
            # Loss sums of the epoch so far (restored on a mid-epoch resume).
            sums: dict[str, float] = dict(resumed_sums)
            count = batch_in_epoch
            resumed_sums = {}
            t_epoch = t_window = time.perf_counter()
            window = 0
            bar = tqdm(
                total=len(sampler),
                initial=batch_in_epoch,
                desc=f"epoch {epoch + 1}/{optim.epochs}",
                unit="batch",
                disable=not (rt.progress and info.is_main),
                dynamic_ncols=True,
            )
            for batch in loader:
                step += 1
                batch_in_epoch += 1
                probing = rt.probe_every > 0 and step % rt.probe_every == 0 and info.is_main
                logging_now = probing or step % rt.log_every == 0 or batch_in_epoch == len(sampler)
                result = train_step(
                    net,
                    normalize_batch(batch.images, device, channels_last),
                    batch.labels.to(device, non_blocking=True),
                    batch.modality.to(device, non_blocking=True),
                    batch.attributes.to(device, non_blocking=True),
                    optimizer=optimizer,
                    scaler=scaler,
                    losses=losses,
                    feed_predicted=feeds_predicted(epoch, step, optim.epochs, config.loss, rt.seed),
                    dtype=dtype,
                    step=step,
                    probe=probing,
                    attribute_rates=attribute_rates,
                )
                if result.diagnostics.get("health/collapsed") and epoch not in collapse_warned:
                    collapse_warned.add(epoch)
                    d = result.diagnostics
                    log.warning(
                        "step %d: the features have collapsed (relative spread of f^m %.3f, "
                        "of the metric feature %.3f; collapse below %.2f): the images of a "
                        "batch are nearly one point; see docs/training.md, 'Why a run "
                        "collapses'",
                        step,
                        d["health/backbone/relative_std"],
                        d["health/metric/relative_std"],
                        COLLAPSE_RELATIVE_STD,
                    )
                for name, reason in result.skipped.items():
                    if name not in warned:
                        warned.add(name)
                        log.warning("loss term %r skipped at step %d: %s", name, step, reason)
                count += 1
                window += 1
                for k, v in result.values.items():
                    sums[k] = sums.get(k, 0.0) + v
                bar.update(1)
                if logging_now:
                    now = time.perf_counter()
                    rate = window * batch_images / max(now - t_window, 1e-9)
                    t_window, window = now, 0
                    bar.set_postfix(
                        {k: f"{v:.3f}" for k, v in result.values.items()} | {"img/s": f"{rate:.0f}"}
                    )
                    if run_log is not None:
                        run_log.write(
                            {
                                "kind": "step",
                                "epoch": epoch,
                                "step": step,
                                "lr": optimizer.param_groups[1]["lr"],
                                "images_per_s": rate,
                                "fed_predicted": result.fed_predicted,
                                "skipped": sorted(result.skipped),
                                **{f"loss/{k}": v for k, v in result.values.items()},
                                **result.diagnostics,
                            }
                        )
                if rt.stop_after_steps is not None and step >= rt.stop_after_steps:
                    stopped = True
                    break
            bar.close()
            if stopped and batch_in_epoch < len(sampler):
                if info.is_main:
                    save_checkpoint(
                        ckpt_dir / "last.pt",
                        payload("last", sampler.state_dict(), epoch, batch_in_epoch, sums),
                    )
                log.info("stopped after step %d (runtime.stop_after_steps)", step)
                break
            scheduler.step()
            epoch += 1
            batch_in_epoch = 0
            D.broadcast_buffers(model, info)
            if info.is_main:
                scores: dict[str, float] = {}
                if val is not None and (epoch % data.val_every == 0 or epoch == optim.epochs):
                    validation = evaluate(
                        model, val, data.input_size, device, data.val_attribute_source
                    )
                    scores = validation.as_dict()
                    log.info(
                        "epoch %d: validation rank-1 %.2f %%, mAP %.2f %%, attribute head "
                        "balanced accuracy %s (%s split, %s attributes)",
                        epoch,
                        100 * validation.retrieval.rank(1),
                        100 * validation.retrieval.mAP,
                        "n/a"
                        if validation.attribute_balanced_accuracy is None
                        else f"{100 * validation.attribute_balanced_accuracy:.1f} %",
                        data.val_split,
                        data.val_attribute_source,
                    )
                    if best_val is None or validation.retrieval.mAP > best_val:
                        best_val = validation.retrieval.mAP
                        state = payload("best", sampler.next_epoch_state(epoch), epoch, 0)
                        state["extra"]["validation"] = scores
                        save_checkpoint(ckpt_dir / "best.pt", state)
                        log.info("epoch %d: best validation mAP so far, %.4f", epoch, best_val)
                if epoch % rt.checkpoint_every == 0 or epoch == optim.epochs or stopped:
                    save_checkpoint(
                        ckpt_dir / "last.pt",
                        payload("last", sampler.next_epoch_state(epoch), epoch, 0),
                    )
                assert run_log is not None
                run_log.write(
                    {
                        "kind": "epoch",
                        "epoch": epoch - 1,
                        "step": step,
                        "lr": optimizer.param_groups[1]["lr"],
                        "seconds": time.perf_counter() - t_epoch,
                        **{f"loss/{k}": v / max(count, 1) for k, v in sums.items()},
                        **scores,
                    }
                )
                if not rt.progress:  # without bars, one line per epoch shows the run moving
                    means = {k: v / max(count, 1) for k, v in sums.items()}
                    log.info(
                        "epoch %d/%d (step %d): loss %.3f (%s), %.1f s",
                        epoch,
                        optim.epochs,
                        step,
                        means.get("total", float("nan")),
                        ", ".join(f"{k} {v:.3f}" for k, v in means.items() if k != "total"),
                        time.perf_counter() - t_epoch,
                    )
            D.barrier(info)
        finished = epoch >= optim.epochs
        D.broadcast_buffers(model, info)
        fingerprints = tuple(D.gather_fingerprints(model, info))
        if len(set(fingerprints)) > 1:
            log.error("ranks hold different model states: %s", fingerprints)
        final = ckpt_dir / ("final.pt" if finished else "last.pt")
        if info.is_main and finished:
            state = payload("final", sampler.next_epoch_state(epoch), epoch, 0)
            state["extra"]["rank_fingerprints"] = list(fingerprints)
            save_checkpoint(final, state)
            plot_metrics(run_dir / "metrics.jsonl", run_dir / "plots")
            log.info("training finished: %s", final)
    finally:
        if run_log is not None:
            run_log.close()
    return TrainResult(run_dir, final, epoch, step, finished, fingerprints)
