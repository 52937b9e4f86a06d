"""The published PAENet attribute labels, read exactly as released.

``camN_att.mat`` (N = 1..6): variable ``camN_att``, ``(8, K)`` of 0/1, row = attribute
in the schema's order, column ``j`` = SYSU id ``j + 1``. A column of all ones marks a
person absent from that camera: skipped and counted, never imported. Values are
stored per camera (``camera = N``); when every camera that has the person agrees,
the value is also stored identity-wide (camera 0). Cross-camera disagreements stay
as per-camera values and are listed in the report.

Polarity assumed (``docs/attributes.md``, "The published PAENet label files"): row value
1 = the schema's value 1 for every row (female, long hair, glasses, short sleeves,
dress or skirt, long lower body, backpack, satchel). Rows 3 and 4 are only weakly
supported by the data; ``flip=("sleeve_length",)`` inverts an attribute on import.

``label_finished.xlsx`` (96 SYSU test ids, sheet ``Sheet1``, one-hot columns with
Chinese headers) maps to the schema as follows; attributes it lacks are not
imported (unknown): gender ← 性别 男/女; hair_length ← 头发 短/长; glasses ← 眼镜
无/有; lower_body_length ← 裤子长度 短→short, 长→long, 中 (middle) → short by
default (``middle_trousers=1`` or ``-1`` = unknown overrides; with "short", the
per-camera agreement with the ``.mat`` is 0.84, the figure in the release README); backpack ← 背包 无/有; satchel ←
肩包 (shoulder bag) 无/有. A group with no cell or several cells set is unknown.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from annotator.store.errors import ImportFormatError
from annotator.store.importers.common import ImportReport, LabelRow, write_import
from annotator.store.models import IDENTITY_WIDE
from paenet.attributes import ATTRIBUTE_KEYS, NUM_ATTRIBUTES, LabelValue, attribute
from paenet.data.matfile import MatFileError, load_variable

MAT_CAMERAS = tuple(range(1, 7))


@dataclass(frozen=True)
class MatCamera:
    camera: int
    labels: dict[int, tuple[int, ...]]
    """pid → the 8 values, placeholders removed."""
    placeholders: int


def read_mat(path: Path, camera: int) -> MatCamera:
    var = f"cam{camera}_att"
    try:
        arr = load_variable(path, var)
    except MatFileError as exc:
        raise ImportFormatError(exc.path, exc.problem) from None
    if arr.ndim != 2 or arr.shape[0] != NUM_ATTRIBUTES or arr.shape[1] == 0:
        raise ImportFormatError(
            path, f"variable '{var}' must have shape ({NUM_ATTRIBUTES}, K), got {arr.shape}"
        )
    if not np.isin(arr, (0, 1)).all():
        raise ImportFormatError(
            path, f"variable '{var}' must hold only 0 and 1, found {_odd_values(arr)}"
        )
    labels: dict[int, tuple[int, ...]] = {}
    placeholders = 0
    for j in range(arr.shape[1]):
        col = arr[:, j]
        if col.all():
            placeholders += 1
            continue
        labels[j + 1] = tuple(int(v) for v in col)
    return MatCamera(camera, labels, placeholders)


def _odd_values(arr: np.ndarray) -> str:
    """The values other than 0 and 1, as they are (``0.5``, ``nan``, ``-1``), at most 5."""
    odd = arr[~np.isin(arr, (0, 1))].ravel()
    if odd.dtype.kind in "fc":
        shown = sorted({"nan" if np.isnan(v) else f"{float(v):g}" for v in odd.real})
    else:
        shown = sorted({str(v) for v in odd.tolist()})
    more = f" … ({len(shown)} distinct)" if len(shown) > 5 else ""
    return "[" + ", ".join(shown[:5]) + "]" + more


def mat_rows(
    cams: Sequence[MatCamera], flip: Iterable[str] = ()
) -> tuple[list[LabelRow], dict[int, list[str]]]:
    """Per-camera rows plus identity-wide rows where cameras agree; and disagreements
    ``{pid: [attribute, …]}``."""
    flipped = {attribute(k).index for k in flip}
    per_pid: dict[int, dict[int, tuple[int, ...]]] = defaultdict(dict)
    for cam in cams:
        for pid, values in cam.labels.items():
            per_pid[pid][cam.camera] = tuple(
                1 - v if i in flipped else v for i, v in enumerate(values)
            )
    rows: list[LabelRow] = []
    disagreements: dict[int, list[str]] = {}
    for pid, by_cam in sorted(per_pid.items()):
        for i, key in enumerate(ATTRIBUTE_KEYS):
            values = {c: v[i] for c, v in by_cam.items()}
            rows.extend(LabelRow(pid, key, c, v) for c, v in sorted(values.items()))
            if len(set(values.values())) == 1:
                rows.append(LabelRow(pid, key, IDENTITY_WIDE, next(iter(values.values()))))
            else:
                disagreements.setdefault(pid, []).append(key)
    return rows, disagreements


def import_paenet_mat(
    session: Session,
    dataset: str,
    folder: Path | str,
    source: str = "paenet-mat",
    flip: Iterable[str] = (),
    skip_unknown_ids: bool = False,
) -> ImportReport:
    folder = Path(folder)
    if not folder.is_dir():
        raise ImportFormatError(folder, "expected a folder holding cam1_att.mat … cam6_att.mat")
    cams = [read_mat(folder / f"cam{c}_att.mat", c) for c in MAT_CAMERAS]
    flip = tuple(flip)
    rows, disagreements = mat_rows(cams, flip)
    origin = f"{folder} (cam1..6_att.mat; flipped: {', '.join(flip) or 'none'})"
    n_ids, n_labels, n_unknown = write_import(
        session, dataset, source, origin, rows, skip_unknown_ids
    )
    skipped = {f"placeholder columns cam{c.camera}": c.placeholders for c in cams}
    if n_unknown:
        skipped["ids not in the dataset"] = n_unknown
    notes = tuple(
        f"id {pid}: cameras disagree on {', '.join(keys)}"
        for pid, keys in sorted(disagreements.items())
    )
    return ImportReport(source, n_ids, n_labels, skipped, notes)


# --- xlsx ---------------------------------------------------------------------------

_GROUPS: dict[str, dict[str, int]] = {
    "gender": {"性别男": 0, "性别女": 1},
    "hair_length": {"头发短": 0, "头发长": 1},
    "glasses": {"眼镜无": 0, "眼镜有": 1},
    "lower_body_length": {"裤子长度短": 0, "裤子长度中": LabelValue.UNKNOWN, "裤子长度长": 1},
    "backpack": {"背包无": 0, "背包有": 1},
    "satchel": {"肩包无": 0, "肩包有": 1},
}
XLSX_SHEET = "Sheet1"


def _norm(header: object) -> str:
    return re.sub(r"[\s()（）]", "", str(header or ""))


def read_xlsx(path: Path, middle_trousers: int = 0) -> tuple[list[LabelRow], int]:
    """Rows (identity-wide) and the number of attribute groups left unknown."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except FileNotFoundError:
        raise ImportFormatError(path, "file not found") from None
    except Exception as exc:
        raise ImportFormatError(path, f"not a readable .xlsx workbook ({exc})") from None
    if XLSX_SHEET not in wb.sheetnames:
        raise ImportFormatError(path, f"expected a sheet '{XLSX_SHEET}', found {wb.sheetnames}")
    rows_iter = wb[XLSX_SHEET].iter_rows(values_only=True)
    header = [_norm(h) for h in next(rows_iter, ())]
    if not header or header[0] != "ID":
        raise ImportFormatError(path, f"first column header must be 'ID', got {header[:1]}")
    col = {h: i for i, h in enumerate(header)}
    missing = [h for g in _GROUPS.values() for h in g if h not in col]
    if missing:
        raise ImportFormatError(path, f"unexpected headers: missing columns {missing}")
    out: list[LabelRow] = []
    unknown_groups = 0
    for line, row in enumerate(rows_iter, start=2):
        if row is None or all(v is None for v in row):
            continue
        raw_id = str(row[0]).strip() if row[0] is not None else ""
        if not raw_id.isdigit():
            raise ImportFormatError(
                path, f"row {line}: column 'ID' must be an id such as '0006', got {row[0]!r}"
            )
        pid = int(raw_id)
        for key, options in _GROUPS.items():
            set_cells = [h for h in options if row[col[h]] not in (None, 0, "")]
            for h in set_cells:
                if row[col[h]] != 1:
                    raise ImportFormatError(
                        path, f"row {line}, column {h}: expected 1 or empty, got {row[col[h]]!r}"
                    )
            if len(set_cells) != 1:
                unknown_groups += 1
                continue
            value = options[set_cells[0]]
            if value == LabelValue.UNKNOWN:  # the middle length: as ``middle_trousers`` says
                value = middle_trousers
            if value == LabelValue.UNKNOWN:
                unknown_groups += 1
                continue
            out.append(LabelRow(pid, key, IDENTITY_WIDE, value))
    wb.close()
    return out, unknown_groups


def import_paenet_xlsx(
    session: Session,
    dataset: str,
    path: Path | str,
    source: str = "paenet-xlsx",
    middle_trousers: int = 0,
    skip_unknown_ids: bool = False,
) -> ImportReport:
    path = Path(path)
    rows, unknown_groups = read_xlsx(path, middle_trousers)
    origin = f"{path} (sheet {XLSX_SHEET}; trousers 'middle' → {middle_trousers})"
    n_ids, n_labels, n_unknown = write_import(
        session, dataset, source, origin, rows, skip_unknown_ids
    )
    skipped = {"attribute groups with no single value": unknown_groups}
    if n_unknown:
        skipped["ids not in the dataset"] = n_unknown
    return ImportReport(source, n_ids, n_labels, skipped)
