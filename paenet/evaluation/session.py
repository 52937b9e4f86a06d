"""One evaluation of a checkpoint on a manifest's protocols: what ``paenet-eval`` runs.

Rules enforced here:

- every test image's feature is extracted once and reused by every protocol (SYSU:
  10 trials × all/indoor × single/multi-shot share one bank);
- ``gt`` is refused when a test image's attributes are unknown in the manifest;
- RegDB: a checkpoint trained on trial k is evaluated on trial k only; another trial
  has identities the model trained on, so it needs ``force`` and the result says so;
  a checkpoint of another dataset kind also needs ``force``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from paenet.attributes import ATTRIBUTE_KEYS, is_known
from paenet.data.kind_spec import ProtocolChoiceError
from paenet.data.manifest import Manifest, load_manifest
from paenet.data.protocol import TestProtocol
from paenet.data.scan import scan_protocols, skipped_note
from paenet.evaluation.attribute_quality import AttributeQuality, attribute_quality
from paenet.evaluation.features import FeatureBank, canonical_source, extract_bank
from paenet.evaluation.runner import (
    ProtocolResult,
    SettingSummary,
    evaluate_protocols,
    summarize,
)
from paenet.model.loading import TrainedModel, load_trained_model
from paenet.runtime import pick_device

log = logging.getLogger(__name__)


class EvaluationError(ValueError):
    """An evaluation that must not run as asked (the message says why and what to do)."""


@dataclass(frozen=True)
class EvalOptions:
    source: str = "predicted"
    trials: tuple[int, ...] | None = None
    """SYSU: trials 0..9 (default all); RegDB: trials 1..10 (default the checkpoint's)."""
    force: bool = False
    batch_size: int = 64
    workers: int = 0
    device: str = "auto"
    amp: bool = True
    progress: bool = True
    skip_unreadable: bool = False
    """Leave unreadable test images out (noted on the result) instead of refusing."""


@dataclass(frozen=True)
class GallerySize:
    """A setting's gallery, mean over its protocols (trials): identities and images.
    ``chance_rank1`` = 1 / identities: a random ranking's expected rank-1 when every
    query's identity is in the gallery once (the unique-identity CMC)."""

    identities: float
    images: float

    @property
    def chance_rank1(self) -> float:
        return 1.0 / self.identities if self.identities else 0.0

    def as_dict(self) -> dict[str, float]:
        return {
            "identities": self.identities,
            "images": self.images,
            "chance_rank1": self.chance_rank1,
        }


def gallery_sizes(
    protocols: Sequence[TestProtocol], results: Sequence[ProtocolResult]
) -> dict[str, GallerySize]:
    """Each setting's mean gallery size over its protocols (``results`` in protocol order)."""
    per: dict[str, list[tuple[int, int]]] = {}
    for proto, result in zip(protocols, results, strict=True):
        ids = len({s.pid for s in proto.gallery})
        per.setdefault(result.setting, []).append((ids, len(proto.gallery)))
    return {
        k: GallerySize(float(np.mean([i for i, _ in v])), float(np.mean([n for _, n in v])))
        for k, v in per.items()
    }


@dataclass(frozen=True)
class EvaluationReport:
    checkpoint: str
    checkpoint_kind: str
    epoch: int
    checkpoint_manifest_hash: str
    manifest: str
    manifest_hash: str
    dataset: str
    kind: str
    attribute_source: str
    model_uses_attributes: bool
    sampling: str
    trials: tuple[int, ...]
    settings: tuple[SettingSummary, ...]
    protocols: tuple[ProtocolResult, ...]
    attribute_quality: AttributeQuality | None
    test_images: int
    seconds: dict[str, float]
    notes: tuple[str, ...] = ()
    forced: bool = False
    versions: dict[str, str] = field(default_factory=dict)
    synthetic: bool = False
    """The manifest's dataset is a synthetic stand-in (every output says so)."""
    galleries: Mapping[str, GallerySize] = field(default_factory=dict)
    """Per setting: the gallery's size (mean over its trials) and the chance rank-1."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "checkpoint": self.checkpoint,
            "checkpoint_kind": self.checkpoint_kind,
            "epoch": self.epoch,
            "checkpoint_manifest_hash": self.checkpoint_manifest_hash,
            "manifest": self.manifest,
            "manifest_hash": self.manifest_hash,
            "dataset": self.dataset,
            "kind": self.kind,
            "attribute_source": self.attribute_source,
            "model_uses_attributes": self.model_uses_attributes,
            "gallery_sampling": self.sampling,
            "trials": list(self.trials),
            "synthetic": self.synthetic,
            "galleries": {k: g.as_dict() for k, g in self.galleries.items()},
            "forced": self.forced,
            "notes": list(self.notes),
            "test_images": self.test_images,
            "settings": [s.as_dict() for s in self.settings],
            "protocols": [
                {
                    "protocol": r.protocol,
                    "setting": r.setting,
                    "trial": r.trial,
                    "sampling": r.sampling,
                    **r.metrics.as_dict(),
                    "cmc": r.metrics.cmc.tolist(),
                }
                for r in self.protocols
            ],
            "attribute_quality": (
                None if self.attribute_quality is None else self.attribute_quality.as_dict()
            ),
            "seconds": self.seconds,
            "versions": self.versions,
        }


def select_protocols(
    manifest: Manifest, trained: TrainedModel, trials: Sequence[int] | None, force: bool
) -> tuple[list[TestProtocol], list[str]]:
    """The protocols to run and the notes that any forced choice leaves on the result."""
    notes: list[str] = []
    if trained.kind and trained.kind != manifest.kind:
        if not force:
            raise EvaluationError(
                f"the checkpoint was trained on a {trained.kind} manifest, this manifest is "
                f"{manifest.kind}; pass --force to evaluate across datasets anyway"
            )
        notes.append(f"FORCED: {trained.kind} checkpoint evaluated on a {manifest.kind} manifest")
    own = trained.trial if trained.kind == manifest.kind else None
    try:
        protocols, forced = manifest.kind_spec.select_test_protocols(manifest, trials, own, force)
    except ProtocolChoiceError as exc:
        raise EvaluationError(str(exc)) from None
    return protocols, notes + forced


def protocol_images(protocols: Sequence[TestProtocol]) -> list:
    """Every image of the protocols once, sorted by path (a stable bank order)."""
    seen = {s.path: s for p in protocols for s in (*p.query, *p.gallery)}
    return [seen[k] for k in sorted(seen)]


def check_gt_known(manifest: Manifest, samples: Sequence, attrs: np.ndarray) -> None:
    unknown = ~is_known(attrs)
    if unknown.any():
        rows = np.flatnonzero(unknown.any(axis=1))
        first = rows[0]
        keys = [ATTRIBUTE_KEYS[a] for a in np.flatnonzero(unknown[first])]
        raise EvaluationError(
            f"--attributes gt needs every test image's attributes, but {rows.size} of "
            f"{len(samples)} test images in {manifest.directory} have unknown ones "
            f"(e.g. {samples[first].path}: {', '.join(keys)}); use --attributes predicted "
            "or export the manifest with these attributes labelled"
        )


def evaluation_device(requested: str) -> torch.device:
    """The device for ``--device`` (``auto``, ``cpu``, ``cuda``, ``cuda:N``).

    Raises:
        EvaluationError: CUDA asked for but not available, or a name torch does not know.
    """
    try:
        return pick_device(requested)
    except RuntimeError as exc:
        if not torch.cuda.is_available() and requested.startswith("cuda"):
            raise EvaluationError(
                f"--device {requested}: CUDA is not available on this machine (torch "
                f"{torch.__version__}); use --device cpu or auto"
            ) from None
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EvaluationError(
            f"--device {requested}: {first}; use auto, cpu, cuda or cuda:N"
        ) from None


def check_output_dir(out: Path | str) -> Path:
    """Create ``out`` and prove it takes files (a probe file written, then removed), so that
    an unwritable ``--out`` fails before the evaluation rather than after it.

    Raises:
        EvaluationError: ``out`` (or a folder above it) is a file, or cannot be written.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise EvaluationError(f"--out {out} is a file; expected a folder for the results")
    probe = out / f".paenet-eval-probe.{os.getpid()}"
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"probe")
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        where = f" ({exc.filename})" if exc.filename and Path(exc.filename) != probe else ""
        raise EvaluationError(
            f"--out {out} cannot be written: {reason}{where}; expected a writable folder "
            "for the results (nothing was evaluated)"
        ) from None
    return out


def run_evaluation(
    checkpoint: Path | str, manifest_dir: Path | str, options: EvalOptions = EvalOptions()
) -> EvaluationReport:
    source = canonical_source(options.source)
    t0 = time.perf_counter()
    device = evaluation_device(options.device)
    trained = load_trained_model(checkpoint, map_location=device)
    manifest = load_manifest(manifest_dir)
    protocols, notes = select_protocols(manifest, trained, options.trials, options.force)
    if trained.manifest_hash != manifest.content_hash:
        msg = (
            f"the checkpoint was trained on manifest {trained.manifest_hash[:12]}, "
            f"evaluating on {manifest.content_hash[:12]}"
        )
        log.warning(msg)
        notes.append(msg)
    protocols, unreadable = scan_protocols(
        manifest.root, protocols, skip=options.skip_unreadable,
        hint="pass --skip-unreadable to evaluate without them", progress=options.progress,
    )  # fmt: skip
    if unreadable:
        notes.append(skipped_note(unreadable, manifest.root))
    samples = protocol_images(protocols)
    attrs = manifest.attributes_of(samples)
    uses_attributes = trained.model.pae is not None
    if not uses_attributes:
        notes.append("model without PAE: its feature does not depend on the attribute source")
    elif source == "gt":
        check_gt_known(manifest, samples, attrs)
    input_size = tuple(trained.config["data"]["input_size"])
    t1 = time.perf_counter()
    bank: FeatureBank = extract_bank(
        trained.model,
        samples,
        [manifest.image_path(s) for s in samples],
        source=source,
        input_size=input_size,  # type: ignore[arg-type]
        attributes=attrs if source == "gt" else None,
        device=device,
        batch_size=options.batch_size,
        workers=options.workers,
        amp=options.amp,
        progress=options.progress,
        root=manifest.root,
    )
    t2 = time.perf_counter()
    results = evaluate_protocols(bank, protocols)
    settings = summarize(results)
    t3 = time.perf_counter()
    quality = None
    if bank.attribute_logits is not None:
        known = is_known(attrs).any(axis=1)
        if known.any():
            quality = attribute_quality(bank.attribute_logits[known], attrs[known], ATTRIBUTE_KEYS)
    samplings = sorted({r.sampling or "none" for r in results})
    trials = sorted({r.trial for r in results if r.trial is not None})
    return EvaluationReport(
        checkpoint=str(Path(checkpoint).resolve()),
        checkpoint_kind=trained.checkpoint_kind,
        epoch=trained.epoch,
        checkpoint_manifest_hash=trained.manifest_hash,
        manifest=str(manifest.directory),
        manifest_hash=manifest.content_hash,
        dataset=manifest.dataset,
        kind=manifest.kind,
        attribute_source=source,
        model_uses_attributes=uses_attributes,
        sampling=manifest.kind_spec.describe_sampling(samplings),
        trials=tuple(trials),
        settings=tuple(settings),
        protocols=tuple(results),
        attribute_quality=quality,
        test_images=len(samples),
        seconds={
            "load": round(t1 - t0, 3),
            "features": round(t2 - t1, 3),
            "metrics": round(t3 - t2, 3),
        },
        notes=tuple(notes),
        forced=any(n.startswith("FORCED") for n in notes),
        versions={"torch": torch.__version__, "numpy": np.__version__},
        synthetic=manifest.synthetic,
        galleries=gallery_sizes(protocols, results),
    )
