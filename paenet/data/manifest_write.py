"""Writing a manifest directory (the format read by :mod:`paenet.data.manifest`).

:func:`write_manifest` takes typed records (images with their labels, test protocols,
RegDB train lists) and writes ``manifest.json``, ``images.{parquet,csv}`` and
``protocols.{parquet,csv}`` into a temporary directory beside the target, then swaps
it into place, so an interrupted write leaves the previous manifest intact. The
bytes are a pure function of the inputs, except ``provenance.created_at``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import platform
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

import paenet
from paenet.attributes import ATTRIBUTE_KEYS, ATTRIBUTES, NUM_ATTRIBUTES
from paenet.data.kinds import KINDS
from paenet.data.manifest import sha256_file
from paenet.data.manifest_schema import (
    IMAGE_COLUMNS,
    IMAGES_CSV,
    IMAGES_PARQUET,
    MANIFEST_FILE,
    MANIFEST_FORMAT,
    MANIFEST_SCHEMA_VERSION,
    PROTOCOL_COLUMNS,
    PROTOCOLS_CSV,
    PROTOCOLS_PARQUET,
    PROVENANCE_SUFFIX,
    ManifestError,
    ManifestImage,
    path_problem,
    regdb_train_list,
)
from paenet.data.outdir import MANIFEST, atomic_directory
from paenet.data.paths import SYNTHETIC_MARKER
from paenet.data.protocol import TestProtocol
from paenet.data.records import Sample

log = logging.getLogger(__name__)


def tool_version() -> str:
    return paenet.__version__


def write_manifest(
    directory: Path | str,
    *,
    dataset: str,
    kind: str,
    root: Path | str,
    images: Sequence[ManifestImage],
    protocols: Sequence[TestProtocol] = (),
    train_lists: Mapping[int, Sequence[Sample]] | None = None,
    labels: Mapping[str, Any] | None = None,
    provenance: Mapping[str, Any] | None = None,
    extra_files: Mapping[str, bytes] | None = None,
    created_at: datetime | None = None,
) -> Path:
    """Write a manifest directory atomically and return its path.

    Args:
        directory: the target; created, or replaced as a whole if it is empty or holds a
            manifest; another folder, or one inside ``root``, raises
            :class:`~paenet.data.outdir.OutputFolderError` (``paenet.data.outdir``).
        dataset, kind, root: the store name, ``sysu``/``regdb`` and the dataset root.
        images: every image with its labels (any order; written sorted by pid, camera, path).
        protocols: test protocols (names must be unique); their images must be in ``images``.
        train_lists: RegDB trial -> that trial's training samples (in ``images``).
        labels: how the labels were chosen (sources, decisions, unknown policy …).
        provenance: extra facts about the export (command, database URL without password …).
        extra_files: more files to write beside the tables (name -> bytes), hashed too.
        created_at: the creation time (default: now, UTC).
    """
    directory = Path(directory)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    root = Path(root).resolve()
    ordered = sorted(images, key=lambda im: (im.sample.pid, im.sample.camera, im.sample.path))
    attrs = np.array([im.attributes for im in ordered], dtype=np.int64).reshape(-1, NUM_ATTRIBUTES)
    _check_images(ordered, attrs)
    sizes, mtimes = _image_files(root, ordered)
    known = {str(im.sample.path) for im in ordered}
    lists, list_names = _list_rows(protocols, train_lists or {}, known)
    doc: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "schema_version": MANIFEST_SCHEMA_VERSION,
        "dataset": {
            "name": dataset,
            "kind": kind,
            "root": str(root),
            "synthetic": (root / SYNTHETIC_MARKER).is_file(),
        },
        "attributes": [
            {
                "index": a.index,
                "key": a.key,
                "title": a.title,
                "values": {"0": a.value0, "1": a.value1, "-1": "unknown"},
            }
            for a in ATTRIBUTES
        ],
        "labels": dict(labels or {}),
        "counts": counts(ordered),
        "protocols": [_protocol_entry(p, *list_names[p.name]) for p in protocols],
        "train_lists": [
            {"name": regdb_train_list(t), "trial": t, **_sizes(samples)}
            for t, samples in sorted((train_lists or {}).items())
        ],
        "tables": {
            "images": {
                "files": [IMAGES_PARQUET, IMAGES_CSV],
                "rows": len(ordered),
                "columns": list(IMAGE_COLUMNS),
            },
            "protocols": {
                "files": [PROTOCOLS_PARQUET, PROTOCOLS_CSV],
                "rows": len(lists),
                "columns": list(PROTOCOL_COLUMNS),
            },
        },
        "provenance": {
            "tool": paenet.DISTRIBUTION,
            "version": tool_version(),
            "versions": _library_versions(),
            **dict(provenance or {}),
            "created_at": (created_at or datetime.now(UTC)).isoformat(timespec="seconds"),
        },
        "files": {},
    }
    with atomic_directory(directory, MANIFEST, outside=root) as tmp:
        _write_images(tmp, ordered, attrs.astype(np.int8), sizes, mtimes)
        _write_lists(tmp, lists)
        for name, data in sorted((extra_files or {}).items()):
            if path_problem(name) or "/" in name or name == MANIFEST_FILE:
                raise ValueError(f"extra file name {name!r} must be a plain file name")
            (tmp / name).write_bytes(data)
        doc["files"] = {
            p.name: {"sha256": sha256_file(p), "bytes": p.stat().st_size}
            for p in sorted(tmp.iterdir())
        }
        (tmp / MANIFEST_FILE).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    log.info("wrote manifest %s (%d images, %d protocols)", directory, len(ordered), len(protocols))
    return directory


def counts(images: Sequence[ManifestImage]) -> dict[str, Any]:
    """Images and identities per split, camera and modality; unknowns per attribute and split."""

    def group(key) -> dict[str, dict[str, int]]:
        imgs: Counter[str] = Counter()
        ids: dict[str, set[int]] = {}
        for im in images:
            k = key(im)
            imgs[k] += 1
            ids.setdefault(k, set()).add(im.sample.pid)
        return {k: {"images": imgs[k], "identities": len(ids[k])} for k in sorted(imgs)}

    unknown: dict[str, dict[str, int]] = {}
    for im in images:
        if -1 not in im.attributes:
            continue
        split = im.split or "all"
        for key, v in zip(ATTRIBUTE_KEYS, im.attributes):
            if v == -1:
                per = unknown.setdefault(key, {})
                per[split] = per.get(split, 0) + 1
    return {
        "images": len(images),
        "identities": len({im.sample.pid for im in images}),
        "per_split": group(lambda im: im.split or "none"),
        "per_camera": group(lambda im: str(im.sample.camera)),
        "per_modality": group(lambda im: im.sample.modality.value),
        "unknown_images": {
            k: dict(sorted(unknown[k].items())) for k in ATTRIBUTE_KEYS if k in unknown
        },
    }


def _sizes(samples: Sequence[Sample]) -> dict[str, int]:
    return {"images": len(samples), "identities": len({s.pid for s in samples})}


def _protocol_entry(p: TestProtocol, query: str, gallery: str) -> dict[str, Any]:
    return {
        "name": p.name,
        "params": dict(p.params),
        "query": query,
        "gallery": gallery,
        "skip_rules": [asdict(r) for r in p.skip_rules],
        "unique_identity_cmc": p.unique_identity_cmc,
        "sizes": p.sizes(),
    }


def _check_images(images: Sequence[ManifestImage], attrs: np.ndarray) -> None:
    seen: set[str] = set()
    for im in images:
        p = str(im.sample.path)
        if p in seen:
            raise ValueError(f"image {p} is listed twice")
        seen.add(p)
        if len(im.provenance) != NUM_ATTRIBUTES:
            raise ValueError(f"image {p}: expected {NUM_ATTRIBUTES} provenance values")
    bad = ~np.isin(attrs, (-1, 0, 1))
    if bad.any():
        im = images[int(np.argwhere(bad)[0][0])]
        raise ValueError(f"image {im.sample.path}: values must be 0, 1 or -1, got {im.attributes}")
    for p in seen:
        problem = path_problem(p)
        if problem:
            raise ManifestError(p, problem)


def _list_rows(
    protocols: Sequence[TestProtocol], train_lists: Mapping[int, Sequence[Sample]], known: set
) -> tuple[list[tuple[str, str]], dict[str, tuple[str, str]]]:
    """Rows ``(list, path)`` with identical lists stored once (named after their first
    use, ``<protocol>/query`` …), and protocol name -> (query list, gallery list)."""
    names = [p.name for p in protocols]
    if len(set(names)) != len(names):
        raise ValueError(f"protocol names must be unique: {names}")
    by_content: dict[tuple[int, ...], str] = {}  # lists of the very same Sample objects
    rows: list[tuple[str, str]] = []

    def add(name: str, samples: Sequence[Sample]) -> str:
        key = tuple(map(id, samples))
        if key in by_content:
            return by_content[key]
        paths = [str(s.path) for s in samples]
        for p in paths:
            if p not in known:
                raise ValueError(f"{name}: {p} is not among the manifest's images")
        by_content[key] = name
        rows.extend((name, p) for p in paths)
        return name

    refs = {
        p.name: (add(f"{p.name}/query", p.query), add(f"{p.name}/gallery", p.gallery))
        for p in protocols
    }
    for t, samples in sorted(train_lists.items()):
        by_content.pop(tuple(map(id, samples)), None)  # a train list always has its own name
        add(regdb_train_list(t), samples)
    return rows, refs


def _image_files(root: Path, images: Sequence[ManifestImage]) -> tuple[np.ndarray, np.ndarray]:
    """int64 size in bytes and ``st_mtime_ns`` of every image file (links followed), so
    ``paenet-export --check`` can name an image changed after the export. Nanoseconds,
    not float seconds: exact and comparable with ``==``, where float seconds round."""
    sizes = np.empty(len(images), np.int64)
    mtimes = np.empty(len(images), np.int64)
    for i, im in enumerate(images):
        try:
            st = os.stat(root / im.sample.path)
        except FileNotFoundError:
            raise ManifestError(
                root / im.sample.path, "image is missing (a manifest lists only files on disk)"
            ) from None
        sizes[i] = st.st_size
        mtimes[i] = st.st_mtime_ns
    return sizes, mtimes


def _write_images(
    directory: Path,
    images: Sequence[ManifestImage],
    attrs: np.ndarray,
    sizes: np.ndarray,
    mtimes: np.ndarray,
) -> None:
    import pyarrow as pa

    columns: dict[str, pa.Array] = {
        "path": pa.array([str(im.sample.path) for im in images], pa.string()),
        "pid": pa.array([im.sample.pid for im in images], pa.int32()),
        "camera": pa.array([im.sample.camera for im in images], pa.int8()),
        "modality": pa.array([im.sample.modality.value for im in images], pa.string()),
        "split": pa.array([im.split for im in images], pa.string()),
    }
    for i, key in enumerate(ATTRIBUTE_KEYS):
        columns[key] = pa.array(attrs[:, i], pa.int8())
    for i, key in enumerate(ATTRIBUTE_KEYS):
        columns[key + PROVENANCE_SUFFIX] = pa.array(
            [im.provenance[i] for im in images], pa.string()
        )
    columns["bytes"] = pa.array(sizes, pa.int64())
    columns["mtime_ns"] = pa.array(mtimes, pa.int64())
    assert tuple(columns) == IMAGE_COLUMNS
    _write_table(pa.table(columns), directory / IMAGES_PARQUET, directory / IMAGES_CSV)


def _write_lists(directory: Path, rows: Sequence[tuple[str, str]]) -> None:
    import pyarrow as pa

    cols = list(zip(*rows)) if rows else [(), ()]
    table = pa.table({c: pa.array(list(v), pa.string()) for c, v in zip(PROTOCOL_COLUMNS, cols)})
    _write_table(table, directory / PROTOCOLS_PARQUET, directory / PROTOCOLS_CSV)


def _write_table(table, parquet_path: Path, csv_path: Path) -> None:
    """Parquet (zstd) and CSV with the same content; CSV: a bare header, values quoted
    only where needed, empty for a missing value, ``\\n`` line ends."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    pq.write_table(table, parquet_path, compression="zstd")
    with csv_path.open("wb") as f:
        f.write((",".join(table.column_names) + "\n").encode("utf-8"))
        try:  # fast path: nothing needs quoting
            pacsv.write_csv(
                table, f, pacsv.WriteOptions(include_header=False, quoting_style="none")
            )
            return
        except pa.ArrowInvalid:
            pass
    table.to_pandas().to_csv(csv_path, index=False, lineterminator="\n")


def _library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for lib in ("numpy", "pandas", "pyarrow"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[lib] = metadata.version(lib)
    return out
