"""Saving labels with optimistic concurrency: labels, key batches, undo, decisions, review.

Every change bumps the identity's ``version`` with ``UPDATE … WHERE version = seen``:
a save based on a stale version changes nothing and raises
:class:`~annotator.store.errors.StaleVersionError` describing what others changed.
History is append-only: an undo is itself a recorded change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from annotator.store.errors import StaleVersionError, StoreError
from annotator.store.models import (
    IDENTITY_WIDE,
    Decision,
    HistoryEntry,
    Identity,
    Label,
    utcnow,
)
from annotator.store.services.annotators import annotator_ids, annotator_source_name
from annotator.store.services.label_reads import HistoryRecord, history, label_camera, value_name
from annotator.store.services.lookups import identity_id, source_row
from annotator.store.services.validation import validate_attribute, validate_value
from paenet.attributes import LabelValue


def _bump(
    session: Session,
    iid: int,
    dataset: str,
    pid: int,
    expected: int,
    build_on_own: int | None = None,
) -> int:
    """``UPDATE … SET version = expected + 1 WHERE version = expected``, else the conflict.

    With ``build_on_own`` (an annotator id), a save that is stale only because of that
    annotator's own newer saves (e.g. a key pressed before the page re-rendered) builds
    on the current version instead: every version after ``expected`` must have history
    rows, all of them signed by that annotator. Anything else is a conflict.

    On PostgreSQL a concurrent writer's UPDATE waits for the row lock and then sees the
    new version, so exactly one of two saves based on the same version wins.
    """
    if _try_bump(session, iid, expected):
        return expected + 1
    actual = session.scalar(select(Identity.version).where(Identity.id == iid)) or 0
    if (
        build_on_own is not None
        and _only_own_since(session, iid, build_on_own, expected, actual)
        and _try_bump(session, iid, actual)
    ):
        return actual + 1
    changes = [h.describe() for h in history(session, dataset, pid) if h.version > expected]
    raise StaleVersionError(dataset, pid, expected, actual, changes)


def _try_bump(session: Session, iid: int, expected: int) -> bool:
    result = session.execute(
        update(Identity)
        .where(Identity.id == iid, Identity.version == expected)
        .values(version=expected + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)


def _only_own_since(session: Session, iid: int, who: int, expected: int, actual: int) -> bool:
    """Every version in ``(expected, actual]`` was written by annotator ``who`` alone."""
    rows = session.execute(
        select(HistoryEntry.version, HistoryEntry.annotator_id).where(
            HistoryEntry.identity_id == iid, HistoryEntry.version > expected
        )
    ).all()
    versions = {v for v, _ in rows}
    return versions >= set(range(expected + 1, actual + 1)) and all(a == who for _, a in rows)


def set_label(
    session: Session,
    dataset: str,
    pid: int,
    attribute: str,
    value: int | None,
    annotator: str,
    expected_version: int,
    camera: int | None = IDENTITY_WIDE,
    *,
    build_on_own: bool = False,
) -> int:
    """Set (or with ``value=None`` clear) the annotator's label; returns the new version.

    ``camera=None`` (or 0) is the identity-wide label. ``build_on_own``: see
    :func:`set_labels`.
    """
    return set_labels(
        session, dataset, pid, {attribute: value}, annotator, expected_version, camera,
        build_on_own=build_on_own,
    )  # fmt: skip


def set_labels(
    session: Session,
    dataset: str,
    pid: int,
    values: Mapping[str, int | None],
    annotator: str,
    expected_version: int,
    camera: int | None = IDENTITY_WIDE,
    *,
    build_on_own: bool = False,
) -> int:
    """Set several of the annotator's labels of one identity as one change (one version).

    Raises :class:`StaleVersionError` (nothing written) when the identity's version is
    no longer ``expected_version``; returns the new version otherwise. With
    ``build_on_own``, a version that moved on only through this annotator's own saves
    is not a conflict: the change builds on the current version.
    """
    for key, value in values.items():
        validate_attribute(key)
        if value is not None:
            validate_value(value)
    iid = identity_id(session, dataset, pid)
    who, src = annotator_ids(session, annotator)
    version = _bump(session, iid, dataset, pid, expected_version, who if build_on_own else None)
    return _write_labels(session, iid, label_camera(camera), src, who, values, version)


@dataclass(frozen=True)
class SetValue:
    """A value key: the annotator's identity-wide ``attribute`` becomes ``value``."""

    attribute: str
    value: int


@dataclass(frozen=True)
class Undo:
    """The undo key: undo the annotator's latest label change on the identity."""


@dataclass(frozen=True)
class AcceptSuggestions:
    """The accept key (Enter): every attribute the annotator has not labelled takes the
    value the page shows for it: the suggestion of model source ``source``, else (no
    source, or none for this identity) the dataset's usual value
    (:func:`annotator.store.services.suggestions.shown_values`)."""

    source: str = ""


@dataclass(frozen=True)
class Flip:
    """A digit key: the annotator's identity-wide ``attribute`` flips away from what the
    page shows: a saved 0/1 becomes the other value, a saved unknown the shown value, an
    unset attribute the opposite of the shown value (model ``source``'s suggestion, else
    the dataset's usual value). So the usual case is Enter, an exception one digit."""

    attribute: str
    source: str = ""


KeyStep = SetValue | Undo | AcceptSuggestions | Flip


@dataclass(frozen=True)
class KeyBatchResult:
    """What :func:`apply_key_batch` did: the identity's version after the batch, one line
    per saved change (oldest first) and one per step that had nothing to do."""

    version: int
    saved: tuple[str, ...]
    skipped: tuple[str, ...]


def apply_key_batch(
    session: Session,
    dataset: str,
    pid: int,
    steps: Sequence[KeyStep],
    annotator: str,
    expected_version: int,
    *,
    build_on_own: bool = False,
) -> KeyBatchResult:
    """Apply key presses to one identity in order, in the caller's transaction.

    Each step is its own change (its own version and history row), so ``1`` then
    ``Shift+1`` leaves value 0 and undo steps back one key at a time. The first step is
    checked against ``expected_version`` (with ``build_on_own`` as in :func:`set_labels`);
    a conflict raises :class:`StaleVersionError` and, the transaction being rolled
    back, nothing of the batch is written. An undo with nothing to undo is skipped.
    """
    for step in steps:
        if isinstance(step, SetValue):
            validate_attribute(step.attribute)
            validate_value(step.value)
        if isinstance(step, Flip):
            validate_attribute(step.attribute)
    iid = identity_id(session, dataset, pid)
    who, src = annotator_ids(session, annotator)
    version, own = expected_version, who if build_on_own else None
    saved: list[str] = []
    skipped: list[str] = []
    for step in steps:
        if isinstance(step, SetValue):
            version = _bump(session, iid, dataset, pid, version, own)
            _write_labels(session, iid, IDENTITY_WIDE, src, who,
                          {step.attribute: step.value}, version)  # fmt: skip
            saved.append(f"{step.attribute} = {value_name(step.attribute, step.value)}")
            continue
        if isinstance(step, Flip):
            from annotator.store.services.suggestions import own_labels, shown_values

            shown = shown_values(session, iid, step.source).values[step.attribute]
            current = own_labels(session, iid, src).get(step.attribute)
            value = (
                shown
                if current == int(LabelValue.UNKNOWN)
                else 1 - (shown if current is None else current)
            )
            version = _bump(session, iid, dataset, pid, version, own)
            _write_labels(session, iid, IDENTITY_WIDE, src, who, {step.attribute: value},
                          version)  # fmt: skip
            saved.append(f"{step.attribute} = {value_name(step.attribute, value)}")
            continue
        if isinstance(step, AcceptSuggestions):
            from annotator.store.services.suggestions import open_suggestions

            todo = open_suggestions(session, iid, src, step.source)
            if todo.count:
                version = _bump(session, iid, dataset, pid, version, own)
                for _origin, note, values in todo.groups:
                    _write_labels(session, iid, IDENTITY_WIDE, src, who, values, version,
                                  note=note)  # fmt: skip
                saved.append(todo.describe(step.source))
            else:
                skipped.append(f"nothing left to accept on {dataset} id {pid}")
            continue
        target = _undo_target(session, dataset, pid, annotator)
        if target is None:
            skipped.append(f"nothing of {annotator}'s to undo on {dataset} id {pid}")
            continue
        version = _bump(session, iid, dataset, pid, version, own)
        _write_undo(session, iid, who, annotator, target, version)
        saved.append(f"undo {target.attribute} → {value_name(target.attribute, target.old_value)}")
    return KeyBatchResult(version, tuple(saved), tuple(skipped))


def _write_labels(
    session: Session,
    iid: int,
    camera: int,
    src: int,
    who: int,
    values: Mapping[str, int | None],
    version: int,
    kind: str = "label",
    undoes: int | None = None,
    note: str | None = None,
) -> int:
    """Replace the changed labels and append one history row per attribute (also when
    unchanged: the history shows every save) at ``version``, already bumped by the
    caller. A fixed number of statements whatever the number of attributes."""
    same = (Label.identity_id == iid, Label.camera == camera, Label.source_id == src)
    existing = {
        attr: value
        for attr, value in session.execute(
            select(Label.attribute, Label.value).where(*same, Label.attribute.in_(list(values)))
        )
    }
    changed = [a for a, v in values.items() if existing.get(a) != v]
    replaced = [a for a in changed if a in existing]
    if replaced:
        session.execute(delete(Label).where(*same, Label.attribute.in_(replaced)))
    now = utcnow()
    new_rows = [
        {"identity_id": iid, "attribute": a, "camera": camera, "source_id": src,
         "value": values[a], "set_by": who, "updated_at": now}
        for a in changed
        if values[a] is not None
    ]  # fmt: skip
    if new_rows:
        session.execute(insert(Label), new_rows)
    session.execute(
        insert(HistoryEntry),
        [
            {"identity_id": iid, "version": version, "kind": kind, "attribute": a,
             "camera": camera, "source_id": src, "old_value": existing.get(a), "new_value": v,
             "annotator_id": who, "undoes": undoes, "note": note, "at": now}
            for a, v in values.items()
        ],
    )  # fmt: skip
    return version


def undo_last(
    session: Session, dataset: str, pid: int, annotator: str, expected_version: int
) -> int:
    """Undo this annotator's latest label change on the identity not undone yet.

    The undo is itself a recorded change (kind ``undo``): history stays append-only.
    """
    target = _undo_target(session, dataset, pid, annotator)
    if target is None:
        raise StoreError(f"nothing of {annotator}'s to undo on {dataset} id {pid}")
    iid = identity_id(session, dataset, pid)
    who, _ = annotator_ids(session, annotator)
    version = _bump(session, iid, dataset, pid, expected_version)
    return _write_undo(session, iid, who, annotator, target, version)


def _undo_target(session: Session, dataset: str, pid: int, annotator: str) -> HistoryRecord | None:
    """The annotator's latest label change on the identity not undone yet, if any."""
    entries = [h for h in history(session, dataset, pid) if h.annotator == annotator]
    undone = {h.undoes for h in entries if h.undoes is not None}
    return next((h for h in reversed(entries) if h.kind == "label" and h.id not in undone), None)


def _write_undo(
    session: Session, iid: int, who: int, annotator: str, target: HistoryRecord, version: int
) -> int:
    src = source_row(session, target.source or annotator_source_name(annotator)).id
    return _write_labels(session, iid, target.camera, src, who,
                         {target.attribute: target.old_value}, version, kind="undo",
                         undoes=target.id)  # fmt: skip


def decide(
    session: Session, dataset: str, pid: int, attribute: str, value: int | None,
    annotator: str, expected_version: int, camera: int = IDENTITY_WIDE,
) -> int:  # fmt: skip
    """Record (or clear) the final value of an attribute after review (the parameters
    of :func:`set_label`)."""
    validate_attribute(attribute)
    if value is not None:
        validate_value(value)
    iid = identity_id(session, dataset, pid)
    who, _ = annotator_ids(session, annotator)
    version = _bump(session, iid, dataset, pid, expected_version)
    key = (Decision.identity_id == iid, Decision.attribute == attribute,
           Decision.camera == camera)  # fmt: skip
    old = session.scalar(select(Decision.value).where(*key))
    session.execute(delete(Decision).where(*key))
    if value is not None:
        session.add(Decision(identity_id=iid, attribute=attribute, camera=camera,
                             value=value, decided_by=who))  # fmt: skip
    session.add(HistoryEntry(identity_id=iid, version=version, kind="decision",
                             attribute=attribute, camera=camera, source_id=None, old_value=old,
                             new_value=value, annotator_id=who))  # fmt: skip
    session.flush()
    return version


def mark_reviewed(
    session: Session,
    dataset: str,
    pid: int,
    reviewed: bool = True,
    expected_version: int | None = None,
) -> int:
    """Mark (or unmark) the identity as reviewed; a change like any other, so it bumps the
    version. With ``expected_version`` it is refused (:class:`StaleVersionError`) when the
    identity changed meanwhile; returns the new version."""
    iid = identity_id(session, dataset, pid)
    if expected_version is None:
        expected_version = session.scalar(select(Identity.version).where(Identity.id == iid))
        assert expected_version is not None
    version = _bump(session, iid, dataset, pid, expected_version)
    session.execute(
        update(Identity)
        .where(Identity.id == iid)
        .values(reviewed=reviewed)
        .execution_options(synchronize_session=False)
    )
    return version
