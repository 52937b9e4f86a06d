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

Validation on load: format name and schema version (1 and 2 are read), the type of
every field of ``manifest.json`` the loader reads, the SHA-256 of every listed file, the
table columns, their types and values (nothing is coerced: NaN, 256 or camera 9 are
refused naming the row and the column), every image path relative and inside the dataset
root, and the dataset root existing. Each failure raises :class:`ManifestError` naming the
file and what was expected. Image files themselves are not opened (``paenet-export
--check`` does that).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any

import numpy as np

from paenet.attributes import ATTRIBUTE_KEYS, NUM_ATTRIBUTES
from paenet.data.kind_spec import DatasetKindSpec
from paenet.data.kinds import KINDS, kind_spec
from paenet.data.manifest_schema import (
    IMAGE_COLUMNS,
    IMAGE_COLUMNS_V1,
    IMAGE_FILE_COLUMNS,
    IMAGES_CSV,
    IMAGES_PARQUET,
    MANIFEST_FILE,
    MANIFEST_FORMAT,
    MANIFEST_SCHEMA_VERSION,
    PROTOCOL_COLUMNS,
    PROTOCOLS_CSV,
    PROTOCOLS_PARQUET,
    PROVENANCE_SUFFIX,
    READABLE_SCHEMA_VERSIONS,
    ManifestError,
    ManifestImage,
    image_columns,
    path_problem,
)
from paenet.data.manifest_tables import read_images, read_lists
from paenet.data.protocol import SkipRule, TestProtocol
from paenet.data.records import Sample

__all__ = [
    "IMAGES_CSV",
    "IMAGES_PARQUET",
    "IMAGE_COLUMNS",
    "IMAGE_COLUMNS_V1",
    "IMAGE_FILE_COLUMNS",
    "MANIFEST_FILE",
    "MANIFEST_FORMAT",
    "MANIFEST_SCHEMA_VERSION",
    "PROTOCOLS_CSV",
    "PROTOCOLS_PARQUET",
    "PROTOCOL_COLUMNS",
    "PROVENANCE_SUFFIX",
    "READABLE_SCHEMA_VERSIONS",
    "Manifest",
    "ManifestError",
    "ManifestImage",
    "TrainingSet",
    "content_hash",
    "hash_problems",
    "image_columns",
    "load_manifest",
    "path_problem",
    "read_manifest_json",
    "sha256_file",
]
"""The format's names (defined in :mod:`paenet.data.manifest_schema`) are read from here
too: this module is the manifest's public face."""


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
    attributes: np.ndarray = field(repr=False, compare=False)
    """int8 ``[N, 8]`` (read-only) in the order of :attr:`images`: every image's attribute
    values, 0, 1 or -1 (unknown), as the table holds them (each record's
    ``attributes`` tuple holds the same row)."""
    image_bytes: np.ndarray | None = field(default=None, repr=False, compare=False)
    """int64 ``[N]`` in the order of :attr:`images`: each file's size when the manifest
    was written; None for a schema-1 manifest (recorded no sizes)."""
    image_mtime_ns: np.ndarray | None = field(default=None, repr=False, compare=False)
    """int64 ``[N]``: each file's ``st_mtime_ns`` when written; None like ``image_bytes``."""
    _paths: tuple[str, ...] = field(default=(), repr=False, compare=False)
    """``str`` of every image path, in row order (read with the table; saves rebuilding it)."""

    @property
    def kind_spec(self) -> DatasetKindSpec:
        """The object that answers this manifest's kind-specific questions
        (:mod:`paenet.data.kinds`)."""
        return kind_spec(self.kind)

    @property
    def synthetic(self) -> bool:
        """The dataset root was a synthetic stand-in when the manifest was written
        (manifests written before this field: ``False``)."""
        return bool(self.metadata["dataset"].get("synthetic", False))

    @cached_property
    def _row_of(self) -> Mapping[str, int]:
        paths = self._paths or tuple(str(im.sample.path) for im in self.images)
        return MappingProxyType({p: i for i, p in enumerate(paths)})

    def image(self, path: PurePosixPath | str) -> ManifestImage:
        return self.images[self.row(path)]

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
        rows = [self.row(s.path) for s in samples]
        return self.attributes[np.asarray(rows, dtype=np.intp)].reshape(-1, NUM_ATTRIBUTES)

    def row(self, path: PurePosixPath | str) -> int:
        """The row of the image at ``path`` in :attr:`images` and :attr:`attributes`."""
        try:
            return self._row_of[str(path)]
        except KeyError:
            raise KeyError(f"{path} is not an image of manifest {self.directory}") from None

    def training_set(
        self, splits: Sequence[str] = ("train", "val"), trial: int | None = None
    ) -> TrainingSet:
        """The training set the kind selects (:meth:`DatasetKindSpec.training_rows`):
        SYSU: the images of the named splits (default train + val, the field's
        convention). RegDB: trial ``trial`` (1..10, required)'s train lists."""
        rows = self.kind_spec.training_rows(self, splits, trial)
        images = self.images
        rows.sort(
            key=lambda i: (images[i].sample.pid, images[i].sample.camera, images[i].sample.path)
        )
        chosen = tuple(images[i] for i in rows)
        pids = tuple(sorted({im.sample.pid for im in chosen}))
        index = {pid: i for i, pid in enumerate(pids)}
        labels = np.fromiter((index[im.sample.pid] for im in chosen), np.int64, len(chosen))
        attrs = self.attributes[np.asarray(rows, dtype=np.intp)].reshape(-1, NUM_ATTRIBUTES)
        return TrainingSet(chosen, labels, pids, attrs)

    def protocols(self, trial: int | None = None) -> list[TestProtocol]:
        """SYSU: the 40 settings (or the 4 of ``trial`` 0..9); RegDB: both directions of
        ``trial`` (1..10, required). Query and gallery keep the exported order."""
        trial = self.kind_spec.protocol_trial(trial)
        out: list[TestProtocol] = []
        for entry in self.metadata["protocols"]:
            params = entry["params"]
            if trial is not None and params.get("trial") != trial:
                continue
            out.append(
                TestProtocol(
                    dataset=self.kind,
                    query=self._samples(entry["query"]),
                    gallery=self._samples(entry["gallery"]),
                    skip_rules=tuple(SkipRule(**r) for r in entry["skip_rules"]),
                    unique_identity_cmc=bool(entry["unique_identity_cmc"]),
                    params=MappingProxyType(dict(params)),
                )
            )
        return out

    @cached_property
    def _lists(self) -> Mapping[str, tuple[int, ...]]:
        """Protocol and train lists (name -> image rows), read on first use."""
        return read_lists(self.directory, self._row_of)

    @cached_property
    def _sample_lists(self) -> dict[str, tuple[Sample, ...]]:
        return {}

    def _samples(self, name: str) -> tuple[Sample, ...]:
        """The samples of a list, built once (all SYSU settings share their query list)."""
        if name not in self._sample_lists:
            self._sample_lists[name] = tuple(self.images[i].sample for i in self.list_rows(name))
        return self._sample_lists[name]

    def list_rows(self, name: str) -> tuple[int, ...]:
        """The rows of :attr:`images` in the list ``name`` of ``protocols.*``, in list order."""
        try:
            return self._lists[name]
        except KeyError:
            raise ManifestError(
                self.directory / PROTOCOLS_PARQUET, f"no rows for the list {name!r}"
            ) from None


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
    table = read_images(directory, ds["kind"], doc["schema_version"])
    return Manifest(
        directory=directory,
        dataset=ds["name"],
        kind=ds["kind"],
        root=root_path.resolve(),
        attribute_keys=tuple(a["key"] for a in doc["attributes"]),
        images=table.images,
        content_hash=content_hash(doc),
        metadata=MappingProxyType(doc),
        attributes=table.attributes,
        image_bytes=table.bytes,
        image_mtime_ns=table.mtime_ns,
        _paths=table.paths,
    )


def read_manifest_json(directory: Path) -> dict[str, Any]:
    """Parse ``manifest.json`` and check the type of every field the loader reads.

    Checked: ``format``, ``schema_version``, ``dataset`` (``name``, ``kind``, ``root``,
    ``synthetic``), ``attributes[].key``, ``protocols[]`` (``params``, ``query``,
    ``gallery``, ``skip_rules[]``, ``unique_identity_cmc``) and ``files`` (name ->
    ``{sha256, bytes}``). The first wrong field raises :class:`ManifestError` naming it
    and what was expected."""
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
    if type(version) is not int or version not in READABLE_SCHEMA_VERSIONS:
        newer = type(version) is int and version > MANIFEST_SCHEMA_VERSION
        hint = " (written by a newer paenet; upgrade)" if newer else ""
        readable = ", ".join(map(str, READABLE_SCHEMA_VERSIONS))
        raise ManifestError(
            path,
            f"schema_version {version!r} is not supported; this reader reads "
            f"versions {readable}{hint}",
        )
    for key in ("dataset", "attributes", "protocols", "files"):
        if key not in doc:
            raise ManifestError(path, f"missing the {key!r} field")
    _check_dataset(path, doc["dataset"])
    attributes = _expect_list(path, "attributes", doc["attributes"])
    for i, a in enumerate(attributes):
        _expect_str(path, f"attributes[{i}].key", _expect_dict(path, f"attributes[{i}]", a), "key")
    keys = tuple(a["key"] for a in attributes)
    if keys != ATTRIBUTE_KEYS:
        raise ManifestError(
            path, f"attribute schema {list(keys)} differs from this code's {list(ATTRIBUTE_KEYS)}"
        )
    for i, entry in enumerate(_expect_list(path, "protocols", doc["protocols"])):
        _check_protocol(path, f"protocols[{i}]", entry)
    for name, entry in _expect_dict(path, "files", doc["files"]).items():
        where = f"files[{name}]"
        entry = _expect_dict(path, where, entry)
        sha = entry.get("sha256")
        if not isinstance(sha, str) or len(sha) != 64:
            raise ManifestError(
                path, f"'{where}.sha256' must be a SHA-256 (64 hex digits), got {sha!r}"
            )
        if type(entry.get("bytes")) is not int or entry["bytes"] < 0:
            raise ManifestError(
                path, f"'{where}.bytes' must be a size in bytes (an integer), "
                f"got {entry.get('bytes')!r}",
            )  # fmt: skip
    return doc


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false"}
    if value is None:
        return "null"
    return names.get(type(value), type(value).__name__)


def _expect_dict(path: Path, where: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ManifestError(path, f"{where!r} must be an object, got {_json_type(value)}")
    return value


def _expect_list(path: Path, where: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ManifestError(path, f"{where!r} must be a list, got {_json_type(value)}")
    return value


def _expect_str(path: Path, where: str, parent: Mapping[str, Any], key: str) -> str:
    value = parent.get(key)
    if not isinstance(value, str):
        raise ManifestError(path, f"{where!r} must be a string, got {value!r}")
    return value


def _check_dataset(path: Path, ds: Any) -> None:
    ds = _expect_dict(path, "dataset", ds)
    name = ds.get("name")
    if not isinstance(name, str) or not name:
        raise ManifestError(path, f"'dataset.name' must be a non-empty string, got {name!r}")
    if ds.get("kind") not in KINDS:
        raise ManifestError(path, f"'dataset.kind' must be one of {KINDS}, got {ds.get('kind')!r}")
    if not isinstance(ds.get("root"), str) or not Path(ds["root"]).is_absolute():
        raise ManifestError(
            path, f"'dataset.root' must be an absolute path, got {ds.get('root')!r}"
        )
    if not isinstance(ds.get("synthetic", False), bool):
        raise ManifestError(
            path, f"'dataset.synthetic' must be true or false, got {ds.get('synthetic')!r}"
        )


_SKIP_RULE_FIELDS: Mapping[str, type] = MappingProxyType(
    {"query_camera": int, "gallery_camera": int, "reason": str}
)


def _check_protocol(path: Path, where: str, entry: Any) -> None:
    """One ``protocols[]`` entry: the fields :meth:`Manifest.protocols` builds a
    :class:`TestProtocol` from."""
    entry = _expect_dict(path, where, entry)
    params = _expect_dict(path, f"{where}.params", entry.get("params"))
    for key, value in params.items():
        if not isinstance(value, str | int | float):
            raise ManifestError(
                path,
                f"'{where}.params.{key}' must be a string, number or true/false, "
                f"got {_json_type(value)}",
            )
    _expect_str(path, f"{where}.query", entry, "query")
    _expect_str(path, f"{where}.gallery", entry, "gallery")
    rules = _expect_list(path, f"{where}.skip_rules", entry.get("skip_rules"))
    for j, rule in enumerate(rules):
        at = f"{where}.skip_rules[{j}]"
        rule = _expect_dict(path, at, rule)
        if set(rule) != set(_SKIP_RULE_FIELDS):
            raise ManifestError(
                path, f"{at!r} must have the keys {sorted(_SKIP_RULE_FIELDS)}, got {sorted(rule)}"
            )
        for key, kind in _SKIP_RULE_FIELDS.items():
            if type(rule[key]) is not kind:
                what = "an integer" if kind is int else "a string"
                raise ManifestError(path, f"'{at}.{key}' must be {what}, got {rule[key]!r}")
    if not isinstance(entry.get("unique_identity_cmc"), bool):
        raise ManifestError(
            path,
            f"'{where}.unique_identity_cmc' must be true or false, "
            f"got {entry.get('unique_identity_cmc')!r}",
        )


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
