"""``paenet-export --check DIR [--deep]``: verify a manifest against the disk, listing
every problem.

Checked: ``manifest.json`` (format, schema version, every field's type), the size and
SHA-256 of every listed file, the tables (columns, types, values, paths inside the root),
``images.csv`` equal to ``images.parquet``, the dataset root, and every image file by the
rules of :mod:`paenet.data.images`: present, not empty, inside the dataset root (a symbolic
link out of it is refused), a decodable header within the pixel limit, and its size equal
to the one the manifest recorded. ``deep`` also decodes every image (a truncated JPEG has
a valid header). Both image passes run in parallel with a progress bar.

Policy on a changed image: a size that differs from the recorded one is a problem (the
file was rewritten after the export); a modification time that differs with the size
equal is only a warning (copies with ``cp -r`` or ``rsync`` without ``-t`` change every
mtime, while the content is the same). A schema-1 manifest records no sizes: a warning
says so (export again to record them).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from paenet.data.images import BadImage, outside_root, verify_images
from paenet.data.manifest import (
    IMAGES_CSV,
    IMAGES_PARQUET,
    PROTOCOLS_CSV,
    PROTOCOLS_PARQUET,
    Manifest,
    ManifestError,
    hash_problems,
    load_manifest,
    read_manifest_json,
)

log = logging.getLogger(__name__)

FIRST = 10
MISSING = "file is missing"
""":func:`paenet.data.images.header_problem`'s text for a missing file (summarised in
one line rather than listed one by one)."""


@dataclass(frozen=True)
class CheckReport:
    directory: Path
    problems: tuple[str, ...]
    images: int = 0
    warnings: tuple[str, ...] = ()
    """Worth knowing, not wrong: mtimes changed with sizes equal, no sizes recorded."""

    @property
    def ok(self) -> bool:
        return not self.problems


def check_manifest(
    directory: Path | str,
    root: Path | str | None = None,
    *,
    deep: bool = False,
    progress: bool = True,
    workers: int | None = None,
) -> CheckReport:
    """Every problem of the manifest in ``directory`` (see the module docstring).

    Args:
        root: the dataset root, if it moved since the export.
        deep: decode every image in full, not only its header.
        progress: show a progress bar over the images (stderr).
        workers: threads reading images (default: the CPU count, at most 8).
    """
    directory = Path(directory)
    try:
        doc = read_manifest_json(directory)
    except ManifestError as exc:
        return CheckReport(directory, (str(exc),))
    problems = [f"{path}: {what}" for path, what in hash_problems(directory, doc)]
    try:
        m = load_manifest(directory, verify_hashes=False, root=root)
    except ManifestError as exc:
        return CheckReport(directory, (*problems, str(exc)))
    for parquet, csv in ((IMAGES_PARQUET, IMAGES_CSV), (PROTOCOLS_PARQUET, PROTOCOLS_CSV)):
        problem = _csv_differs(directory / parquet, directory / csv)
        if problem:
            problems.append(f"{directory / csv}: {problem}")
    try:
        m.kind_spec.load_every_list(m)
    except (ManifestError, KeyError, ValueError) as exc:
        problems.append(str(exc))
    workers = workers or min(8, os.cpu_count() or 1)
    bad = verify_images(
        m.root, [im.sample for im in m.images], progress=progress, workers=workers, deep=deep
    )
    missing = [b for b in bad if b.problem == MISSING]
    problems.extend(f"{b.path}: {b.problem}" for b in bad if b.problem != MISSING)
    if missing:
        problems.append(
            f"{m.root}: {len(missing)} of {len(m.images)} images are missing, first: "
            + ", ".join(str(b.path.relative_to(m.root)) for b in missing[:FIRST])
        )
    size_problems, warnings = _changed_files(m, bad)
    problems.extend(size_problems)
    for warning in warnings:
        log.warning("%s", warning)
    return CheckReport(directory, tuple(problems), len(m.images), tuple(warnings))


def _changed_files(m: Manifest, bad: list[BadImage]) -> tuple[list[str], list[str]]:
    """Problems for images whose size differs from the recorded one; a warning for
    those whose mtime alone differs, or for a manifest that records no sizes."""
    if m.image_bytes is None or m.image_mtime_ns is None:
        version = m.metadata["schema_version"]
        return [], [
            f"{m.directory}: the manifest records no image sizes (schema version {version}), "
            "so an image changed since the export cannot be seen; export again to record them"
        ]
    # named already: a missing file, a link out of the root (whose target is not ours)
    skip = {b.path for b in bad if b.problem == MISSING or outside_root(b.path, m.root)}
    n = len(m.images)
    sizes = np.full(n, -1, np.int64)
    mtimes = np.zeros(n, np.int64)
    for i, im in enumerate(m.images):
        path = m.root / im.sample.path
        if path in skip:
            continue
        try:
            st = os.stat(path)
        except OSError:
            continue  # vanished since the image pass
        sizes[i], mtimes[i] = st.st_size, st.st_mtime_ns
    seen = sizes >= 0
    resized = np.flatnonzero(seen & (sizes != m.image_bytes))
    problems = [
        f"{m.root / m.images[i].sample.path}: {sizes[i]} bytes, the manifest records "
        f"{m.image_bytes[i]} (changed after export? export again)"
        for i in resized.tolist()
    ]
    retimed = np.flatnonzero(seen & (sizes == m.image_bytes) & (mtimes != m.image_mtime_ns))
    warnings = []
    if len(retimed):
        first = ", ".join(str(m.images[i].sample.path) for i in retimed[:FIRST].tolist())
        warnings.append(
            f"{m.root}: {len(retimed)} of {n} images have another modification time than "
            f"at export, same size (copied without keeping times, e.g. cp -r? --deep decodes "
            f"them), first: {first}"
        )
    return problems, warnings


def _csv_differs(parquet: Path, csv: Path) -> str | None:
    import pandas as pd  # only here: importing pandas costs the export command a second

    try:
        a = pd.read_parquet(parquet)
        b = pd.read_csv(csv, dtype=str, keep_default_na=False)
    except Exception as exc:  # pandas raises many types for a malformed file
        return f"cannot compare with {parquet.name} ({exc})"
    a = a.astype(object).where(a.notna(), "").astype(str)
    if list(a.columns) != list(b.columns):
        return f"columns {list(b.columns)} differ from {parquet.name}'s {list(a.columns)}"
    if len(a) != len(b):
        return f"{len(b)} rows, {parquet.name} has {len(a)}"
    diff = (a.to_numpy() != b.to_numpy()).any(axis=1)
    if diff.any():
        row = int(diff.argmax())
        return f"row {row} differs from {parquet.name} ({dict(b.iloc[row])})"
    return None
