"""Writing one import: a new source, its labels, history rows and version bumps, at once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from annotator.store.errors import StoreError
from annotator.store.models import HistoryEntry, Identity, Label, Source
from annotator.store.services.lookups import dataset_row
from annotator.store.services.names import validate_slug
from annotator.store.services.validation import validate_attribute, validate_value


@dataclass(frozen=True)
class LabelRow:
    pid: int
    attribute: str
    camera: int
    value: int


@dataclass(frozen=True)
class ImportReport:
    source: str
    identities: int
    labels: int
    skipped: dict[str, int] = field(default_factory=dict)
    """What was not imported and why (e.g. placeholder columns per camera)."""
    notes: tuple[str, ...] = ()


class SourceExistsError(StoreError):
    """An import under a source name that exists: two sources are compared, never mixed."""

    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__(
            f"a label source named {source!r} already exists; import under another source "
            "name so that the two are compared, not mixed"
        )


class UnknownIdsError(StoreError):
    """The file names ids the dataset does not have (``unknown``: all of them, sorted)."""

    def __init__(self, origin: str, dataset: str, unknown: list[int]) -> None:
        self.origin, self.dataset, self.unknown = origin, dataset, unknown
        super().__init__(
            f"{origin}: {len(unknown)} id(s) are not in dataset {dataset!r} "
            f"(first: {unknown[:8]}); register the right dataset or skip the unknown ids"
        )


def write_import(
    session: Session,
    dataset: str,
    source: str,
    origin: str,
    rows: Iterable[LabelRow],
    skip_unknown_ids: bool = False,
) -> tuple[int, int, int]:
    """Insert ``rows`` as source ``source``; returns (identities, labels, skipped unknown ids).

    Refuses an existing source name and, unless ``skip_unknown_ids``, ids the dataset
    does not have. The caller's transaction makes it all-or-nothing.
    """
    ds = dataset_row(session, dataset)
    validate_slug(source, "source name")
    if session.scalar(select(Source.id).where(Source.name == source)) is not None:
        raise SourceExistsError(source)
    ids = {
        pid: iid
        for pid, iid in session.execute(
            select(Identity.pid, Identity.id).where(Identity.dataset_id == ds.id)
        )
    }
    rows = list(rows)
    unknown = sorted({r.pid for r in rows if r.pid not in ids})
    if unknown and not skip_unknown_ids:
        raise UnknownIdsError(origin, dataset, unknown)
    src = Source(name=source, kind="import", origin=origin)
    session.add(src)
    session.flush()
    kept = [r for r in rows if r.pid in ids]
    for r in kept:
        validate_attribute(r.attribute)
        validate_value(r.value)
    per_identity: dict[int, list[LabelRow]] = defaultdict(list)
    for r in kept:
        per_identity[ids[r.pid]].append(r)
    versions = {
        iid: v
        for iid, v in session.execute(
            select(Identity.id, Identity.version).where(Identity.id.in_(per_identity))
        )
    }
    if kept:
        session.execute(
            insert(Label),
            [
                {"identity_id": ids[r.pid], "attribute": r.attribute, "camera": r.camera,
                 "source_id": src.id, "value": r.value}
                for r in kept
            ],
        )  # fmt: skip
        session.execute(
            insert(HistoryEntry),
            [
                {"identity_id": iid, "version": versions[iid] + 1, "kind": "label",
                 "attribute": r.attribute, "camera": r.camera, "source_id": src.id,
                 "old_value": None, "new_value": r.value}
                for iid, items in per_identity.items()
                for r in items
            ],
        )  # fmt: skip
        # one statement: every touched identity moves one version on, so that an annotator
        # who saw it before the import gets a conflict naming the import, not a silent mix
        session.execute(
            update(Identity)
            .where(Identity.id.in_(list(per_identity)))
            .values(version=Identity.version + 1)
            .execution_options(synchronize_session=False)
        )
    session.flush()
    return len(per_identity), len(kept), len(unknown)
