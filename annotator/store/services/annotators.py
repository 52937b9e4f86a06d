"""Annotators: finding one by name (up to case and width), creating one with its
personal label source (``annotator:NAME``) on first use."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from annotator.store.models import Annotator, Source
from annotator.store.services.lookups import source_row
from annotator.store.services.names import annotator_key, clean_annotator_name

ANNOTATOR_SOURCE_PREFIX = "annotator:"


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


def annotator_source_name(name: str) -> str:
    return f"{ANNOTATOR_SOURCE_PREFIX}{name}"
