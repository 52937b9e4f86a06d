"""Records returned by the services, and lookups they share."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from annotator.store.errors import UnknownDatasetError, UnknownIdentityError, UnknownSourceError
from annotator.store.models import Annotator, Dataset, Identity, Source
from annotator.store.services.names import annotator_key, clean_annotator_name
from paenet.attributes import ATTRIBUTE_KEYS, LabelValue

ANNOTATOR_SOURCE_PREFIX = "annotator:"


@dataclass(frozen=True)
class DatasetInfo:
    id: int
    name: str
    kind: str
    root: str
    registered_at: datetime
    identities: int
    images: int


@dataclass(frozen=True)
class ImageInfo:
    id: int
    path: str
    camera: int
    modality: str


@dataclass(frozen=True)
class IdentityView:
    """One identity with its images by camera and every source's labels.

    ``labels[source][(attribute, camera)] = value`` (camera 0 = identity-wide);
    ``decisions[(attribute, camera)] = value``.
    """

    dataset: str
    dataset_root: str
    pid: int
    split: str | None
    """SYSU: train, val or test; None where the identity has no fixed split (RegDB)."""
    version: int
    reviewed: bool
    images: Mapping[int, tuple[ImageInfo, ...]]
    labels: Mapping[str, Mapping[tuple[str, int], int]]
    decisions: Mapping[tuple[str, int], int] = field(default_factory=lambda: MappingProxyType({}))

    def label(self, source: str, attribute: str, camera: int = 0) -> int | None:
        return self.labels.get(source, {}).get((attribute, camera))


def pairs(rows: Iterable[Any]) -> dict[Any, Any]:
    """``{first: second}`` from two-column result rows."""
    return {a: b for a, b in rows}


def validate_attribute(attribute: str) -> str:
    if attribute not in ATTRIBUTE_KEYS:
        raise ValueError(f"unknown attribute {attribute!r}; expected one of {ATTRIBUTE_KEYS}")
    return attribute


def validate_value(value: int) -> int:
    if value not in (LabelValue.NEGATIVE, LabelValue.POSITIVE, LabelValue.UNKNOWN):
        raise ValueError(f"label value must be 0, 1 or -1 (unknown), got {value!r}")
    return int(value)


def _known(session: Session, column: Any) -> str:
    """The values of a name column, sorted and comma-separated (``none`` when empty)."""
    return ", ".join(session.scalars(select(column).order_by(column))) or "none"


def dataset_row(session: Session, name: str) -> Dataset:
    row = session.scalar(select(Dataset).where(Dataset.name == name))
    if row is None:
        known = _known(session, Dataset.name)
        raise UnknownDatasetError(f"no dataset named {name!r} is registered (registered: {known})")
    return row


def identity_row(session: Session, dataset: str, pid: int) -> Identity:
    row = session.scalar(
        select(Identity).join(Dataset).where(Dataset.name == dataset, Identity.pid == pid)
    )
    if row is None:
        dataset_row(session, dataset)  # raises UnknownDatasetError if that is the problem
        raise UnknownIdentityError(f"dataset {dataset!r} has no identity {pid}")
    return row


def find_annotator(session: Session, name: str) -> Annotator | None:
    """The annotator ``name`` designates: the exact spelling, else the one whose name is
    the same up to case and width (the oldest, if older data holds several)."""
    row = session.scalar(select(Annotator).where(Annotator.name == name))
    if row is not None:
        return row
    key = annotator_key(name)
    for candidate in session.scalars(select(Annotator).order_by(Annotator.id)):
        try:
            if annotator_key(candidate.name) == key:
                return candidate
        except ValueError:  # a name stored before the rules: only an exact match finds it
            continue
    return None


def canonical_annotator(session: Session, name: str) -> str:
    """``name`` cleaned, spelt as the store already knows that person (or as given)."""
    name = clean_annotator_name(name)
    row = find_annotator(session, name)
    return row.name if row is not None else name


def annotator_row(session: Session, name: str) -> Annotator:
    """The annotator called ``name`` (up to case and width), created on first use, with
    its personal source. A ValueError when the name breaks the annotator rule."""
    if not name or not name.strip():
        raise ValueError("an annotator needs a name")
    row = session.scalar(select(Annotator).where(Annotator.name == name))
    if row is None:
        name = clean_annotator_name(name)
        row = find_annotator(session, name)
    if row is None:
        try:
            # a savepoint: on PostgreSQL two sessions may create the same name at once;
            # the loser reads the winner's row instead of failing the whole save
            with session.begin_nested():
                row = Annotator(name=name)
                session.add(row)
                session.flush()
                session.add(
                    Source(name=annotator_source_name(name), kind="annotator", annotator_id=row.id)
                )
                session.flush()
        except IntegrityError:
            row = session.scalar(select(Annotator).where(Annotator.name == name))
            if row is None:
                raise
    return row


def annotator_ids(session: Session, name: str) -> tuple[int, int]:
    """``(annotator id, id of their personal source)`` in one query; created on first use."""
    row = session.execute(
        select(Annotator.id, Source.id)
        .join(Source, Source.annotator_id == Annotator.id)
        .where(Annotator.name == name, Source.name == annotator_source_name(name))
    ).first()
    if row is None:
        who = annotator_row(session, name)
        return who.id, source_row(session, annotator_source_name(who.name)).id
    return row[0], row[1]


def identity_id(session: Session, dataset: str, pid: int) -> int:
    """The row id of ``dataset``'s identity ``pid`` in one query (no ORM object)."""
    found = session.scalar(
        select(Identity.id).join(Dataset).where(Dataset.name == dataset, Identity.pid == pid)
    )
    if found is None:
        identity_row(session, dataset, pid)  # raises the right error
    assert found is not None
    return found


def annotator_source_name(name: str) -> str:
    return f"{ANNOTATOR_SOURCE_PREFIX}{name}"


def source_row(session: Session, name: str) -> Source:
    row = session.scalar(select(Source).where(Source.name == name))
    if row is None:
        known = _known(session, Source.name)
        raise UnknownSourceError(f"no label source named {name!r} (known sources: {known})")
    return row


def list_sources(session: Session) -> list[str]:
    return list(session.scalars(select(Source.name).order_by(Source.name)))
