"""Reading labels: one identity as the pages show it, its history, what a person sees."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotator.store.models import (
    IDENTITY_WIDE,
    Annotator,
    Dataset,
    Decision,
    HistoryEntry,
    Identity,
    Image,
    Label,
    Source,
)
from annotator.store.services.annotators import annotator_source_name
from annotator.store.services.lookups import identity_row
from annotator.store.services.records import IdentityView, ImageInfo
from paenet.attributes import ATTRIBUTE_KEYS
from paenet.attributes import attribute as schema_attribute


@dataclass(frozen=True)
class HistoryRecord:
    id: int
    version: int
    kind: str
    attribute: str
    camera: int
    source: str | None
    old_value: int | None
    new_value: int | None
    annotator: str | None
    at: datetime
    undoes: int | None
    note: str | None = None
    """Where the value came from when not typed (an accepted model suggestion)."""

    def describe(self) -> str:
        a = schema_attribute(self.attribute)
        where = "" if self.camera == IDENTITY_WIDE else f" (cam{self.camera})"
        who = self.annotator or self.source or "?"
        verb = {"label": "set", "decision": "decided", "undo": "undid to"}[self.kind]
        line = (
            f"{who} {verb} {a.key}{where}: {value_name(a.key, self.old_value)} → "
            f"{value_name(a.key, self.new_value)}"
        )
        return f"{line} ({self.note})" if self.note else line


def value_name(key: str, value: int | None) -> str:
    """``key``'s value as a person reads it; ``(none)`` when not set."""
    return "(none)" if value is None else schema_attribute(key).value_name(value)


def get_identity(session: Session, dataset: str, pid: int) -> IdentityView:
    """The identity with its images by camera, every source's labels and the decisions.

    Four column queries (no ORM objects): identity, images, labels, decisions.
    """
    row = session.execute(
        select(Dataset.name, Dataset.root, Identity.id, Identity.split, Identity.version,
               Identity.reviewed)
        .join(Identity, Identity.dataset_id == Dataset.id)
        .where(Dataset.name == dataset, Identity.pid == pid)
    ).first()  # fmt: skip
    if row is None:
        identity_row(session, dataset, pid)  # raises the right error
    assert row is not None
    ds_name, ds_root, iid, split, version, reviewed = row
    images: dict[int, list[ImageInfo]] = {}
    for img_id, path, cam, modality in session.execute(
        select(Image.id, Image.path, Image.camera, Image.modality)
        .where(Image.identity_id == iid)
        .order_by(Image.camera, Image.path)
    ):
        images.setdefault(cam, []).append(ImageInfo(img_id, path, cam, modality))
    labels: dict[str, dict[tuple[str, int], int]] = {}
    for src, attr, cam, value in session.execute(
        select(Source.name, Label.attribute, Label.camera, Label.value)
        .join(Source, Label.source_id == Source.id)
        .where(Label.identity_id == iid)
    ):
        labels.setdefault(src, {})[(attr, cam)] = value
    decisions = {
        (attr, cam): value
        for attr, cam, value in session.execute(
            select(Decision.attribute, Decision.camera, Decision.value).where(
                Decision.identity_id == iid
            )
        )
    }
    return IdentityView(
        dataset=ds_name,
        dataset_root=ds_root,
        pid=pid,
        split=split,
        version=version,
        reviewed=reviewed,
        images=MappingProxyType({c: tuple(v) for c, v in images.items()}),
        labels=MappingProxyType({k: MappingProxyType(v) for k, v in labels.items()}),
        decisions=MappingProxyType(decisions),
    )


def history(session: Session, dataset: str, pid: int) -> list[HistoryRecord]:
    """Every change of this identity, oldest first."""
    ident = identity_row(session, dataset, pid)
    rows = session.execute(
        select(HistoryEntry, Source.name, Annotator.name)
        .outerjoin(Source, HistoryEntry.source_id == Source.id)
        .outerjoin(Annotator, HistoryEntry.annotator_id == Annotator.id)
        .where(HistoryEntry.identity_id == ident.id)
        .order_by(HistoryEntry.id)
    )
    return [
        HistoryRecord(
            h.id,
            h.version,
            h.kind,
            h.attribute,
            h.camera,
            src,
            h.old_value,
            h.new_value,
            who,
            h.at,
            h.undoes,
            h.note,
        )
        for h, src, who in rows
    ]


def label_camera(camera: int | None) -> int:
    """The camera a label is stored under: ``None`` is the identity-wide label (0)."""
    return IDENTITY_WIDE if camera is None else camera


@dataclass(frozen=True)
class AttributeLabels:
    """One attribute of an identity as a person labelling it sees it: their own label
    (``None`` = not set) and every other source's label, by source name."""

    mine: int | None
    others: Mapping[str, int]


def labels_seen_by(
    view: IdentityView, annotator: str | None, camera: int | None = None
) -> dict[str, AttributeLabels]:
    """``{attribute key: AttributeLabels}`` for ``annotator`` (``None``: nobody signed in)
    on ``camera`` (``None``: the identity-wide labels)."""
    mine = annotator_source_name(annotator) if annotator else None
    cam = label_camera(camera)
    return {
        key: AttributeLabels(
            mine=view.label(mine, key, cam) if mine else None,
            others=MappingProxyType(
                {
                    src: vals[(key, cam)]
                    for src, vals in sorted(view.labels.items())
                    if src != mine and (key, cam) in vals
                }
            ),
        )
        for key in ATTRIBUTE_KEYS
    }
