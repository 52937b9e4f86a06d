"""Model suggestions: what a trained attribute head proposes for each identity.

A model is a label source of kind ``model`` (one per dataset and checkpoint run, named by
``paenet-predict --source``). Its values live in the ``suggestions`` table, never in
``labels``: agreement, review, decisions and the export's default policy only ever see
people's and imports' labels. A suggestion becomes a label when a person accepts it
(the ``Enter`` key, :class:`~annotator.store.services.label_writes.AcceptSuggestions`): the label
is then that person's, and its history row notes the model source and checkpoint.

Re-running ``paenet-predict`` under the same source name replaces that source's
suggestions for the dataset in one transaction; the source's details count the runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from annotator.store.errors import StoreError
from annotator.store.models import IDENTITY_WIDE, Identity, Label, Source, Suggestion
from annotator.store.services.lookups import dataset_row
from annotator.store.services.names import validate_slug
from annotator.store.services.validation import validate_attribute
from paenet.attributes import ATTRIBUTE_KEYS

MODEL_KIND = "model"


@dataclass(frozen=True)
class SuggestionRow:
    """One suggested attribute: ``probability`` of value 1 (the value is p ≥ 0.5)."""

    pid: int
    attribute: str
    camera: int
    probability: float


@dataclass(frozen=True)
class Suggested:
    value: int
    probability: float

    @property
    def confidence(self) -> float:
        """The probability of the suggested value (0.5 … 1)."""
        return self.probability if self.value == 1 else 1.0 - self.probability


@dataclass(frozen=True)
class ModelSource:
    name: str
    dataset: str
    details: Mapping[str, Any]

    @property
    def checkpoint_sha(self) -> str:
        return str(self.details.get("checkpoint", {}).get("sha256", ""))

    @property
    def calibrated(self) -> bool:
        return bool(self.details.get("calibration", {}).get("calibrated", False))


class NotAModelSourceError(StoreError):
    def __init__(self, name: str, kind: str) -> None:
        super().__init__(
            f"source {name!r} exists and is an {kind} source, not a model's; choose another "
            "--source name"
        )


def write_suggestions(
    session: Session,
    dataset: str,
    source: str,
    details: Mapping[str, Any],
    rows: Iterable[SuggestionRow],
) -> int:
    """Replace model source ``source``'s suggestions for ``dataset`` with ``rows`` (in the
    caller's transaction: all or nothing); returns the run number (1 for a new source).

    ``details`` (JSON-able) describes the run: checkpoint, manifest, calibration, time.
    Refuses a source name held by a person or an import, and one that holds another
    dataset's suggestions (one model source per dataset keeps the provenance simple)."""
    ds = dataset_row(session, dataset)
    validate_slug(source, "source name")
    src = session.execute(select(Source).where(Source.name == source)).scalar_one_or_none()
    run = 1
    if src is not None:
        if src.kind != MODEL_KIND:
            raise NotAModelSourceError(source, src.kind)
        old = json.loads(src.details or "{}")
        if old.get("dataset") not in (None, dataset):
            raise StoreError(
                f"model source {source!r} holds suggestions for dataset {old.get('dataset')!r}, "
                f"not {dataset!r}; choose another --source name"
            )
        run = int(old.get("run", 0)) + 1
        session.execute(delete(Suggestion).where(Suggestion.source_id == src.id))
    else:
        src = Source(name=source, kind=MODEL_KIND)
        session.add(src)
        session.flush()
    src.details = json.dumps({**details, "dataset": dataset, "run": run}, sort_keys=True)
    src.origin = str(details.get("checkpoint", {}).get("path", ""))
    ids = dict(
        session.execute(select(Identity.pid, Identity.id).where(Identity.dataset_id == ds.id)).all()
    )
    values = []
    for r in rows:
        validate_attribute(r.attribute)
        if r.pid not in ids:
            raise StoreError(f"dataset {dataset!r} has no identity {r.pid}")
        p = float(r.probability)
        if not 0.0 <= p <= 1.0:
            raise StoreError(f"id {r.pid} {r.attribute}: probability {p} is not in [0, 1]")
        values.append(
            {"source_id": src.id, "identity_id": ids[r.pid], "attribute": r.attribute,
             "camera": r.camera, "value": int(p >= 0.5), "probability": p}
        )  # fmt: skip
    if values:
        session.execute(insert(Suggestion), values)
    session.flush()
    return run


def model_sources(session: Session, dataset: str | None = None) -> list[ModelSource]:
    """Every model source (of ``dataset``), newest first."""
    out = []
    for name, details in session.execute(
        select(Source.name, Source.details)
        .where(Source.kind == MODEL_KIND)
        .order_by(Source.id.desc())
    ):
        info = json.loads(details or "{}")
        if dataset is None or info.get("dataset") == dataset:
            out.append(ModelSource(name, str(info.get("dataset", "")), MappingProxyType(info)))
    return out


def model_source(session: Session, name: str) -> ModelSource:
    for src in model_sources(session):
        if src.name == name:
            return src
    raise StoreError(f"no model source named {name!r} (run paenet-predict first)")


def suggestions_of(
    session: Session, dataset: str, pid: int, source: str, camera: int = IDENTITY_WIDE
) -> dict[str, Suggested]:
    """``{attribute: Suggested}`` of model ``source`` for one identity (and camera)."""
    ds = dataset_row(session, dataset)
    rows = session.execute(
        select(Suggestion.attribute, Suggestion.value, Suggestion.probability)
        .join(Source, Suggestion.source_id == Source.id)
        .join(Identity, Suggestion.identity_id == Identity.id)
        .where(Source.name == source, Identity.dataset_id == ds.id, Identity.pid == pid,
               Suggestion.camera == camera)
    )  # fmt: skip
    return {a: Suggested(v, p) for a, v, p in rows}


@dataclass(frozen=True)
class UsualValue:
    """The more common value of an attribute among a dataset's identity-wide 0/1 labels
    (every person and import; ties and no labels: value 0, the schema's first value)."""

    value: int
    share: float | None
    """Its share among the labels; None without labels."""
    labelled: int


def usual_values(session: Session, dataset_id: int) -> dict[str, UsualValue]:
    """Per attribute, the dataset's usual value (one aggregate query)."""
    counts = {k: [0, 0] for k in ATTRIBUTE_KEYS}
    for attr, value, n in session.execute(
        select(Label.attribute, Label.value, func.count())
        .join(Identity, Label.identity_id == Identity.id)
        .where(Identity.dataset_id == dataset_id, Label.camera == IDENTITY_WIDE,
               Label.value.in_((0, 1)))
        .group_by(Label.attribute, Label.value)
    ):  # fmt: skip
        if attr in counts:
            counts[attr][int(value)] += int(n)
    out = {}
    for key, (zeros, ones) in counts.items():
        total = zeros + ones
        value = int(ones > zeros)
        out[key] = UsualValue(value, (max(zeros, ones) / total) if total else None, total)
    return out


@dataclass(frozen=True)
class ShownValues:
    """What the Annotate page shows for an identity's attributes that the labeller has not
    set: the model's suggestion (``origin`` ``model``), else the dataset's usual value
    (``usual``). A digit flips away from it, Enter saves it."""

    values: Mapping[str, int]
    origin: Mapping[str, str]
    note: Mapping[str, str]


def shown_values(session: Session, identity: int, source: str | None) -> ShownValues:
    """The value shown for each attribute of ``identity`` (an ``identities.id``)."""
    dataset_id = session.scalar(select(Identity.dataset_id).where(Identity.id == identity))
    usual = usual_values(session, int(dataset_id or 0))
    suggested: dict[str, int] = {}
    model_note = ""
    if source:
        suggested = dict(
            session.execute(
                select(Suggestion.attribute, Suggestion.value)
                .join(Source, Suggestion.source_id == Source.id)
                .where(Source.name == source, Suggestion.identity_id == identity,
                       Suggestion.camera == IDENTITY_WIDE)
            ).all()
        )  # fmt: skip
        if suggested:
            sha = model_source(session, source).checkpoint_sha[:12]
            model_note = f"accepted suggestion from model source {source}, checkpoint {sha}"
    values, origin, note = {}, {}, {}
    for key in ATTRIBUTE_KEYS:
        if key in suggested:
            values[key], origin[key], note[key] = suggested[key], "model", model_note
        else:
            u = usual[key]
            share = f"{u.share:.0%} of {u.labelled} labels" if u.share is not None else "no labels"
            values[key], origin[key] = u.value, "usual"
            note[key] = f"accepted the dataset's usual value ({share})"
    return ShownValues(MappingProxyType(values), MappingProxyType(origin), MappingProxyType(note))


@dataclass(frozen=True)
class OpenSuggestions:
    """What Enter saves: the shown value of every attribute the annotator has not set,
    grouped by history note (one group per origin)."""

    groups: tuple[tuple[str, str, Mapping[str, int]], ...]
    """``(origin, note, {attribute: value})``; origin ``model`` or ``usual``."""

    @property
    def count(self) -> int:
        return sum(len(v) for _, _, v in self.groups)

    def describe(self, source: str | None) -> str:
        """``accepted 6 suggestion(s) of m``, ``accepted 8 usual value(s)`` or both."""
        counts: dict[str, int] = {}
        for origin, _note, values in self.groups:
            counts[origin] = counts.get(origin, 0) + len(values)
        parts = [
            f"{n} suggestion(s) of {source}" if origin == "model" else f"{n} usual value(s)"
            for origin, n in counts.items()
        ]
        return "accepted " + " and ".join(parts)


def own_labels(session: Session, identity: int, annotator_source: int) -> dict[str, int]:
    """The annotator's identity-wide labels of ``identity``."""
    return dict(
        session.execute(
            select(Label.attribute, Label.value).where(
                Label.identity_id == identity,
                Label.source_id == annotator_source,
                Label.camera == IDENTITY_WIDE,
            )
        ).all()
    )


def open_suggestions(
    session: Session, identity: int, annotator_source: int, source: str | None
) -> OpenSuggestions:
    """The shown values (:func:`shown_values`) of the attributes on which the annotator
    (source id ``annotator_source``) has no identity-wide label yet."""
    if source:
        model_source(session, source)  # an unknown name is an error, not the usual values
    shown = shown_values(session, identity, source)
    own = own_labels(session, identity, annotator_source)
    groups: dict[tuple[str, str], dict[str, int]] = {}
    for key in ATTRIBUTE_KEYS:
        if key not in own:
            groups.setdefault((shown.origin[key], shown.note[key]), {})[key] = shown.values[key]
    return OpenSuggestions(tuple((o, n, MappingProxyType(v)) for (o, n), v in groups.items()))


def least_confident(session: Session, dataset: str, source: str) -> list[tuple[int, float]]:
    """``(pid, margin)`` of every identity with suggestions, least confident first: the
    margin is the smallest ``|p − 0.5|`` over its identity-wide attributes (ties by pid)."""
    ds = dataset_row(session, dataset)
    margin = func.min(func.abs(Suggestion.probability - 0.5))
    rows = session.execute(
        select(Identity.pid, margin)
        .join(Suggestion, Suggestion.identity_id == Identity.id)
        .join(Source, Suggestion.source_id == Source.id)
        .where(Source.name == source, Identity.dataset_id == ds.id,
               Suggestion.camera == IDENTITY_WIDE)
        .group_by(Identity.pid)
        .order_by(margin, Identity.pid)
    )  # fmt: skip
    return [(int(pid), float(m)) for pid, m in rows]


def next_least_confident(
    session: Session,
    dataset: str,
    annotator: str,
    source: str,
    split: str | None = None,
    current: int | None = None,
) -> int | None:
    """The least confident identity (:func:`least_confident`) that ``annotator`` has not
    fully labelled, other than ``current`` (within ``split`` when given); None when none."""
    from annotator.store.services.annotators import annotator_source_name

    ds = dataset_row(session, dataset)
    own_src = select(Source.id).where(Source.name == annotator_source_name(annotator))
    done = set(
        session.scalars(
            select(Identity.pid)
            .join(Label, Label.identity_id == Identity.id)
            .where(Identity.dataset_id == ds.id, Label.source_id.in_(own_src),
                   Label.camera == IDENTITY_WIDE)
            .group_by(Identity.pid)
            .having(func.count(Label.id) >= len(ATTRIBUTE_KEYS))
        )
    )  # fmt: skip
    allowed = None
    if split is not None:
        allowed = set(
            session.scalars(
                select(Identity.pid).where(Identity.dataset_id == ds.id, Identity.split == split)
            )
        )
    for pid, _margin in least_confident(session, dataset, source):
        if pid != current and pid not in done and (allowed is None or pid in allowed):
            return pid
    return None


@dataclass(frozen=True)
class AttributeMatch:
    """How often the model's identity-wide suggestion equals people's labels."""

    key: str
    compared: int
    matched: int

    @property
    def rate(self) -> float | None:
        return self.matched / self.compared if self.compared else None


def match_with_people(
    session: Session, dataset: str, source: str
) -> tuple[list[AttributeMatch], list[tuple[float, int]]]:
    """Per attribute, suggestions compared with every annotator's identity-wide 0/1
    label where both exist; and the ``(probability of 1, human label)`` pairs behind it
    (for a reliability plot). Unknown (-1) labels are left out: the model never says it."""
    ds = dataset_row(session, dataset)
    people = select(Source.id).where(Source.kind == "annotator")
    rows = session.execute(
        select(Suggestion.attribute, Suggestion.value, Suggestion.probability, Label.value)
        .join(Source, Suggestion.source_id == Source.id)
        .join(Identity, Suggestion.identity_id == Identity.id)
        .join(Label, (Label.identity_id == Suggestion.identity_id)
              & (Label.attribute == Suggestion.attribute) & (Label.camera == IDENTITY_WIDE))
        .where(Source.name == source, Identity.dataset_id == ds.id,
               Suggestion.camera == IDENTITY_WIDE, Label.source_id.in_(people),
               Label.value >= 0)
    ).all()  # fmt: skip
    counts = {k: [0, 0] for k in ATTRIBUTE_KEYS}
    pairs = []
    for attr, suggested, probability, label in rows:
        counts[attr][0] += 1
        counts[attr][1] += int(suggested == label)
        pairs.append((float(probability), int(label)))
    return [AttributeMatch(k, c, m) for k, (c, m) in counts.items()], pairs
