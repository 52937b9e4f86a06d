"""Our labels CSV out (``paenet-labels export``): every label and decision, losslessly.

One row per label or decision::

    kind,dataset,pid,attribute,camera,source,source_kind,value,by,at

``kind`` is ``label`` or ``decision``; ``camera`` 0 = identity-wide; ``value`` 0, 1 or
-1 (unknown); ``by`` the annotator who set it (empty for imports); ``at`` ISO time.
Exporting, importing into an empty store with the same dataset registered
(:mod:`annotator.store.importers.csv_labels`), and exporting again gives the same file.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from annotator.store.importers.csv_labels import CSV_COLUMNS
from annotator.store.models import (
    Annotator,
    Dataset,
    Decision,
    Identity,
    Label,
    Source,
)
from annotator.store.services.lookups import dataset_row
from paenet.atomic import atomic_open
from paenet.attributes import ATTRIBUTE_KEYS


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
    with atomic_open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_COLUMNS)
        w.writerows(rows)
    return len(rows)


def _iso(at: datetime | None) -> str:
    """UTC ISO time; SQLite hands back naive datetimes, which the store wrote in UTC."""
    if at is None:
        return ""
    return (at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)).isoformat()
