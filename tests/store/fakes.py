"""Small label files in the published formats, written by the tests (no reference files)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import scipy.io

from annotator.store.importers.published_paenet import _GROUPS, MAT_CAMERAS, XLSX_SHEET
from paenet.attributes import NUM_ATTRIBUTES


def write_mat_folder(folder: Path, labels: Mapping[int, Sequence[int]], num_ids: int) -> Path:
    """``cam1_att.mat`` … ``cam6_att.mat``: every camera gives ``labels[pid]`` (8 values);
    other ids up to ``num_ids`` are placeholder columns (all ones)."""
    folder.mkdir(parents=True, exist_ok=True)
    arr = np.ones((NUM_ATTRIBUTES, num_ids), dtype=np.uint8)
    for pid, values in labels.items():
        arr[:, pid - 1] = values
    for cam in MAT_CAMERAS:
        scipy.io.savemat(str(folder / f"cam{cam}_att.mat"), {f"cam{cam}_att": arr})
    return folder


def write_xlsx(path: Path, rows: Mapping[int, Mapping[str, str]]) -> Path:
    """``label_finished.xlsx``: ``rows[pid][attribute] = header`` of the one cell set to 1,
    e.g. ``{"gender": "性别女", "lower_body_length": "裤子长度中"}``."""
    import openpyxl

    headers = ["ID", *(h for options in _GROUPS.values() for h in options)]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = XLSX_SHEET
    ws.append(headers)
    for pid, chosen in rows.items():
        ws.append([f"{pid:04d}", *(1 if h in chosen.values() else None for h in headers[1:])])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
