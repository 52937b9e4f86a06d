"""The manifest format's names and records, shared by its reader, its table reader and its
writer: file and column names, schema versions, :class:`ManifestError` and
:class:`ManifestImage` (``docs/manifest.md`` documents each).

It imports no other manifest module, so :mod:`paenet.data.manifest` (the loader) can
import :mod:`paenet.data.manifest_tables` (the table reader) without a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from paenet.attributes import ATTRIBUTE_KEYS
from paenet.data.records import Sample

MANIFEST_FORMAT = "paenet-manifest"
MANIFEST_SCHEMA_VERSION = 2
"""Written by this version. 2 added the images' ``bytes`` and ``mtime_ns`` columns."""
READABLE_SCHEMA_VERSIONS: tuple[int, ...] = (1, 2)
MANIFEST_FILE = "manifest.json"
IMAGES_PARQUET = "images.parquet"
IMAGES_CSV = "images.csv"
PROTOCOLS_PARQUET = "protocols.parquet"
PROTOCOLS_CSV = "protocols.csv"
PROVENANCE_SUFFIX = "_provenance"
IMAGE_COLUMNS_V1: tuple[str, ...] = (
    "path",
    "pid",
    "camera",
    "modality",
    "split",
    *ATTRIBUTE_KEYS,
    *(k + PROVENANCE_SUFFIX for k in ATTRIBUTE_KEYS),
)
"""Columns of ``images.*`` in schema version 1."""
IMAGE_FILE_COLUMNS: tuple[str, ...] = ("bytes", "mtime_ns")
"""Since schema version 2: each image file's size in bytes and its modification time in
integer nanoseconds (``st_mtime_ns``: exact, where float seconds would round) when the
manifest was written."""
IMAGE_COLUMNS: tuple[str, ...] = (*IMAGE_COLUMNS_V1, *IMAGE_FILE_COLUMNS)
"""Columns of ``images.parquet`` / ``images.csv``, in file order (schema version 2)."""


def image_columns(schema_version: int) -> tuple[str, ...]:
    """The columns of ``images.*`` in a manifest of ``schema_version``."""
    return IMAGE_COLUMNS_V1 if schema_version < 2 else IMAGE_COLUMNS


PROTOCOL_COLUMNS: tuple[str, ...] = ("list", "path")
"""Columns of ``protocols.parquet`` / ``protocols.csv``: one row per (list, image), in list
order. A protocol names its query and gallery lists; identical lists are stored once."""


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


def regdb_train_list(trial: int) -> str:
    """Name of RegDB trial ``trial``'s training list in ``protocols.*``."""
    return f"regdb/trial={trial}/train"
