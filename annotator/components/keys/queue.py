"""Applying the Annotate page's queued key presses, in order (no Streamlit here).

Label and undo keys act on the identity under the cursor; consecutive ones are applied
as one batch in one transaction
(:func:`~annotator.store.services.label_writes.apply_key_batch`).
Navigation keys move the cursor, so ``1 2 3 N 4`` labels three attributes on this
identity and one on the next needing work. A conflict with another person's change
stops the queue: the keys after it are dropped and the message says how many.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import OperationalError

from annotator.components.keys.shortcuts import Action, Nav, action
from annotator.store.db import Store
from annotator.store.errors import StaleVersionError, StoreError
from annotator.store.services.label_writes import AcceptSuggestions, Flip, KeyStep, apply_key_batch
from annotator.store.services.lookups import identity_row
from annotator.store.services.queue import neighbour, next_identity
from annotator.store.services.suggestions import next_least_confident

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cursor:
    """The identity keys act on, and the version its saves build on."""

    pid: int
    version: int


@dataclass(frozen=True)
class QueueOutcome:
    """What :func:`apply_keys` did.

    ``cursor``: where the keys left it. ``saved``: one line per saved change, oldest
    first (``"id 6: gender = female"``). ``notes``: for the person (nothing there,
    nothing to undo, no name). ``error``: the conflict that stopped the queue (the keys
    after it are dropped), or a busy database. ``consumed``: how many keys are done with
    (applied, skipped or dropped); the rest, after a busy database, are to be sent again.
    """

    cursor: Cursor
    saved: tuple[str, ...]
    notes: tuple[str, ...]
    consumed: int
    error: str | None = None


def apply_keys(
    store: Store,
    dataset: str,
    cursor: Cursor,
    keys: Sequence[str],
    annotator: str | None,
    split: str | None,
    suggestions: str | None = None,
    least_confident: bool = False,
) -> QueueOutcome:
    """Apply ``keys`` (shortcut names, oldest first) starting at ``cursor``.

    ``suggestions``: the model source whose suggestions the page shows (``Enter`` saves
    them, a digit flips away from them); none: the dataset's usual values. ``least_confident``: ``N`` goes to the least confident
    identity of that source not fully labelled, instead of the next by id."""
    saved: list[str] = []
    notes: list[str] = []
    batch: list[KeyStep] = []
    batch_start = 0  # index in ``keys`` of the batch's first key

    def flush(at: Cursor) -> Cursor:
        if not batch:
            return at
        steps = list(batch)
        batch.clear()
        if not annotator:
            notes.append(f"{len(steps)} label key(s) ignored: enter your name first.")
            return at
        with store.write() as s:
            result = apply_key_batch(s, dataset, at.pid, steps, annotator, at.version,
                                     build_on_own=True)  # fmt: skip
        saved.extend(f"id {at.pid}: {line}" for line in result.saved)
        notes.extend(result.skipped)
        return Cursor(at.pid, result.version)

    def outcome(at: Cursor, consumed: int, error: str | None = None) -> QueueOutcome:
        return QueueOutcome(at, tuple(saved), tuple(notes), consumed, error)

    for index, key in enumerate([*keys, None]):
        act = None if key is None else _parse(key)
        if isinstance(act, AcceptSuggestions):
            act = AcceptSuggestions(suggestions or "")
        elif isinstance(act, Flip):
            act = Flip(act.attribute, suggestions or "")
        if act is not None and not isinstance(act, Nav):
            if not batch:
                batch_start = index
            batch.append(act)
            continue
        if act is None and key is not None:
            continue  # not a shortcut: logged, skipped
        try:
            cursor = flush(cursor)
        except StaleVersionError as exc:
            dropped = len(keys) - index
            message = str(exc) + (f" The {dropped} key(s) typed after it were not applied."
                                  if dropped else "")  # fmt: skip
            # the page shows the identity again, with the other person's change
            return outcome(Cursor(cursor.pid, exc.actual), len(keys), message)
        except StoreError as exc:
            return outcome(cursor, len(keys), str(exc))
        except OperationalError as exc:  # e.g. the database is locked: send those again
            log.warning("key batch not saved, to be retried: %s", exc)
            return outcome(cursor, batch_start, "The database is busy; your keys are kept.")
        if isinstance(act, Nav):
            source = suggestions if least_confident else None
            cursor = _move(store, dataset, cursor, act, annotator, split, notes, source)
    return outcome(cursor, len(keys))


def _parse(key: str) -> Action | None:
    try:
        return action(key)
    except ValueError as exc:
        log.warning("ignoring a key from the browser: %s", exc)
        return None


def _move(
    store: Store,
    dataset: str,
    cursor: Cursor,
    nav: Nav,
    annotator: str | None,
    split: str | None,
    notes: list[str],
    least_confident_of: str | None = None,
) -> Cursor:
    with store.read() as s:
        if nav is Nav.NEEDING_WORK and least_confident_of:
            pid = next_least_confident(
                s, dataset, annotator or "", least_confident_of, split, cursor.pid
            )
            if pid is None:
                notes.append("Every identity with suggestions is fully labelled.")
        elif nav is Nav.NEEDING_WORK:
            pid = next_identity(s, dataset, annotator or "", split, cursor.pid)
            if pid is None:
                notes.append("Every identity in this selection is fully labelled.")
        else:
            pid = neighbour(s, dataset, cursor.pid, -1 if nav is Nav.PREVIOUS else 1, split)
            if pid is None:
                notes.append("No identity there.")
        if pid is None or pid == cursor.pid:
            return cursor
        return Cursor(pid, identity_row(s, dataset, pid).version)
