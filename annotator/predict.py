"""One way to run ``paenet-predict``, whoever asks (the command line, the Data page).

1. the registered dataset's images are listed from the store and their headers checked
   under its root (the trainer's rules: no link leaving the root, the pixel limit);
2. the checkpoint's attribute head runs over every image (:mod:`paenet.suggest.predict`);
3. the logits are pooled per identity and per (identity, camera): mean of logits
   (:mod:`paenet.suggest.pooling` says why);
4. one temperature per attribute is fitted on labelled identities the model did not
   train on: a label source named by ``calibrate_on``, else the training manifest's
   identities outside the model's training set (its ``val`` split first); without any,
   the probabilities are stored uncalibrated and marked so;
5. the suggestions replace the model source's previous ones in one transaction.
"""

from __future__ import annotations

import logging
import platform
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import select

from annotator.store.db import Store
from annotator.store.models import IDENTITY_WIDE, Dataset, Identity, Image, Label, Source
from annotator.store.services.lookups import dataset_row
from annotator.store.services.suggestions import SuggestionRow, write_suggestions
from paenet.attributes import ATTRIBUTE_KEYS, LabelValue
from paenet.data.errors import DatasetError
from paenet.data.images import header_problem
from paenet.suggest.calibration import Calibration, calibrate, uncalibrated
from paenet.suggest.pooling import mean_logits
from paenet.suggest.predict import (
    PredictImage,
    attribute_logits,
    load_attribute_model,
    sha256_of,
)

log = logging.getLogger(__name__)

FIRST_BAD = 10


@dataclass(frozen=True)
class PredictOptions:
    checkpoint: Path
    dataset: str
    source: str | None = None
    """Model source name; default ``model-<dataset>``."""
    calibrate_on: str | None = None
    """A label source (of this dataset) to fit the temperatures on."""
    batch_size: int = 64
    device: str = "auto"
    workers: int = 0
    amp: bool = True
    progress: bool = True

    @property
    def source_name(self) -> str:
        return self.source or f"model-{self.dataset}"


@dataclass(frozen=True)
class PredictReport:
    source: str
    run: int
    identities: int
    images: int
    calibration: Calibration
    seconds: float
    device: str

    def lines(self) -> list[str]:
        cal = self.calibration
        out = [
            f"model source {self.source} (run {self.run}): {self.identities} identities, "
            f"{self.images} images, {self.seconds:.1f} s on {self.device}",
            f"calibration: {cal.held_out}",
        ]
        for a in cal.attributes:
            if a.calibrated:
                out.append(
                    f"  {a.key:18s} T={a.temperature:6.3f}  ECE {a.ece_before:.3f} → "
                    f"{a.ece_after:.3f}  ({a.labelled} identities)"
                )
            else:
                out.append(f"  {a.key:18s} not calibrated ({a.labelled} labelled identities)")
        return out


def _images(store: Store, dataset: str) -> tuple[Path, list[PredictImage]]:
    with store.read() as s:
        ds = dataset_row(s, dataset)
        root = Path(ds.root)
        rows = s.execute(
            select(Identity.pid, Image.camera, Image.modality, Image.path)
            .join(Image, Image.identity_id == Identity.id)
            .where(Identity.dataset_id == ds.id)
            .order_by(Identity.pid, Image.camera, Image.path)
        ).all()
    return root, [PredictImage(int(p), int(c), str(m), root / path) for p, c, m, path in rows]


def _check_headers(root: Path, images: Sequence[PredictImage], workers: int = 8) -> None:
    """:class:`DatasetError` listing every image the trainer's rules would refuse."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        problems = list(pool.map(lambda im: header_problem(im.path, root), images))
    bad = [(im.path, p) for im, p in zip(images, problems) if p is not None]
    if bad:
        shown = "; ".join(f"{path}: {p}" for path, p in bad[:FIRST_BAD])
        more = f" and {len(bad) - FIRST_BAD} more" if len(bad) > FIRST_BAD else ""
        raise DatasetError(root, f"{len(bad)} image(s) cannot be read: {shown}{more}")


def _identity_labels(store: Store, dataset: str, source: str, pids: Sequence[int]) -> np.ndarray:
    """int ``[len(pids), 8]`` of ``source``'s identity-wide labels (-1 where none)."""
    out = np.full((len(pids), len(ATTRIBUTE_KEYS)), int(LabelValue.UNKNOWN), dtype=np.int64)
    row = {p: i for i, p in enumerate(pids)}
    col = {k: j for j, k in enumerate(ATTRIBUTE_KEYS)}
    with store.read() as s:
        if s.scalar(select(Source.id).where(Source.name == source)) is None:
            raise DatasetError(source, "no label source of that name to calibrate on")
        for pid, attr, value in s.execute(
            select(Identity.pid, Label.attribute, Label.value)
            .join(Label, Label.identity_id == Identity.id)
            .join(Source, Label.source_id == Source.id)
            .join(Dataset, Identity.dataset_id == Dataset.id)
            .where(Source.name == source, Dataset.name == dataset,
                   Label.camera == IDENTITY_WIDE)
        ):  # fmt: skip
            if pid in row and attr in col:
                out[row[pid], col[attr]] = value
    return out


def _manifest_held_out(
    trained, options: PredictOptions, device: str
) -> tuple[np.ndarray, np.ndarray, str] | None:  # type: ignore[no-untyped-def]
    """Pooled logits and labels of the training manifest's identities the model did not
    train on (``val`` split first, else every other one), or None when there are none."""
    from paenet.data.manifest import ManifestError, load_manifest

    directory = trained.manifest_directory
    if not directory:
        return None
    try:
        manifest = load_manifest(directory, verify_hashes=False)
    except ManifestError as exc:
        log.warning("cannot use the training manifest for calibration: %s", exc)
        return None
    trained_ids = set(trained.pids)
    held = [im for im in manifest.images if im.sample.pid not in trained_ids]
    val = [im for im in held if im.split == "val"]
    chosen, what = (val, "its val split") if val else (held, "identities outside its training set")
    chosen = [im for im in chosen if max(im.attributes) >= 0]
    if not chosen:
        return None
    images = [
        PredictImage(im.sample.pid, im.sample.camera, str(im.sample.modality),
                     manifest.image_path(im))
        for im in chosen
    ]  # fmt: skip
    logits = attribute_logits(
        trained, images, root=manifest.root, device=device, batch_size=options.batch_size,
        amp=options.amp, progress=options.progress,
    )  # fmt: skip
    pids, pooled = mean_logits(logits, [im.pid for im in images])
    labels = _agreed_labels([im.pid for im in images], [im.attributes for im in chosen], pids)
    return pooled, labels, f"training manifest {directory}, {what} ({len(pids)} identities)"


def _agreed_labels(
    image_pids: Sequence[int], image_attrs: Sequence[Sequence[int]], pids: Sequence[object]
) -> np.ndarray:
    """int ``[len(pids), n]``: per identity, the value all its images agree on (unknowns
    aside), else -1 (an identity whose images disagree has no identity-wide label)."""
    attrs = np.asarray(image_attrs, dtype=np.int64)
    seen: dict[object, tuple[np.ndarray, np.ndarray]] = {}
    for pid, row in zip(image_pids, attrs):
        ones, zeros = seen.get(
            pid, (np.zeros(attrs.shape[1], bool), np.zeros(attrs.shape[1], bool))
        )
        seen[pid] = (ones | (row == 1), zeros | (row == 0))
    out = np.full((len(pids), attrs.shape[1]), int(LabelValue.UNKNOWN), dtype=np.int64)
    for i, pid in enumerate(pids):
        ones, zeros = seen[pid]
        out[i, ones & ~zeros] = 1
        out[i, zeros & ~ones] = 0
    return out


def run_predict(
    store: Store, options: PredictOptions, on_progress: Callable[[str], None] | None = None
) -> PredictReport:
    """Predict, calibrate and store the suggestions of ``options.dataset``."""
    from paenet.runtime import pick_device

    started = time.perf_counter()
    say = on_progress or (lambda _m: None)
    root, images = _images(store, options.dataset)
    if not images:
        raise DatasetError(root, f"dataset {options.dataset!r} has no images to predict")
    say(f"checking {len(images)} image headers")
    _check_headers(root, images)
    device = pick_device(options.device)
    trained = load_attribute_model(options.checkpoint, device)
    say(f"running the attribute head over {len(images)} images")
    logits = attribute_logits(
        trained, images, root=root, device=device, batch_size=options.batch_size,
        workers=options.workers, amp=options.amp, progress=options.progress,
    )  # fmt: skip
    pids, pooled = mean_logits(logits, [im.pid for im in images])
    cams, per_camera = mean_logits(logits, [(im.pid, im.camera) for im in images])

    say("calibrating")
    calibration = _calibration(store, options, trained, pids, pooled, str(device))
    identity_p = calibration.apply(pooled)
    camera_p = calibration.apply(per_camera)
    rows = [
        SuggestionRow(int(pid), key, IDENTITY_WIDE, float(identity_p[i, j]))
        for i, pid in enumerate(pids)
        for j, key in enumerate(ATTRIBUTE_KEYS)
    ] + [
        SuggestionRow(int(pid), key, int(cam), float(camera_p[i, j]))
        for i, (pid, cam) in enumerate(cams)  # type: ignore[misc]
        for j, key in enumerate(ATTRIBUTE_KEYS)
    ]
    details = {
        "checkpoint": {
            "path": str(Path(options.checkpoint).resolve()),
            "sha256": sha256_of(Path(options.checkpoint)),
            "epoch": trained.epoch,
            "kind": trained.checkpoint_kind,
        },
        "manifest": {
            "directory": trained.manifest_directory,
            "hash": trained.manifest_hash,
            "dataset": trained.dataset,
            "kind": trained.kind,
            "trial": trained.trial,
        },
        "calibration": calibration.to_dict(),
        "pooling": "mean of logits over the identity's images (camera 0) and per camera",
        "images": len(images),
        "input_size": list(trained.config["data"]["input_size"]),
        "device": str(device),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
    }
    say("writing the suggestions")
    with store.write() as s:
        run = write_suggestions(s, options.dataset, options.source_name, details, rows)
    return PredictReport(
        options.source_name, run, len(pids), len(images), calibration,
        time.perf_counter() - started, str(device),
    )  # fmt: skip


def _calibration(
    store: Store,
    options: PredictOptions,
    trained,  # type: ignore[no-untyped-def]
    pids: Sequence[object],
    pooled: np.ndarray,
    device: str,
) -> Calibration:
    if options.calibrate_on:
        excluded = set(trained.pids) if trained.dataset == options.dataset else set()
        keep = [i for i, p in enumerate(pids) if p not in excluded]
        labels = _identity_labels(store, options.dataset, options.calibrate_on,
                                  [int(pids[i]) for i in keep])  # type: ignore[call-overload]  # fmt: skip
        what = (
            f"label source {options.calibrate_on} on {options.dataset} "
            f"({int((labels >= 0).any(axis=1).sum())} labelled identities"
            + (f", {len(pids) - len(keep)} trained-on excluded" if excluded else "")
            + ")"
        )
        if (labels >= 0).any():
            return calibrate(pooled[keep], labels, ATTRIBUTE_KEYS, what)
        return uncalibrated(ATTRIBUTE_KEYS, f"{what}: no labels; probabilities uncalibrated")
    held = _manifest_held_out(trained, options, device)
    if held is None:
        return uncalibrated(
            ATTRIBUTE_KEYS,
            "no labelled held-out data (no training manifest with identities the model did "
            "not train on, no --calibrate-on SOURCE): probabilities are uncalibrated",
        )
    logits, labels, what = held
    return calibrate(logits, labels, ATTRIBUTE_KEYS, what)
