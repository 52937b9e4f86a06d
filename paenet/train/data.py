"""Training images from a manifest: arrays, the optional decoded cache, Dataset, DataLoader.

The trainer reads images only through the manifest (:mod:`paenet.data.manifest`): the
training set gives the images and contiguous labels; ``manifest.image_path`` gives each
file, validated inside the dataset root. :func:`load_train_images` checks every file's
header before the first step (:mod:`paenet.data.scan`) and, with
``data.skip_unreadable``, leaves the unreadable ones out.
"""

from __future__ import annotations

import hashlib
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import cv2
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from paenet.atomic import atomic_path, write_text_atomic
from paenet.data.images import BadImage, decode
from paenet.data.records import Modality
from paenet.data.scan import bad_paths, scan_images
from paenet.train.config import DataConfig
from paenet.train.sampler import CrossModalitySampler, Item
from paenet.train.transforms import build_pipeline, prepare
from paenet.train.validation import ValidationSet, validation_set

if TYPE_CHECKING:
    from paenet.data.manifest import Manifest, TrainingSet

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class TrainImages:
    """The training images as arrays (N images, n attributes).

    ``paths`` absolute; ``labels`` int64 (N,) contiguous classes; ``modality`` int64 (N,)
    ``Modality.model_index`` codes; ``attributes`` int8 (N, n) with 0/1/-1; ``pids[label]`` the person id.
    ``root``: the dataset root the decoder keeps every path inside (None: unchecked).
    """

    paths: tuple[Path, ...]
    labels: np.ndarray
    modality: np.ndarray
    attributes: np.ndarray
    pids: tuple[int, ...]
    root: Path | None = None

    def __len__(self) -> int:
        return len(self.paths)

    @classmethod
    def from_training_set(cls, manifest: Manifest, training: TrainingSet) -> TrainImages:
        return cls(
            paths=tuple(manifest.image_path(img) for img in training.images),
            labels=np.asarray(training.labels, dtype=np.int64),
            modality=np.array(
                [Modality(img.sample.modality).model_index for img in training.images],
                dtype=np.int64,
            ),
            attributes=training.attributes,  # int8 (N, n) from the manifest's table
            pids=tuple(training.pids),
            root=manifest.root,
        )

    def without(self, paths: frozenset[Path]) -> tuple[TrainImages, tuple[int, ...]]:
        """These images less ``paths``, and the person ids left out with them.

        An identity that loses all its images of one modality (it had both) is left out
        entirely, as the sampler could never draw it; the labels of the others are
        renumbered contiguously, in person id order."""
        keep = np.array([p not in paths for p in self.paths], dtype=bool)
        lost: list[int] = []
        for label in np.unique(self.labels[~keep]):
            mine = self.labels == label
            before = set(self.modality[mine].tolist())
            after = set(self.modality[mine & keep].tolist())
            if after != before:
                keep &= ~mine
                lost.append(label)
        kept_labels = np.unique(self.labels[keep])
        relabel = np.full(len(self.pids), -1, dtype=np.int64)
        relabel[kept_labels] = np.arange(len(kept_labels))
        rows = np.flatnonzero(keep)
        images = TrainImages(
            paths=tuple(self.paths[i] for i in rows),
            labels=relabel[self.labels[rows]],
            modality=self.modality[rows],
            attributes=self.attributes[rows],
            pids=tuple(self.pids[i] for i in kept_labels),
            root=self.root,
        )
        return images, tuple(self.pids[i] for i in lost)

    def fingerprint(self) -> str:
        """SHA-256 of the image list (paths relative to their common root are not needed:
        the cache is keyed by the manifest's hash too)."""
        h = hashlib.sha256()
        for p in self.paths:
            h.update(str(p).encode())
            h.update(b"\0")
        return h.hexdigest()


def load_train_images(
    manifest: Manifest,
    training: TrainingSet,
    val: ValidationSet | None,
    *,
    skip_unreadable: bool,
    progress: bool = True,
) -> tuple[TrainImages, ValidationSet | None, list[BadImage]]:
    """The training images (and the validation set) after the header scan of every file
    (:func:`paenet.data.scan.scan_images`), and the unreadable files left out.

    Raises:
        paenet.data.scan.UnreadableImagesError: a file is unreadable and
            ``skip_unreadable`` is False (every one is logged first).
    """
    images = TrainImages.from_training_set(manifest, training)
    samples = list(training.samples)
    what = "training"
    if val is not None:
        samples += [*val.protocol.query, *val.protocol.gallery]
        what = "training and validation"
    bad = scan_images(
        manifest.root,
        samples,
        what=what,
        skip=skip_unreadable,
        hint="set data.skip_unreadable=true to train without them",
        progress=progress,
    )
    if not bad:
        return images, val, []
    images, lost = images.without(frozenset(b.path for b in bad))
    if lost:
        log.warning(
            "left out %d identities with no image left in one modality: person ids %s",
            len(lost),
            list(lost),
        )
    if val is not None:
        split = str(val.protocol.params["split"])
        val = validation_set(manifest, split, exclude=bad_paths(bad, manifest.root))
    return images, val, bad


# ---------------------------------------------------------------------- decoded cache
class DecodedCache:
    """Every training image decoded, resized and padded once (:func:`prepare`):
    uint8 memmap (N, H + 2·pad, W + 2·pad, 3).

    File ``<dir>/<manifest hash[:16]>-<image list hash[:12]>-<H>x<W>p<pad>.u8`` plus a
    JSON sidecar; written atomically (temp file + rename), reused when the sidecar
    matches. The memmap is opened lazily in each process (it is never pickled).
    """

    def __init__(self, path: Path, count: int, size: tuple[int, int], pad: int = 0):
        self.path = path
        self.shape = (count, size[0] + 2 * pad, size[1] + 2 * pad, 3)
        self._array: np.ndarray | None = None

    @staticmethod
    def location(
        directory: Path, manifest_hash: str, images: TrainImages, size: tuple[int, int], pad: int
    ) -> Path:
        fp = images.fingerprint()[:12]
        return Path(directory) / f"{manifest_hash[:16]}-{fp}-{size[0]}x{size[1]}p{pad}.u8"

    @classmethod
    def ensure(
        cls,
        directory: Path,
        manifest_hash: str,
        images: TrainImages,
        size: tuple[int, int],
        pad: int = 0,
        threads: int = 2,
        progress: bool = True,
    ) -> DecodedCache:
        """Open the cache, building it first when absent or stale."""
        path = cls.location(directory, manifest_hash, images, size, pad)
        meta_path = path.with_suffix(".json")
        cache = cls(path, len(images), size, pad)
        meta = {
            "manifest_hash": manifest_hash,
            "images": images.fingerprint(),
            "shape": list(cache.shape),
        }
        if path.is_file() and meta_path.is_file():
            try:
                if json.loads(meta_path.read_text()) == meta:
                    return cache
            except json.JSONDecodeError:
                pass
            log.warning("decoded cache %s does not match this training set; rebuilding", path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:  # renamed to ``path`` once complete
            out = np.memmap(tmp, dtype=np.uint8, mode="w+", shape=cache.shape)

            def load(i: int) -> None:
                out[i] = prepare(decode(images.paths[i], images.root), size, pad)

            with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
                for _ in tqdm(
                    pool.map(load, range(len(images))),
                    total=len(images),
                    desc="decoded cache",
                    unit="img",
                    disable=not progress,
                ):
                    pass
            out.flush()
        write_text_atomic(meta_path, json.dumps(meta))
        log.info("decoded cache written: %s (%d images)", path, len(images))
        return cache

    def __getitem__(self, index: int) -> np.ndarray:
        if self._array is None:
            self._array = np.memmap(self.path, dtype=np.uint8, mode="r", shape=self.shape)
        return np.array(self._array[index])

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "shape": self.shape, "_array": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


# --------------------------------------------------------------------------- dataset
class Batch(NamedTuple):
    """A collated batch: images (B, H, W, 3) uint8 (float32 when normalised in the
    workers; :func:`paenet.data.images.normalize_batch` makes them (B, 3, H, W) on
    the device); labels (B,) int64; modality (B,) int64; attributes (B, n) int8;
    index (B,) int64 into the training images."""

    images: Tensor
    labels: Tensor
    modality: Tensor
    attributes: Tensor
    index: Tensor


class TrainDataset(Dataset):
    """Indexed by the sampler's ``(image index, augmentation seed)`` items."""

    def __init__(self, images: TrainImages, config: DataConfig, cache: DecodedCache | None = None):
        self.images = images
        self.size = config.input_size
        self.pad = config.pad
        self.cache = cache
        self.infrared_pipeline, visible = build_pipeline(
            config.input_size,
            pad=config.pad,
            flip=config.flip,
            random_erasing=config.random_erasing,
            channel_augmentation=config.channel_augmentation,
            normalize=config.normalize == "worker",
        )
        self.visible_pipeline = visible or self.infrared_pipeline

    def __len__(self) -> int:
        return len(self.images)

    def load(self, index: int) -> np.ndarray:
        """The prepared (resized, padded), not yet augmented uint8 image."""
        if self.cache is not None:
            return self.cache[index]
        return prepare(decode(self.images.paths[index], self.images.root), self.size, self.pad)

    def __getitem__(self, item: Item) -> tuple[Tensor, int, int, int]:
        """The augmented image, its label, modality and index (the collator adds the
        attributes of the whole batch from :attr:`TrainImages.attributes`)."""
        index, seed = item
        modality = int(self.images.modality[index])
        pipeline = (
            self.visible_pipeline
            if modality == Modality.VISIBLE.model_index
            else self.infrared_pipeline
        )
        image = pipeline(self.load(index), seed)
        return (
            torch.from_numpy(np.ascontiguousarray(image)),
            int(self.images.labels[index]),
            modality,
            index,
        )


class Collate:
    """Stacks a batch of :meth:`TrainDataset.__getitem__` items into a :class:`Batch`;
    the attributes are one gather of the batch's rows of the int8 (N, n) array."""

    def __init__(self, attributes: np.ndarray):
        self.attributes = attributes

    def __call__(self, items: list[tuple[Tensor, int, int, int]]) -> Batch:
        images, labels, modality, index = zip(*items)
        return Batch(
            torch.stack(images),
            torch.tensor(labels, dtype=torch.int64),
            torch.tensor(modality, dtype=torch.int64),
            torch.from_numpy(self.attributes[np.asarray(index, dtype=np.intp)]),
            torch.tensor(index, dtype=torch.int64),
        )


def _worker_init(_: int) -> None:
    cv2.setNumThreads(1)
    torch.set_num_threads(1)


def build_loader(
    dataset: TrainDataset, sampler: CrossModalitySampler, config: DataConfig, cuda: bool
) -> DataLoader:
    """The DataLoader over the sampler's batches (workers, pinned memory, persistent)."""
    workers = config.workers
    return DataLoader(
        dataset,
        batch_sampler=sampler,
        num_workers=workers,
        collate_fn=Collate(dataset.images.attributes),
        pin_memory=config.pin_memory and cuda,
        persistent_workers=config.persistent_workers and workers > 0,
        prefetch_factor=config.prefetch_factor if workers > 0 else None,
        worker_init_fn=_worker_init if workers > 0 else None,
    )
