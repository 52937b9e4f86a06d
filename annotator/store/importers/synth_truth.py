"""The synthetic stand-in's ground truth (``synth_attributes.csv``, written by
``paenet-data synth``): one row per identity, ``pid`` then every attribute's value."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sqlalchemy.orm import Session

from annotator.store.errors import ImportFormatError
from annotator.store.importers.common import ImportReport, LabelRow, write_import
from annotator.store.models import IDENTITY_WIDE
from paenet.attributes import ATTRIBUTE_KEYS, parse_value

SYNTH_FILE = "synth_attributes.csv"


def import_synth(
    session: Session, dataset: str, root_or_file: Path | str, source: str = "synth-gt"
) -> ImportReport:
    """Read the ground truth that ``paenet-data synth`` writes (``synth_attributes.csv``)."""
    path = Path(root_or_file)
    if path.is_dir():
        path = path / SYNTH_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ImportFormatError(path, f"cannot read ({exc.strerror or exc})") from None
    reader = csv.DictReader(io.StringIO(text))
    expected = ["pid", *ATTRIBUTE_KEYS]
    if reader.fieldnames != expected:  # never quote the line: it may be any file
        raise ImportFormatError(
            path,
            f"expected header {','.join(expected)} (the synthetic ground truth) as the first line",
        )
    rows: list[LabelRow] = []
    for line, rec in enumerate(reader, start=2):
        try:
            pid = int(rec["pid"])
            values = [int(parse_value(rec[k])) for k in ATTRIBUTE_KEYS]
        except (TypeError, ValueError) as exc:
            raise ImportFormatError(path, f"line {line}: {exc}") from None
        rows.extend(LabelRow(pid, k, IDENTITY_WIDE, v) for k, v in zip(ATTRIBUTE_KEYS, values))
    n_ids, n_labels, _ = write_import(session, dataset, source, str(path), rows)
    return ImportReport(source, n_ids, n_labels)
