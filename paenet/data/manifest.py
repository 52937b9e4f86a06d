"""Reading an attribute-augmented manifest: the one input of the trainer and the evaluator.

A manifest is a directory written by ``paenet-export`` (or, without a database, by
:func:`paenet.data.manifest_write.write_manifest`); ``docs/manifest.md`` documents
every file and field. :func:`load_manifest` validates it and returns typed records::

    m = load_manifest("datasets/manifests/sysu-synthetic")
    train = m.training_set()                  # SYSU: train + val ids, contiguous labels
    for protocol in m.protocols():            # 40 SYSU settings, as TestProtocol
        ...
    m.image_path(train.images[0])             # absolute path, checked inside the root

Writing (for tests and tools that have no database), in
:mod:`paenet.data.manifest_write`:

- ``write_manifest(directory, dataset=..., kind=..., root=..., images=[ManifestImage…],
  protocols=[TestProtocol…], train_lists={trial: samples})`` writes a valid manifest
  directory atomically from records;
- ``manifest_from_synthetic(root, kind, out)`` builds one from a synthetic stand-in
  (``paenet-data synth``) with its ground truth ``synth_attributes.csv`` as labels and
  seeded SYSU protocols / the RegDB idx trials.

Validation on load: format name and schema version, the SHA-256 of every listed file,
the table columns and values, every image path relative and inside the dataset root,
and the dataset root existing. Each failure raises :class:`ManifestError` naming the
file and what was expected. Image files themselves are not opened (``paenet-export
--check`` does that).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any

import numpy as np

from paenet.attributes import ATTRIBUTE_KEYS, NUM_ATTRIBUTES
from paenet.data.protocol import SkipRule, TestProtocol
from paenet.data.records import Modality, Sample

MANIFEST_FORMAT = "paenet-manifest"
MANIFEST_SCHEMA_VERSION = 1
MANIFEST_FILE = "manifest.json"
IMAGES_PARQUET = "images.parquet"
IMAGES_CSV = "images.csv"
PROTOCOLS_PARQUET = "protocols.parquet"
PROTOCOLS_CSV = "protocols.csv"
KINDS: tuple[str, ...] = ("sysu", "regdb")
SYSU_SPLITS: tuple[str, ...] = ("train", "val", "test")
ROLES: tuple[str, ...] = ("query", "gallery", "train")
PROVENANCE_SUFFIX = "_provenance"
IMAGE_COLUMNS: tuple[str, ...] = (
    "path",
    "pid",
    "camera",
    "modality",
    "split",
    *ATTRIBUTE_KEYS,
    *(k + PROVENANCE_SUFFIX for k in ATTRIBUTE_KEYS),
)
"""Columns of ``images.parquet`` / ``images.csv``, in file order."""
PROTOCOL_COLUMNS: tuple[str, ...] = ("protocol", "role", "path")
"""Columns of ``protocols.parquet`` / ``protocols.csv``: one row per (list, image)."""


class ManifestError(ValueError):
    """A manifest is missing, malformed, tampered with, or does not match the disk."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


@dataclass(frozen=True, slots=True)
class ManifestImage:
    """One image of a manifest with the attribute labels that apply to it (its camera)."""

    sample: Sample
    split: str | None
    """SYSU ``train``/``val``/``test``; RegDB None (its splits are per trial)."""
    attributes: tuple[int, ...]
    """Length 8, schema order (:mod:`paenet.attributes`); 0, 1 or -1 (unknown)."""
    provenance: tuple[str, ...]
    """Length 8: which decision or source gave each value, e.g. ``decision:camera``."""


@dataclass(frozen=True)
class TrainingSet:
    """Training images of one SYSU split selection or one RegDB trial, classes contiguous."""

    images: tuple[ManifestImage, ...]
    """Sorted by (pid, camera, path)."""
    labels: np.ndarray
    """int64 ``[N]``: class index 0..num_classes-1, classes ordered by person id."""
    pids: tuple[int, ...]
    """``pids[label]`` is the original person id."""
    attributes: np.ndarray
    """int8 ``[N, 8]``: 0, 1 or -1 (unknown)."""

    @property
    def num_classes(self) -> int:
        return len(self.pids)

    @property
    def samples(self) -> tuple[Sample, ...]:
        return tuple(im.sample for im in self.images)


@dataclass(frozen=True)
class Manifest:
    directory: Path
    dataset: str
    kind: str
    root: Path
    attribute_keys: tuple[str, ...]
    images: tuple[ManifestImage, ...]
    content_hash: str
    """SHA-256 of ``manifest.json`` without its creation time (covers every table's hash)."""
    metadata: Mapping[str, Any]

    @cached_property
    def _row_of(self) -> Mapping[PurePosixPath, int]:
        return MappingProxyType({im.sample.path: i for i, im in enumerate(self.images)})

    def image(self, path: PurePosixPath | str) -> ManifestImage:
        try:
            return self.images[self._row_of[PurePosixPath(path)]]
        except KeyError:
            raise KeyError(f"{path} is not an image of manifest {self.directory}") from None

    def image_path(self, image_or_sample: ManifestImage | Sample) -> Path:
        """Absolute path of an image: ``root / sample.path`` (checked to stay inside root)."""
        sample = (
            image_or_sample.sample
            if isinstance(image_or_sample, ManifestImage)
            else image_or_sample
        )
        problem = path_problem(str(sample.path))
        if problem:
            raise ManifestError(self.directory / MANIFEST_FILE, f"{sample.path}: {problem}")
        return self.root / sample.path

    def attributes_of(self, samples: Sequence[Sample]) -> np.ndarray:
        """int8 ``[len(samples), 8]``: the manifest's attributes of each sample (by path)."""
        out = np.empty((len(samples), NUM_ATTRIBUTES), dtype=np.int8)
        for i, s in enumerate(samples):
            out[i] = self.image(s.path).attributes
        return out

    def training_set(
        self, splits: Sequence[str] = ("train", "val"), trial: int | None = None
    ) -> TrainingSet:
        """SYSU: the images of the named splits (default train + val, the field's
        convention). RegDB: trial ``trial`` (1..10, required)'s train lists."""
        if self.kind == "sysu":
            if trial is not None:
                raise ValueError("SYSU-MM01 training sets are chosen by split, not by trial")
            if isinstance(splits, str):
                splits = (splits,)
            bad = [s for s in splits if s not in SYSU_SPLITS]
            if bad or not splits:
                raise ValueError(
                    f"SYSU-MM01 splits must be among {SYSU_SPLITS}, got {list(splits)}"
                )
            chosen = [im for im in self.images if im.split in splits]
        else:
            name = regdb_train_list(_regdb_trial(trial))
            chosen = [self.image(p) for p in self._list(name, "train")]
        chosen.sort(key=lambda im: (im.sample.pid, im.sample.camera, im.sample.path))
        pids = tuple(sorted({im.sample.pid for im in chosen}))
        index = {pid: i for i, pid in enumerate(pids)}
        labels = np.fromiter((index[im.sample.pid] for im in chosen), np.int64, len(chosen))
        attrs = np.array([im.attributes for im in chosen], dtype=np.int8).reshape(
            -1, NUM_ATTRIBUTES
        )
        return TrainingSet(tuple(chosen), labels, pids, attrs)

    def protocols(self, trial: int | None = None) -> list[TestProtocol]:
        """SYSU: the 40 settings (or the 4 of ``trial`` 0..9); RegDB: both directions of
        ``trial`` (1..10, required). Query and gallery keep the exported order."""
        if self.kind == "regdb":
            trial = _regdb_trial(trial)
        elif trial is not None and trial not in range(10):
            raise ValueError(f"SYSU-MM01 trial must be in 0..9, got {trial}")
        out: list[TestProtocol] = []
        for entry in self.metadata["protocols"]:
            params = entry["params"]
            if trial is not None and params.get("trial") != trial:
                continue
            out.append(
                TestProtocol(
                    dataset=self.kind,
                    query=tuple(self.image(p).sample for p in self._list(entry["name"], "query")),
                    gallery=tuple(
                        self.image(p).sample for p in self._list(entry["name"], "gallery")
                    ),
                    skip_rules=tuple(SkipRule(**r) for r in entry["skip_rules"]),
                    unique_identity_cmc=bool(entry["unique_identity_cmc"]),
                    params=MappingProxyType(dict(params)),
                )
            )
        return out

    @cached_property
    def _lists(self) -> Mapping[str, Mapping[str, tuple[PurePosixPath, ...]]]:
        """Protocol and train lists (name -> role -> paths), read on first use."""
        return _read_lists(self.directory, set(self._row_of))

    def _list(self, name: str, role: str) -> tuple[PurePosixPath, ...]:
        try:
            return self._lists[name][role]
        except KeyError:
            raise ManifestError(
                self.directory / PROTOCOLS_PARQUET, f"no {role!r} rows for list {name!r}"
            ) from None


def regdb_train_list(trial: int) -> str:
    """Name of RegDB trial ``trial``'s training list in ``protocols.*`` (role ``train``)."""
    return f"regdb/trial={trial}/train"


def _regdb_trial(trial: int | None) -> int:
    if trial is None or trial not in range(1, 11):
        raise ValueError(f"RegDB needs a trial in 1..10, got {trial}")
    return trial


def path_problem(text: str) -> str | None:
    """Why ``text`` is not a safe dataset-relative posix path, or None when it is."""
    if not text:
        return "empty path"
    if "\\" in text or text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        return "path is absolute or not '/'-separated; expected e.g. 'cam1/0001/0001.jpg'"
    parts = text.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return "path escapes the dataset root (empty, '.' or '..' part)"
    return None


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def content_hash(doc: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of ``manifest.json`` minus ``provenance.created_at``."""
    stripped = json.loads(json.dumps(doc))
    stripped.get("provenance", {}).pop("created_at", None)
    canonical = json.dumps(stripped, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def load_manifest(
    directory: Path | str, *, verify_hashes: bool = True, root: Path | str | None = None
) -> Manifest:
    """Read and validate a manifest directory.

    Args:
        directory: the folder holding ``manifest.json``.
        verify_hashes: check the SHA-256 of every file listed in ``manifest.json``.
        root: the dataset root to use instead of the recorded one (a moved dataset).

    Raises:
        ManifestError: naming the file and what was expected.
    """
    directory = Path(directory)
    doc = read_manifest_json(directory)
    if verify_hashes:
        for problem in hash_problems(directory, doc):
            raise ManifestError(problem[0], problem[1])
    ds = doc["dataset"]
    root_path = Path(root) if root is not None else Path(ds["root"])
    if not root_path.is_dir():
        raise ManifestError(
            directory / MANIFEST_FILE,
            f"dataset root {root_path} does not exist (moved? pass root=… / --root)",
        )
    images = _read_images(directory, ds["kind"])
    return Manifest(
        directory=directory,
        dataset=ds["name"],
        kind=ds["kind"],
        root=root_path.resolve(),
        attribute_keys=tuple(a["key"] for a in doc["attributes"]),
        images=images,
        content_hash=content_hash(doc),
        metadata=MappingProxyType(doc),
    )


def read_manifest_json(directory: Path) -> dict[str, Any]:
    """Parse ``manifest.json`` and check format, schema version, dataset and schema."""
    path = directory / MANIFEST_FILE
    if not directory.is_dir():
        raise ManifestError(directory, "manifest directory does not exist")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(path, "missing; expected the manifest's manifest.json") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(path, f"not readable JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != MANIFEST_FORMAT:
        got = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise ManifestError(path, f"format must be {MANIFEST_FORMAT!r}, got {got!r}")
    version = doc.get("schema_version")
    if not isinstance(version, int) or version != MANIFEST_SCHEMA_VERSION:
        newer = isinstance(version, int) and version > MANIFEST_SCHEMA_VERSION
        hint = " (written by a newer paenet; upgrade)" if newer else ""
        raise ManifestError(
            path,
            f"schema_version {version!r} is not supported; this reader reads "
            f"version {MANIFEST_SCHEMA_VERSION}{hint}",
        )
    for key in ("dataset", "attributes", "protocols", "files"):
        if key not in doc:
            raise ManifestError(path, f"missing the {key!r} field")
    ds = doc["dataset"]
    if not isinstance(ds, dict) or ds.get("kind") not in KINDS or not ds.get("name"):
        raise ManifestError(path, f"'dataset' needs a name, a root and a kind in {KINDS}")
    if not isinstance(ds.get("root"), str) or not Path(ds["root"]).is_absolute():
        raise ManifestError(
            path, f"'dataset.root' must be an absolute path, got {ds.get('root')!r}"
        )
    keys = tuple(a.get("key") for a in doc["attributes"])
    if keys != ATTRIBUTE_KEYS:
        raise ManifestError(
            path, f"attribute schema {list(keys)} differs from this code's {list(ATTRIBUTE_KEYS)}"
        )
    return doc


def hash_problems(directory: Path, doc: Mapping[str, Any]) -> list[tuple[Path, str]]:
    """Every listed file that is missing or whose size or SHA-256 differs."""
    problems: list[tuple[Path, str]] = []
    files = doc["files"]
    for required in (IMAGES_PARQUET, IMAGES_CSV, PROTOCOLS_PARQUET, PROTOCOLS_CSV):
        if required not in files:
            problems.append((directory / MANIFEST_FILE, f"'files' does not list {required}"))
    for name, entry in sorted(files.items()):
        path = directory / name
        if path_problem(name) or "/" in name:
            problems.append((directory / MANIFEST_FILE, f"'files' lists a bad name {name!r}"))
            continue
        if not path.is_file():
            problems.append((path, "missing; manifest.json lists it"))
        elif path.stat().st_size != entry.get("bytes"):
            problems.append(
                (
                    path,
                    f"size {path.stat().st_size} bytes, manifest.json records {entry.get('bytes')}",
                )
            )
        elif sha256_file(path) != entry.get("sha256"):
            problems.append(
                (path, "SHA-256 differs from manifest.json (file changed after export)")
            )
    return problems


def _read_table(path: Path, columns: Sequence[str]):
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except FileNotFoundError:
        raise ManifestError(path, "missing") from None
    except Exception as exc:  # pyarrow raises several types for a file that is not parquet
        raise ManifestError(path, f"not a readable parquet file ({exc})") from None
    if tuple(table.column_names) != tuple(columns):
        raise ManifestError(path, f"columns {table.column_names}, expected {list(columns)}")
    return table


def _read_images(directory: Path, kind: str) -> tuple[ManifestImage, ...]:
    path = directory / IMAGES_PARQUET
    table = _read_table(path, IMAGE_COLUMNS)
    n = table.num_rows
    paths = table.column("path").to_pylist()
    pids = table.column("pid").to_numpy()
    cameras = table.column("camera").to_numpy()
    modalities = table.column("modality").to_pylist()
    splits = table.column("split").to_pylist()
    attrs = (
        np.stack([table.column(k).to_numpy().astype(np.int64) for k in ATTRIBUTE_KEYS], axis=1)
        if n
        else np.zeros((0, NUM_ATTRIBUTES), np.int64)
    )
    provs = list(zip(*(table.column(k + PROVENANCE_SUFFIX).to_pylist() for k in ATTRIBUTE_KEYS)))
    bad_values = ~np.isin(attrs, (-1, 0, 1))
    if bad_values.any():
        r, c = map(int, np.argwhere(bad_values)[0])
        raise ManifestError(
            path, f"row {r} ({paths[r]}): {ATTRIBUTE_KEYS[c]} = {attrs[r, c]}, expected 0, 1 or -1"
        )
    allowed_splits = set(SYSU_SPLITS) | {None} if kind == "sysu" else {None}
    modality_of = {m.value: m for m in Modality}
    seen: set[str] = set()
    out: list[ManifestImage] = []
    attr_rows = attrs.tolist()
    for i in range(n):
        p = paths[i]
        problem = path_problem(p) if isinstance(p, str) else "path is not a string"
        if problem:
            raise ManifestError(path, f"row {i}: {p!r}: {problem}")
        if p in seen:
            raise ManifestError(path, f"row {i}: {p} is listed twice")
        seen.add(p)
        if modalities[i] not in modality_of:
            raise ManifestError(
                path, f"row {i} ({p}): modality {modalities[i]!r}, expected visible/infrared"
            )
        if splits[i] not in allowed_splits:
            raise ManifestError(path, f"row {i} ({p}): split {splits[i]!r} is not valid for {kind}")
        prov = provs[i]
        if any(not isinstance(v, str) for v in prov):
            raise ManifestError(path, f"row {i} ({p}): a provenance value is missing")
        sample = Sample(PurePosixPath(p), int(pids[i]), int(cameras[i]), modality_of[modalities[i]])
        out.append(ManifestImage(sample, splits[i], tuple(attr_rows[i]), prov))
    return tuple(out)


def _read_lists(
    directory: Path, known: set[PurePosixPath]
) -> dict[str, dict[str, tuple[PurePosixPath, ...]]]:
    path = directory / PROTOCOLS_PARQUET
    table = _read_table(path, PROTOCOL_COLUMNS)
    grouped: dict[str, dict[str, list[PurePosixPath]]] = {}
    for i, (name, role, p) in enumerate(
        zip(*(table.column(c).to_pylist() for c in PROTOCOL_COLUMNS))
    ):
        if role not in ROLES:
            raise ManifestError(path, f"row {i}: role {role!r}, expected one of {ROLES}")
        rel = PurePosixPath(p)
        if rel not in known:
            raise ManifestError(path, f"row {i}: {p} is not an image of {IMAGES_PARQUET}")
        grouped.setdefault(name, {}).setdefault(role, []).append(rel)
    return {n: {r: tuple(v) for r, v in roles.items()} for n, roles in grouped.items()}
