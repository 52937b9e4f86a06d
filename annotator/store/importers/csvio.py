"""CSV in and out: the synthetic ground truth, and our own labels losslessly.

Our CSV has one row per label or decision::

    kind,dataset,pid,attribute,camera,source,source_kind,value,by,at

``kind`` is ``label`` or ``decision``; ``camera`` 0 = identity-wide; ``value`` 0, 1 or
-1 (unknown); ``by`` the annotator who set it (empty for imports); ``at`` ISO time.
Exporting, importing into an empty store with the same dataset registered, and
exporting again gives the same file.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from annotator.store.errors import ImportFormatError, StoreError
from annotator.store.importers.common import ImportReport, LabelRow, write_import
from annotator.store.models import (
    IDENTITY_WIDE,
    Annotator,
    Dataset,
    Decision,
    Identity,
    Label,
    Source,
    utcnow,
)
from annotator.store.services.common import (
    ANNOTATOR_SOURCE_PREFIX,
    annotator_row,
    dataset_row,
    validate_attribute,
    validate_value,
)
from paenet.attributes import ATTRIBUTE_KEYS, parse_value

SYNTH_FILE = "synth_attributes.csv"
CSV_COLUMNS = (
    "kind",
    "dataset",
    "pid",
    "attribute",
    "camera",
    "source",
    "source_kind",
    "value",
    "by",
    "at",
)


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
    if reader.fieldnames != expected:
        raise ImportFormatError(
            path, f"expected header {','.join(expected)}, got {reader.fieldnames}"
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


def export_csv(session: Session, path: Path | str, dataset: str | None = None) -> int:
    """Write every label and decision (of one dataset or all) atomically; returns rows."""
    setter = aliased(Annotator)
    q_labels = (
        select(Dataset.name, Identity.pid, Label.attribute, Label.camera, Source.name, Source.kind,
               Label.value, setter.name, Label.updated_at)
        .join(Identity, Identity.dataset_id == Dataset.id)
        .join(Label, Label.identity_id == Identity.id)
        .join(Source, Source.id == Label.source_id)
        .outerjoin(setter, setter.id == Label.set_by)
    )  # fmt: skip
    q_dec = (
        select(Dataset.name, Identity.pid, Decision.attribute, Decision.camera, Decision.value,
               Annotator.name, Decision.decided_at)
        .join(Identity, Identity.dataset_id == Dataset.id)
        .join(Decision, Decision.identity_id == Identity.id)
        .join(Annotator, Annotator.id == Decision.decided_by)
    )  # fmt: skip
    if dataset is not None:
        dataset_row(session, dataset)
        q_labels = q_labels.where(Dataset.name == dataset)
        q_dec = q_dec.where(Dataset.name == dataset)
    rows = [
        ("label", ds, pid, attr, cam, src, kind, value, by or "", _iso(at))
        for ds, pid, attr, cam, src, kind, value, by, at in session.execute(q_labels)
    ]
    rows += [
        ("decision", ds, pid, attr, cam, "", "", value, by, _iso(at))
        for ds, pid, attr, cam, value, by, at in session.execute(q_dec)
    ]
    rows.sort(key=lambda r: (r[0], r[1], r[2], ATTRIBUTE_KEYS.index(r[3]), r[4], r[5]))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(CSV_COLUMNS)
            w.writerows(rows)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(rows)


def _iso(at: datetime | None) -> str:
    """UTC ISO time; SQLite hands back naive datetimes, which the store wrote in UTC."""
    if at is None:
        return ""
    return (at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)).isoformat()


def _parse_at(path: Path, line: int, text: str) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ImportFormatError(
            path, f"line {line}: column 'at' must be an ISO time, got {text!r}"
        ) from None


def import_csv(session: Session, path: Path | str) -> ImportReport:
    """Load our own CSV (see the module docstring) into a store that lacks those sources."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ImportFormatError(path, f"cannot read ({exc.strerror or exc})") from None
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != CSV_COLUMNS:
        raise ImportFormatError(
            path, f"expected header {','.join(CSV_COLUMNS)}, got {reader.fieldnames}"
        )
    ids: dict[tuple[str, int], int] = {}
    sources: dict[str, Source] = {}
    n = 0
    touched: set[int] = set()
    for line, rec in enumerate(reader, start=2):
        try:
            kind = rec["kind"]
            if kind not in ("label", "decision"):
                raise ValueError(f"column 'kind' must be label or decision, got {kind!r}")
            key = (rec["dataset"], int(rec["pid"]))
            attr = validate_attribute(rec["attribute"])
            cam = int(rec["camera"])
            value = validate_value(int(rec["value"]))
        except (KeyError, ValueError) as exc:
            raise ImportFormatError(path, f"line {line}: {exc}") from None
        if key not in ids:
            ds = dataset_row(session, key[0])
            iid = session.scalar(
                select(Identity.id).where(Identity.dataset_id == ds.id, Identity.pid == key[1])
            )
            if iid is None:
                raise ImportFormatError(
                    path, f"line {line}: dataset {key[0]!r} has no identity {key[1]}"
                )
            ids[key] = iid
        at = _parse_at(path, line, rec["at"])
        by = annotator_row(session, rec["by"]).id if rec["by"] else None
        if kind == "decision":
            if by is None:
                raise ImportFormatError(path, f"line {line}: a decision needs column 'by'")
            exists = select(Decision.id).where(
                Decision.identity_id == ids[key], Decision.attribute == attr, Decision.camera == cam
            )
            if session.scalar(exists) is not None:
                raise StoreError(
                    f"{path}:{line}: {key[0]} id {key[1]} already has a decision on {attr}; "
                    "refusing to mix"
                )
            session.add(
                Decision(
                    identity_id=ids[key],
                    attribute=attr,
                    camera=cam,
                    value=value,
                    decided_by=by,
                    decided_at=at or utcnow(),
                )
            )
        else:
            src = sources.get(rec["source"]) or _source_for(
                session, rec["source"], rec["source_kind"], path, line
            )
            sources[rec["source"]] = src
            session.add(
                Label(
                    identity_id=ids[key],
                    attribute=attr,
                    camera=cam,
                    source_id=src.id,
                    value=value,
                    set_by=by,
                    updated_at=at or utcnow(),
                )
            )
        touched.add(ids[key])
        n += 1
    session.flush()
    return ImportReport(f"csv:{path.name}", len(touched), n)


def _source_for(session: Session, name: str, kind: str, path: Path, line: int) -> Source:
    if session.scalar(select(Source.id).where(Source.name == name)) is not None:
        if name.startswith(ANNOTATOR_SOURCE_PREFIX):
            src = session.scalar(select(Source).where(Source.name == name))
            assert src is not None
            if session.scalar(select(Label.id).where(Label.source_id == src.id).limit(1)) is None:
                return src
        raise StoreError(
            f"{path}:{line}: label source {name!r} already has labels in this store; refusing to mix"
        )
    if kind == "annotator":
        if not name.startswith(ANNOTATOR_SOURCE_PREFIX):
            raise ImportFormatError(
                path, f"line {line}: annotator sources are named 'annotator:NAME', got {name!r}"
            )
        annotator_row(session, name.removeprefix(ANNOTATOR_SOURCE_PREFIX))
        src = session.scalar(select(Source).where(Source.name == name))
        assert src is not None
        return src
    if kind != "import":
        raise ImportFormatError(
            path, f"line {line}: column 'source_kind' must be annotator or import, got {kind!r}"
        )
    src = Source(name=name, kind="import", origin=f"{path}")
    session.add(src)
    session.flush()
    return src
