"""Finding rows by name or id, with errors that list what exists."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotator.store.errors import UnknownDatasetError, UnknownIdentityError, UnknownSourceError
from annotator.store.models import Dataset, Identity, Source

_Named = TypeVar("_Named", Dataset, Source)


def pairs(rows: Iterable[Any]) -> dict[Any, Any]:
    """``{first: second}`` from two-column result rows."""
    return {a: b for a, b in rows}


def _named_row(
    session: Session, model: type[_Named], name: str, error: Callable[[str], Exception]
) -> _Named:
    """The row of ``model`` called ``name``, else ``error(known)`` is raised, ``known``
    being every name there is, sorted and comma-separated (``none`` when empty)."""
    row = session.scalar(select(model).where(model.name == name))
    if row is None:
        raise error(", ".join(session.scalars(select(model.name).order_by(model.name))) or "none")
    return row


def dataset_row(session: Session, name: str) -> Dataset:
    return _named_row(session, Dataset, name, lambda known: UnknownDatasetError(
        f"no dataset named {name!r} is registered (registered: {known})"
    ))  # fmt: skip


def source_row(session: Session, name: str) -> Source:
    return _named_row(session, Source, name, lambda known: UnknownSourceError(
        f"no label source named {name!r} (known sources: {known})"
    ))  # fmt: skip


def identity_row(session: Session, dataset: str, pid: int) -> Identity:
    row = session.scalar(
        select(Identity).join(Dataset).where(Dataset.name == dataset, Identity.pid == pid)
    )
    if row is None:
        dataset_row(session, dataset)  # raises UnknownDatasetError if that is the problem
        raise UnknownIdentityError(f"dataset {dataset!r} has no identity {pid}")
    return row


def identity_id(session: Session, dataset: str, pid: int) -> int:
    """The row id of ``dataset``'s identity ``pid`` in one query (no ORM object)."""
    found = session.scalar(
        select(Identity.id).join(Dataset).where(Dataset.name == dataset, Identity.pid == pid)
    )
    if found is None:
        identity_row(session, dataset, pid)  # raises the right error
    assert found is not None
    return found


def list_sources(session: Session) -> list[str]:
    return list(session.scalars(select(Source.name).order_by(Source.name)))
