"""``paenet-export --check DIR``: verify a manifest against the disk, listing every problem.

Checked: ``manifest.json`` (format, schema version), the size and SHA-256 of every
listed file, the tables (columns, values, paths inside the root), ``images.csv``
equal to ``images.parquet``, the dataset root, and that every image file exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from paenet.data.manifest import (
    IMAGES_CSV,
    IMAGES_PARQUET,
    PROTOCOLS_CSV,
    PROTOCOLS_PARQUET,
    ManifestError,
    hash_problems,
    load_manifest,
    read_manifest_json,
)

FIRST = 10


@dataclass(frozen=True)
class CheckReport:
    directory: Path
    problems: tuple[str, ...]
    images: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def check_manifest(directory: Path | str, root: Path | str | None = None) -> CheckReport:
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
        m.protocols(trial=1) if m.kind == "regdb" else m.protocols()
    except (ManifestError, KeyError) as exc:
        problems.append(str(exc))
    missing = [im.sample.path for im in m.images if not (m.root / im.sample.path).is_file()]
    if missing:
        problems.append(
            f"{m.root}: {len(missing)} of {len(m.images)} images are missing, first: "
            + ", ".join(map(str, missing[:FIRST]))
        )
    return CheckReport(directory, tuple(problems), len(m.images))


def _csv_differs(parquet: Path, csv: Path) -> str | None:
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
