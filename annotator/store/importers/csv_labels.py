"""Importing our own labels CSV (``paenet-labels export``), validated like the other
importers before anything is written.

Every line is checked first: field count, ``kind``, ``pid``, attribute, ``camera``
(0 or a camera of that dataset's layout), ``value``, ``by`` (the annotator rule), the
source name (a slug, or ``annotator:NAME``), ``at`` (ISO time), that the dataset and
identity exist, and that no line repeats another. Bad lines are reported by number
(up to :data:`MAX_REPORTED`), and nothing is written. Then, in the caller's one
transaction: new sources, labels and decisions, one history row each, and every
touched identity moves one version on (so an annotator who saw it before gets a
conflict naming the import, as with the other importers).

A file whose first line is not our header is refused by saying what was expected,
never by quoting it: it may be any file on the server.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from annotator.store.errors import ImportFormatError, StoreError
from annotator.store.importers.common import ImportReport
from annotator.store.models import (
    Dataset,
    Decision,
    HistoryEntry,
    Identity,
    Label,
    Source,
    utcnow,
)
from annotator.store.services.annotators import (
    ANNOTATOR_SOURCE_PREFIX,
    annotator_row,
    annotator_source_name,
)
from annotator.store.services.names import clean_annotator_name, validate_slug
from annotator.store.services.validation import validate_attribute, validate_value
from paenet.attributes import ATTRIBUTE_KEYS
from paenet.data.kinds import kind_specs

CSV_COLUMNS = (
    "kind", "dataset", "pid", "attribute", "camera", "source", "source_kind", "value", "by", "at",
)  # fmt: skip
MAX_REPORTED = 20
CAMERAS_OF_KIND: Mapping[str, frozenset[int]] = {
    spec.name: frozenset(spec.cameras) for spec in kind_specs()
}


@dataclass(frozen=True)
class CsvRow:
    line: int
    kind: str
    dataset: str
    pid: int
    attribute: str
    camera: int
    source: str
    source_kind: str
    value: int
    by: str | None
    at: datetime | None

    @property
    def key(self) -> tuple[object, ...]:
        """What must be unique in one file: one value per label / decision slot."""
        source = self.source if self.kind == "label" else ""
        return (self.kind, self.dataset, self.pid, self.attribute, self.camera, source)


def _q(text: str) -> str:
    """A field quoted in a message, bounded."""
    return repr(text if len(text) <= 30 else text[:30] + "…")


def _int(text: str, column: str) -> int:
    t = text.strip()
    if not t.lstrip("-").isascii() or not t.lstrip("-").isdigit():
        raise ValueError(f"column '{column}' must be an integer, got {_q(text)}")
    return int(t)


def _parse_line(line: int, rec: list[str]) -> CsvRow:
    f = dict(zip(CSV_COLUMNS, rec))
    kind = f["kind"]
    if kind not in ("label", "decision"):
        raise ValueError(f"column 'kind' must be label or decision, got {_q(kind)}")
    pid = _int(f["pid"], "pid")
    if pid < 0:
        raise ValueError(f"column 'pid' must be a person id ≥ 0, got {pid}")
    if f["attribute"] not in ATTRIBUTE_KEYS:
        raise ValueError(f"unknown attribute {_q(f['attribute'])}")
    attribute = validate_attribute(f["attribute"])
    camera = _int(f["camera"], "camera")
    value = validate_value(_int(f["value"], "value"))
    by = clean_annotator_name(f["by"]) if f["by"].strip() else None
    if kind == "decision" and by is None:
        raise ValueError("a decision needs column 'by' (who decided)")
    source, source_kind = f["source"], f["source_kind"]
    if kind == "label":
        if source_kind == "annotator":
            if not source.startswith(ANNOTATOR_SOURCE_PREFIX):
                raise ValueError(f"annotator sources are named 'annotator:NAME', got {_q(source)}")
            clean_annotator_name(source.removeprefix(ANNOTATOR_SOURCE_PREFIX))
        elif source_kind == "import":
            validate_slug(source, "source name")
        else:
            raise ValueError(
                f"column 'source_kind' must be annotator or import, got {_q(source_kind)}"
            )
    at = None
    if f["at"].strip():
        try:
            at = datetime.fromisoformat(f["at"].strip())
        except ValueError:
            raise ValueError(f"column 'at' must be an ISO time, got {_q(f['at'])}") from None
    return CsvRow(line, kind, f["dataset"], pid, attribute, camera, source, source_kind, value,
                  by, at)  # fmt: skip


def read_labels_csv(path: Path) -> tuple[list[CsvRow], list[str]]:
    """Parse and check every line on its own; returns rows and per-line problems."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ImportFormatError(
            path, f"not a labels CSV: not UTF-8 text (expected the header {','.join(CSV_COLUMNS)})"
        ) from None
    except OSError as exc:
        raise ImportFormatError(path, f"cannot read ({exc.strerror or exc})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error:
        header = None
    if header is None or tuple(header) != CSV_COLUMNS:
        raise ImportFormatError(
            path,
            f"not a labels CSV: expected the header line {','.join(CSV_COLUMNS)} "
            "(as `paenet-labels export` writes it) as the first line",
        )
    rows: list[CsvRow] = []
    problems: list[str] = []
    seen: dict[tuple[object, ...], int] = {}
    while True:
        try:
            rec = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(f"line {reader.line_num}: not valid CSV ({exc})")
            break
        line = reader.line_num
        if not any(field.strip() for field in rec):
            continue
        if len(rec) != len(CSV_COLUMNS):
            problems.append(f"line {line}: has {len(rec)} fields, expected {len(CSV_COLUMNS)}")
            continue
        try:
            row = _parse_line(line, rec)
        except ValueError as exc:
            problems.append(f"line {line}: {exc}")
            continue
        if row.key in seen:
            problems.append(f"line {line}: repeats line {seen[row.key]} (same {row.kind} slot)")
            continue
        seen[row.key] = line
        rows.append(row)
    return rows, problems


def _check_against_store(
    session: Session, rows: list[CsvRow], problems: list[str]
) -> dict[tuple[str, int], int]:
    """Datasets, cameras and identities must exist; returns ``{(dataset, pid): row id}``."""
    kinds: dict[str, str | None] = {}
    for name in sorted({r.dataset for r in rows}):
        kinds[name] = session.scalar(select(Dataset.kind).where(Dataset.name == name))
    ids: dict[tuple[str, int], int] = {}
    for name, kind in kinds.items():
        if kind is None:
            continue
        for pid, iid in session.execute(
            select(Identity.pid, Identity.id).join(Dataset).where(Dataset.name == name)
        ):
            ids[(name, pid)] = iid
    for r in rows:
        kind = kinds[r.dataset]
        if kind is None:
            problems.append(f"line {r.line}: no dataset named {_q(r.dataset)} is registered")
        elif r.camera != 0 and r.camera not in CAMERAS_OF_KIND[kind]:
            cams = ", ".join(map(str, sorted(CAMERAS_OF_KIND[kind])))
            problems.append(
                f"line {r.line}: camera {r.camera} is not a {kind} camera (0 = identity-wide, "
                f"or {cams})"
            )
        elif (r.dataset, r.pid) not in ids:
            problems.append(f"line {r.line}: dataset {_q(r.dataset)} has no identity {r.pid}")
    return ids


def _sources(session: Session, path: Path, rows: list[CsvRow]) -> dict[str, int]:
    """Source ids of the file's label sources, created now; refuses mixing with labels the
    store already holds under that name."""
    out: dict[str, int] = {}
    for r in rows:
        if r.kind != "label" or r.source in out:
            continue
        name = r.source
        if r.source_kind == "annotator":
            who = annotator_row(session, name.removeprefix(ANNOTATOR_SOURCE_PREFIX))
            name = annotator_source_name(who.name)  # ADA → the recorded spelling
            src = session.scalar(select(Source).where(Source.name == name))
            assert src is not None
            if session.scalar(select(Label.id).where(Label.source_id == src.id).limit(1)):
                raise StoreError(
                    f"{path}:{r.line}: label source {name!r} already has labels in this "
                    "store; refusing to mix"
                )
        else:
            if session.scalar(select(Source.id).where(Source.name == name)) is not None:
                raise StoreError(
                    f"{path}:{r.line}: label source {name!r} already has labels in this "
                    "store; refusing to mix"
                )
            src = Source(name=name, kind="import", origin=str(path))
            session.add(src)
            session.flush()
        out[r.source] = src.id
    return out


def import_csv(session: Session, path: Path | str) -> ImportReport:
    """Load our own CSV into a store that lacks those sources and decisions (see the
    module docstring). Raises :class:`ImportFormatError` listing bad lines by number."""
    path = Path(path)
    rows, problems = read_labels_csv(path)
    ids = _check_against_store(session, rows, problems) if rows else {}
    if problems:
        more = len(problems) - MAX_REPORTED
        raise ImportFormatError(
            path,
            f"{len(problems)} bad line(s), nothing imported: "
            + "; ".join(problems[:MAX_REPORTED])
            + (f"; … and {more} more" if more > 0 else ""),
        )
    decided = {
        (iid, attr, cam)
        for iid, attr, cam in session.execute(
            select(Decision.identity_id, Decision.attribute, Decision.camera).where(
                Decision.identity_id.in_({ids[(r.dataset, r.pid)] for r in rows})
            )
        )
    }
    for r in rows:
        if r.kind == "decision" and (ids[(r.dataset, r.pid)], r.attribute, r.camera) in decided:
            raise StoreError(
                f"{path}:{r.line}: {r.dataset} id {r.pid} already has a decision on "
                f"{r.attribute}; refusing to mix"
            )
    sources = _sources(session, path, rows)
    people = {
        name: annotator_row(session, name).id for name in sorted({r.by for r in rows if r.by})
    }
    touched = sorted({ids[(r.dataset, r.pid)] for r in rows})
    versions = {
        iid: v
        for iid, v in session.execute(
            select(Identity.id, Identity.version).where(Identity.id.in_(touched))
        )
    }
    now = utcnow()
    labels, decisions, hist = [], [], []
    for r in rows:
        iid = ids[(r.dataset, r.pid)]
        who = people[r.by] if r.by else None
        at = r.at or now
        if r.kind == "label":
            labels.append({"identity_id": iid, "attribute": r.attribute, "camera": r.camera,
                           "source_id": sources[r.source], "value": r.value, "set_by": who,
                           "updated_at": at})  # fmt: skip
        else:
            assert who is not None
            decisions.append({"identity_id": iid, "attribute": r.attribute, "camera": r.camera,
                              "value": r.value, "decided_by": who, "decided_at": at})  # fmt: skip
        hist.append({"identity_id": iid, "version": versions[iid] + 1, "kind": r.kind,
                     "attribute": r.attribute, "camera": r.camera,
                     "source_id": sources[r.source] if r.kind == "label" else None,
                     "old_value": None, "new_value": r.value, "annotator_id": who,
                     "at": at})  # fmt: skip
    if labels:
        session.execute(insert(Label), labels)
    if decisions:
        session.execute(insert(Decision), decisions)
    if hist:
        session.execute(insert(HistoryEntry), hist)
        session.execute(
            update(Identity)
            .where(Identity.id.in_(touched))
            .values(version=Identity.version + 1)
            .execution_options(synchronize_session=False)
        )
    session.flush()
    return ImportReport(f"csv:{path.name}", len(touched), len(rows))
