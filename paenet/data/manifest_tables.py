"""Reading the tables of a manifest (``images.parquet``, ``protocols.parquet``) into records.

Every check is a vectorised pass over the Arrow columns before the one Python loop that
builds the records; Arrow's ``to_numpy`` is avoided because it imports pandas.
"""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from paenet.attributes import ATTRIBUTE_KEYS, NUM_ATTRIBUTES
from paenet.data.kinds import kind_spec
from paenet.data.manifest_schema import (
    IMAGE_FILE_COLUMNS,
    IMAGES_PARQUET,
    PROTOCOL_COLUMNS,
    PROTOCOLS_PARQUET,
    PROVENANCE_SUFFIX,
    ManifestError,
    ManifestImage,
    image_columns,
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


@dataclass(frozen=True)
class ImagesTable:
    """``images.parquet`` read and validated (rows in file order)."""

    images: tuple[ManifestImage, ...]
    paths: tuple[str, ...]
    attributes: np.ndarray
    """int8 ``[N, 8]``, read-only: the attribute columns (each record holds its row as a
    tuple too)."""
    bytes: np.ndarray | None
    """int64 ``[N]``: each file's recorded size; None for a schema-1 manifest."""
    mtime_ns: np.ndarray | None
    """int64 ``[N]``: each file's recorded ``st_mtime_ns``; None for a schema-1 manifest."""


_STRING_COLUMNS = ("path", "modality", "split", *(k + PROVENANCE_SUFFIX for k in ATTRIBUTE_KEYS))
_INTEGER_COLUMNS = ("pid", "camera", *IMAGE_FILE_COLUMNS)


def _check_types(path: Path, table) -> None:
    """Every column of the right Arrow type family (the writer's exact widths are not
    required: a table rewritten by pandas has int64 and float columns)."""
    import pyarrow.types as pt

    for name, column_type in zip(table.column_names, table.schema.types):
        if name in _STRING_COLUMNS:
            ok = pt.is_string(column_type) or pt.is_large_string(column_type)
            ok = ok or (name == "split" and pt.is_null(column_type))
            what = "strings"
        elif name in _INTEGER_COLUMNS:
            ok, what = pt.is_integer(column_type), "integers"
        else:  # an attribute: integers, or floats holding exactly 0, 1 or -1
            ok = pt.is_integer(column_type) or pt.is_floating(column_type)
            what = "integers 0, 1 or -1"
        if not ok:
            raise ManifestError(path, f"column {name!r} has type {column_type}, expected {what}")


def _first_null(path: Path, table, names: Sequence[str]) -> None:
    """The first row (in row order over ``names``) missing a value, named."""
    import pyarrow.compute as pc

    rows = [
        (int(pc.index(pc.is_null(table.column(n)), True).as_py()), k)
        for k, n in enumerate(names)
        if table.column(n).null_count
    ]
    if rows:
        i, k = min(rows)
        p = table.column("path")[i].as_py() if names[k] != "path" else None
        raise ManifestError(path, f"row {i} ({p}): {names[k]} is missing")


def _int64(path: Path, table, name: str) -> np.ndarray:
    """A null-free integer column as int64 (no narrowing: 256 must not wrap to 0); an
    unsigned value above the int64 range is refused, naming its row."""
    arr = table.column(name).combine_chunks()
    raw = _ints(arr)
    if raw.dtype == np.uint64 and len(raw) and int(raw.max()) > np.iinfo(np.int64).max:
        i = int(np.argmax(raw > np.iinfo(np.int64).max))
        raise ManifestError(
            path, f"row {i} ({table.column('path')[i].as_py()}): {name} = {int(raw[i])}, "
            "out of range",
        )  # fmt: skip
    return raw.astype(np.int64)


def _attribute_values(path: Path, table) -> np.ndarray:
    """int8 ``[N, 8]`` of the attribute columns, after refusing any value other than
    exactly 0, 1 or -1 (NaN, 256, 2.5 …) in the column's own type, before narrowing,
    naming the first bad row and column."""
    n = table.num_rows
    bad = np.zeros((n, NUM_ATTRIBUTES), bool)
    columns = [_ints(table.column(key)) for key in ATTRIBUTE_KEYS]  # ints or floats as stored
    for c, values in enumerate(columns):
        bad[:, c] = ~np.isin(values, (-1, 0, 1))  # NaN is in no set; uint64 is not wrapped
    if bad.any():
        r, c = map(int, np.argwhere(bad)[0])
        value = columns[c][r].item()
        shown = int(value) if isinstance(value, float) and value.is_integer() else value
        raise ManifestError(
            path,
            f"row {r} ({table.column('path')[r].as_py()}): {ATTRIBUTE_KEYS[c]} = {shown}, "
            "expected 0, 1 or -1",
        )
    attrs = np.empty((n, NUM_ATTRIBUTES), np.int8)
    for c, values in enumerate(columns):
        attrs[:, c] = values
    return attrs


def read_images(directory: Path, kind: str, schema_version: int) -> ImagesTable:
    """The images table as records; every check is one vectorised pass before the loop.

    Refused, naming the row (and its path) and the column: a column of the wrong type, a
    missing value (except ``split``), a path that is not relative and inside the root,
    a path listed twice, a negative pid or size, a camera the dataset kind does not have
    or whose modality differs, an attribute value other than exactly 0, 1 or -1 (NaN,
    256 …; checked before any narrowing), an unknown modality or split."""
    import pyarrow.compute as pc

    path = directory / IMAGES_PARQUET
    table = _read_table(path, image_columns(schema_version))
    _check_types(path, table)
    paths = table.column("path")
    if paths.null_count:
        _first_bad(path, table, pc.is_null(paths), "path is missing")
    _first_null(path, table, [c for c in table.column_names if c not in ("path", "split")])
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
    spec = kind_spec(kind)
    for column, have, ok in (
        ("modality", modalities, set(modality_of)),
        ("split", splits, spec.manifest_splits),
    ):
        wrong = set(have) - ok
        if wrong:
            i = have.index(next(iter(wrong)))
            raise ManifestError(
                path, f"row {i} ({paths[i].as_py()}): {column} {have[i]!r} is not valid for {kind}"
            )
    ints = {
        name: _int64(path, table, name) for name in table.column_names if name in _INTEGER_COLUMNS
    }
    for name in ("pid", "bytes"):
        if name in ints and (ints[name] < 0).any():
            i = int(np.argmax(ints[name] < 0))
            raise ManifestError(
                path, f"row {i} ({paths[i].as_py()}): {name} {int(ints[name][i])} is negative"
            )
    _check_cameras(path, table, kind, ints["camera"], modalities)
    attrs = _attribute_values(path, table)
    values = _shared_rows(attrs + 1, lambda row: tuple(v - 1 for v in row))
    prov_cols = [table.column(k + PROVENANCE_SUFFIX) for k in ATTRIBUTE_KEYS]
    codes = np.zeros((table.num_rows, NUM_ATTRIBUTES), np.int64)
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
    attrs.flags.writeable = False
    return ImagesTable(images, texts, attrs, ints.get("bytes"), ints.get("mtime_ns"))


def _check_cameras(path: Path, table, kind: str, cameras: np.ndarray, modalities: list) -> None:
    """Every camera one of the kind's (SYSU 1-6, RegDB 1-2) and of its modality."""
    known = kind_spec(kind).cameras
    ids = np.array(sorted(known), np.int64)
    unknown = ~np.isin(cameras, ids)
    if unknown.any():
        i = int(np.argmax(unknown))
        raise ManifestError(
            path,
            f"row {i} ({table.column('path')[i].as_py()}): camera {int(cameras[i])} is not a "
            f"{kind} camera (expected {', '.join(map(str, ids.tolist()))})",
        )
    if not len(cameras):
        return
    infrared = np.zeros(int(ids.max()) + 1, bool)
    for cam, info in known.items():
        infrared[cam] = info.modality is Modality.INFRARED
    said = np.array(modalities, dtype=object) == Modality.INFRARED.value
    wrong = infrared[cameras] != said
    if wrong.any():
        i = int(np.argmax(wrong))
        cam = known[int(cameras[i])]
        article = "an" if cam.modality is Modality.INFRARED else "a"
        raise ManifestError(
            path,
            f"row {i} ({table.column('path')[i].as_py()}): camera {cam.id} is {article} "
            f"{cam.modality.value} camera, but modality is {modalities[i]!r}",
        )


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
    import pyarrow.compute as pc
    import pyarrow.types as pt

    path = directory / PROTOCOLS_PARQUET
    table = _read_table(path, PROTOCOL_COLUMNS)
    for name, column_type in zip(table.column_names, table.schema.types):
        if not (pt.is_string(column_type) or pt.is_large_string(column_type)):
            raise ManifestError(path, f"column {name!r} has type {column_type}, expected strings")
        if table.column(name).null_count:
            i = int(pc.index(pc.is_null(table.column(name)), True).as_py())
            raise ManifestError(path, f"row {i}: {name} is missing")
    grouped: dict[str, list[int]] = {}
    for i, (name, p) in enumerate(zip(*(table.column(c).to_pylist() for c in PROTOCOL_COLUMNS))):
        row = row_of.get(p)
        if row is None:
            raise ManifestError(path, f"row {i}: {p} is not an image of {IMAGES_PARQUET}")
        grouped.setdefault(name, []).append(row)
    return {n: tuple(v) for n, v in grouped.items()}
