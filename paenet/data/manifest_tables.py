"""Reading the tables of a manifest (``images.parquet``, ``protocols.parquet``) into records.

Every check is a vectorised pass over the Arrow columns before the one Python loop that
builds the records; Arrow's ``to_numpy`` is avoided because it imports pandas.
"""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath

import numpy as np

from paenet.attributes import ATTRIBUTE_KEYS, NUM_ATTRIBUTES
from paenet.data.manifest import (
    IMAGE_COLUMNS,
    IMAGES_PARQUET,
    PROTOCOL_COLUMNS,
    PROTOCOLS_PARQUET,
    PROVENANCE_SUFFIX,
    SYSU_SPLITS,
    ManifestError,
    ManifestImage,
)
from paenet.data.records import Modality, Sample


def _read_table(path: Path, columns: Sequence[str]):
    import pyarrow.parquet as pq

    try:
        table = pq.ParquetFile(path).read()
    except FileNotFoundError:
        raise ManifestError(path, "missing") from None
    except Exception as exc:  # pyarrow raises several types for a file that is not parquet
        raise ManifestError(path, f"not a readable parquet file ({exc})") from None
    if tuple(table.column_names) != tuple(columns):
        raise ManifestError(path, f"columns {table.column_names}, expected {list(columns)}")
    return table


_BAD_PATH = r"(^$|^/|\\|^[A-Za-z]:|(^|/)\.{1,2}(/|$)|//|/$)"
"""Empty, absolute, backslash, drive letter, '.' or '..' part, empty part."""


def _first_bad(path: Path, table, mask, what: str) -> None:
    import pyarrow.compute as pc

    if pc.any(mask).as_py():
        i = int(pc.index(mask, True).as_py())
        p = table.column("path")[i].as_py()
        raise ManifestError(path, f"row {i}: {p!r}: {what}")


def read_images(directory: Path, kind: str) -> tuple[tuple[ManifestImage, ...], tuple[str, ...]]:
    """The images table as records; every check is one vectorised pass before the loop."""
    import pyarrow.compute as pc

    path = directory / IMAGES_PARQUET
    table = _read_table(path, IMAGE_COLUMNS)
    paths = table.column("path")
    if paths.null_count:
        _first_bad(path, table, pc.is_null(paths), "path is missing")
    _first_bad(
        path,
        table,
        pc.match_substring_regex(paths, _BAD_PATH),
        "path escapes the dataset root or is not relative and '/'-separated "
        "(expected e.g. 'cam1/0001/0001.jpg')",
    )
    if pc.count_distinct(paths).as_py() != table.num_rows:
        counts = pc.value_counts(paths)
        twice = counts.filter(pc.greater(counts.field("counts"), 1))[0]["values"].as_py()
        raise ManifestError(path, f"{twice} is listed twice")
    modality_of = {m.value: m for m in Modality}
    modalities = table.column("modality").to_pylist()
    splits = table.column("split").to_pylist()
    allowed: set[str | None] = {*SYSU_SPLITS, None} if kind == "sysu" else {None}
    for column, have, ok in (
        ("modality", modalities, set(modality_of)),
        ("split", splits, allowed),
    ):
        wrong = set(have) - ok
        if wrong:
            i = have.index(next(iter(wrong)))
            raise ManifestError(
                path, f"row {i} ({paths[i].as_py()}): {column} {have[i]!r} is not valid for {kind}"
            )
    if any(table.column(k).null_count for k in ATTRIBUTE_KEYS):
        raise ManifestError(path, "an attribute value is missing (expected 0, 1 or -1)")
    n = table.num_rows
    attrs = np.zeros((n, NUM_ATTRIBUTES), np.int8)
    for c, k in enumerate(ATTRIBUTE_KEYS):
        attrs[:, c] = _ints(table.column(k))
    bad_values = ~np.isin(attrs, (-1, 0, 1))
    if bad_values.any():
        r, c = map(int, np.argwhere(bad_values)[0])
        raise ManifestError(
            path,
            f"row {r} ({paths[r].as_py()}): {ATTRIBUTE_KEYS[c]} = {attrs[r, c]}, "
            "expected 0, 1 or -1",
        )
    values = _shared_rows(attrs + 1, lambda row: tuple(v - 1 for v in row))
    prov_cols = [table.column(k + PROVENANCE_SUFFIX) for k in ATTRIBUTE_KEYS]
    if any(c.null_count for c in prov_cols):
        raise ManifestError(path, "a provenance value is missing")
    codes = np.zeros((n, NUM_ATTRIBUTES), np.int64)
    names: list[list[str]] = []
    for c, col in enumerate(prov_cols):
        enc = col.combine_chunks().dictionary_encode()
        codes[:, c] = _ints(enc.indices)
        names.append(enc.dictionary.to_pylist())
    provs = _shared_rows(codes, lambda row: tuple(names[c][i] for c, i in enumerate(row)))
    mods = [modality_of[m] for m in modalities]
    texts = tuple(paths.to_pylist())
    with _no_gc():  # 45k acyclic records: the cyclic collector would rescan the heap often
        images = tuple(
            ManifestImage(Sample(_posix_path(p), pid, cam, mod), split, v, prov)
            for p, pid, cam, mod, split, v, prov in zip(
                texts,
                table.column("pid").to_pylist(),
                table.column("camera").to_pylist(),
                mods,
                splits,
                values,
                provs,
            )
        )
    return images, texts


def _parsed_path_311(text: str) -> PurePosixPath:
    """CPython 3.11 only: build the path from its parts without re-parsing (the text was
    validated above: relative, '/'-separated, no empty, '.' or '..' part). Constructing
    45k paths is most of ``load_manifest``; this is about 3x faster."""
    return PurePosixPath._from_parsed_parts("", "", text.split("/"))  # type: ignore[attr-defined]


def _pick_path_builder():
    if sys.version_info[:2] == (3, 11) and hasattr(PurePosixPath, "_from_parsed_parts"):
        try:
            probe = _parsed_path_311("cam1/0001/0001.jpg")
            reference = PurePosixPath("cam1/0001/0001.jpg")
            if (probe == reference and hash(probe) == hash(reference) and str(probe) == str(reference)
                    and probe.parts == reference.parts and probe.name == reference.name):  # fmt: skip
                return _parsed_path_311
        except Exception:  # any change of the private API: use the public constructor
            pass
    return PurePosixPath


_posix_path = _pick_path_builder()


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _ints(column) -> np.ndarray:
    """A null-free integer Arrow column as numpy, read off its data buffer (Arrow's own
    ``to_numpy`` imports pandas, which costs a fresh process about a second)."""
    arr = column.combine_chunks() if hasattr(column, "combine_chunks") else column
    dtype = np.dtype(arr.type.to_pandas_dtype())
    return np.frombuffer(
        arr.buffers()[1], dtype=dtype, count=len(arr), offset=arr.offset * dtype.itemsize
    )


def _shared_rows(rows: np.ndarray, make) -> list:
    """One Python tuple per distinct row of the non-negative int ``rows`` (``make(row)``),
    shared by equal rows; rows are packed into one int64 key (mixed radix) when they fit."""
    if len(rows) == 0:
        return []
    radix = rows.max(axis=0).astype(np.int64) + 1
    if float(np.prod(radix.astype(np.float64))) < 2**62:
        weights = np.concatenate(([1], np.cumprod(radix[:-1])))
        _, first, inverse = np.unique(
            rows.astype(np.int64) @ weights, return_index=True, return_inverse=True
        )
        unique = rows[first]
    else:
        unique, inverse = np.unique(rows, axis=0, return_inverse=True)
    made = [make(row) for row in unique.tolist()]
    return [made[k] for k in inverse.reshape(-1).tolist()]


def read_lists(directory: Path, row_of: Mapping[str, int]) -> dict[str, tuple[int, ...]]:
    """``protocols.parquet`` as list name -> rows of the images table, in list order."""
    path = directory / PROTOCOLS_PARQUET
    table = _read_table(path, PROTOCOL_COLUMNS)
    grouped: dict[str, list[int]] = {}
    for i, (name, p) in enumerate(zip(*(table.column(c).to_pylist() for c in PROTOCOL_COLUMNS))):
        row = row_of.get(p)
        if row is None:
            raise ManifestError(path, f"row {i}: {p} is not an image of {IMAGES_PARQUET}")
        grouped.setdefault(name, []).append(row)
    return {n: tuple(v) for n, v in grouped.items()}
