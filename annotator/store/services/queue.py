"""What needs work: per-identity status, next identity to label, progress, conflicts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from annotator.store.models import IDENTITY_WIDE, Dataset, Decision, Identity, Label, Source
from annotator.store.services.annotators import annotator_source_name
from annotator.store.services.lookups import dataset_row
from paenet.attributes import ATTRIBUTE_KEYS, NUM_ATTRIBUTES
from paenet.data.kinds import identity_split, identity_splits


class Status(StrEnum):
    UNLABELLED = "unlabelled"
    PARTIAL = "partial"
    CONFLICT = "conflict"
    DONE = "done"


NEEDS_WORK = (Status.UNLABELLED, Status.PARTIAL, Status.CONFLICT)


@dataclass(frozen=True)
class Conflict:
    """Known values (0/1) of one attribute that disagree, with who gave which."""

    pid: int
    split: str | None
    attribute: str
    values: tuple[tuple[str, int, int], ...]
    """``(source, camera, value)``; camera 0 = identity-wide."""


@dataclass(frozen=True)
class Progress:
    """How many identities of one group are in each status for one annotator."""

    total: int
    done: int
    partial: int
    unlabelled: int
    conflict: int
    reviewed: int

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0


@dataclass(frozen=True)
class ProgressReport:
    overall: Progress
    """Every identity of the dataset, each counted once, whatever its split."""
    by_split: Mapping[str, Progress]
    """Per identity split, in the split type's order (SYSU: train, val, test); empty for
    RegDB, whose identities carry no split. Identities without one count only in
    ``overall``."""


def _split_value(session: Session, dataset: str, split: str | None) -> str | None:
    """Validate a split filter against the dataset's kind (ValueError naming the choices)."""
    if split is None:
        return None
    return identity_split(dataset_row(session, dataset).kind, split).value


def _source_id(session: Session, annotator: str) -> int | None:
    return session.scalar(select(Source.id).where(Source.name == annotator_source_name(annotator)))


def next_identity(
    session: Session,
    dataset: str,
    annotator: str,
    split: str | None = None,
    after_pid: int | None = None,
    include_conflicts: bool = False,
) -> int | None:
    """The next identity (by pid, wrapping around) that this annotator has not fully labelled
    or, with ``include_conflicts``, that has an undecided conflict (sources or cameras
    disagreeing; one more aggregate query). ``split`` must be one of the dataset kind's
    identity splits (one more lookup).

    "Fully" = all attributes set identity-wide (unknown counts). One statement (two when
    it wraps around): the dataset and the annotator's source are scalar subqueries and
    a correlated count stops at the first unfinished identity instead of grouping all.
    """
    split = _split_value(session, dataset, split)
    ds_id = select(Dataset.id).where(Dataset.name == dataset).scalar_subquery()
    src_id = (
        select(Source.id).where(Source.name == annotator_source_name(annotator)).scalar_subquery()
    )
    own = (
        select(func.count(Label.id))
        .where(
            Label.identity_id == Identity.id,
            Label.source_id == src_id,
            Label.camera == IDENTITY_WIDE,
        )
        .correlate(Identity)
        .scalar_subquery()
    )
    needs_work = own < NUM_ATTRIBUTES
    if include_conflicts:
        ds = dataset_row(session, dataset)
        conflicted = sorted({pid for pid, _ in _conflicted_pairs(session, ds.id, None, False)})
        if conflicted:
            needs_work = or_(needs_work, Identity.pid.in_(conflicted))
    base = (
        select(Identity.pid)
        .where(Identity.dataset_id == ds_id, needs_work)
        .order_by(Identity.pid)
        .limit(1)
    )
    if split is not None:
        base = base.where(Identity.split == split)
    if after_pid is not None:
        found = session.scalar(base.where(Identity.pid > after_pid))
        if found is not None:
            return found
    found = session.scalar(base)
    if found is None:
        dataset_row(session, dataset)  # an unknown dataset is an error, not "all done"
    return found


def neighbour(
    session: Session, dataset: str, pid: int, step: int, split: str | None = None
) -> int | None:
    """The previous (``step=-1``) or next (``step=1``) identity by pid, or None at the ends."""
    ds = dataset_row(session, dataset)
    split = _split_value(session, dataset, split)
    q = select(Identity.pid).where(Identity.dataset_id == ds.id)
    if split is not None:
        q = q.where(Identity.split == split)
    if step > 0:
        q = q.where(Identity.pid > pid).order_by(Identity.pid)
    else:
        q = q.where(Identity.pid < pid).order_by(Identity.pid.desc())
    return session.scalar(q.limit(1))


def _conflicted_pairs(
    session: Session, dataset_id: int, attribute: str | None, include_decided: bool
) -> set[tuple[int, str]]:
    """(pid, attribute) whose known values disagree: one aggregate query."""
    q = (
        select(Identity.pid, Label.attribute)
        .join(Label, Label.identity_id == Identity.id)
        .where(Identity.dataset_id == dataset_id, Label.value >= 0)
        .group_by(Identity.pid, Label.attribute)
        .having(func.min(Label.value) != func.max(Label.value))
    )
    if attribute is not None:
        q = q.where(Label.attribute == attribute)
    pairs = {(pid, attr) for pid, attr in session.execute(q)}
    if pairs and not include_decided:
        decided = {
            (pid, attr)
            for pid, attr in session.execute(
                select(Identity.pid, Decision.attribute)
                .join(Decision, Decision.identity_id == Identity.id)
                .where(Identity.dataset_id == dataset_id, Decision.camera == IDENTITY_WIDE)
            )
        }
        pairs -= decided
    return pairs


def conflicts(
    session: Session, dataset: str, attribute: str | None = None, include_decided: bool = False
) -> list[Conflict]:
    """Attributes whose known values disagree across sources or cameras (undecided ones
    unless ``include_decided``), sorted by pid and attribute order."""
    ds = dataset_row(session, dataset)
    pairs = _conflicted_pairs(session, ds.id, attribute, include_decided)
    if not pairs:
        return []
    pids = sorted({pid for pid, _ in pairs})
    details: dict[tuple[int, str], list[tuple[str, int, int]]] = defaultdict(list)
    splits: dict[int, str | None] = {}
    for pid, split, src, attr, cam, value in session.execute(
        select(
            Identity.pid, Identity.split, Source.name, Label.attribute, Label.camera, Label.value
        )
        .join(Label, Label.identity_id == Identity.id)
        .join(Source, Source.id == Label.source_id)
        .where(Identity.dataset_id == ds.id, Identity.pid.in_(pids))
    ):
        splits[pid] = split
        if (pid, attr) in pairs:
            details[(pid, attr)].append((src, cam, value))
    order = {k: i for i, k in enumerate(ATTRIBUTE_KEYS)}
    return [
        Conflict(pid, splits[pid], attr, tuple(sorted(details[(pid, attr)])))
        for pid, attr in sorted(pairs, key=lambda p: (p[0], order[p[1]]))
    ]


def statuses(session: Session, dataset: str, annotator: str) -> dict[int, Status]:
    """Status of every identity for this annotator (conflicts count all sources)."""
    ds = dataset_row(session, dataset)
    src = _source_id(session, annotator)
    own = {
        pid: n
        for pid, n in session.execute(
            select(Identity.pid, func.count(Label.id))
            .join(Label, Label.identity_id == Identity.id)
            .where(
                Identity.dataset_id == ds.id,
                Label.source_id == (src if src is not None else -1),
                Label.camera == IDENTITY_WIDE,
            )
            .group_by(Identity.pid)
        )
    }
    conflicted = {pid for pid, _ in _conflicted_pairs(session, ds.id, None, False)}
    out: dict[int, Status] = {}
    for pid in session.scalars(select(Identity.pid).where(Identity.dataset_id == ds.id)):
        n = own.get(pid, 0)
        if pid in conflicted:
            out[pid] = Status.CONFLICT
        elif n == 0:
            out[pid] = Status.UNLABELLED
        elif n < NUM_ATTRIBUTES:
            out[pid] = Status.PARTIAL
        else:
            out[pid] = Status.DONE
    return out


def progress(
    session: Session,
    dataset: str,
    annotator: str,
    known: Mapping[int, Status] | None = None,
) -> ProgressReport:
    """How many identities this annotator has done: overall and per identity split.

    ``known``: the result of :func:`statuses` when the caller already has it.
    """
    ds = dataset_row(session, dataset)
    st = known if known is not None else statuses(session, dataset, annotator)
    rows = session.execute(
        select(Identity.pid, Identity.split, Identity.reviewed).where(Identity.dataset_id == ds.id)
    )
    overall: list[tuple[Status, bool]] = []
    by_split: dict[str, list[tuple[Status, bool]]] = defaultdict(list)
    for pid, split, reviewed in rows:
        overall.append((st[pid], reviewed))
        if split is not None:
            by_split[split].append((st[pid], reviewed))
    order = identity_splits(ds.kind)
    return ProgressReport(
        overall=_count(overall),
        by_split=MappingProxyType(
            {split: _count(by_split[split]) for split in order if split in by_split}
        ),
    )


def _count(items: list[tuple[Status, bool]]) -> Progress:
    return Progress(
        total=len(items),
        done=sum(1 for s, _ in items if s is Status.DONE),
        partial=sum(1 for s, _ in items if s is Status.PARTIAL),
        unlabelled=sum(1 for s, _ in items if s is Status.UNLABELLED),
        conflict=sum(1 for s, _ in items if s is Status.CONFLICT),
        reviewed=sum(1 for _, r in items if r),
    )
