"""Which label each image gets, with provenance: the store's policy
(:mod:`annotator.store.services.label_policy`) over one dataset's labels.

Per attribute of one image (its identity ``pid``, its ``camera``), in order:

1. a review decision for this camera (provenance ``decision:camera``), else an
   identity-wide decision (``decision:identity``);
2. with ``sources`` (priority order): the first source that has a value 0/1, its
   camera override first (``source:NAME:camera``), else its identity-wide value
   (``source:NAME``). A model's suggestions count only when named, as ``model:NAME``
   (or the model source's bare name); their provenance is ``source:NAME`` like any
   other source's (the run's details say NAME is a model);
3. without ``sources``: the human annotators' agreed value (``annotators``): only the
   annotator sources agree; imported sources never count unless named;
4. otherwise unknown (-1): ``unknown``, or ``unknown:conflict`` when annotators disagree.

Everything is read in four queries (dataset, identities, labels, decisions), in
one short read transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotator.store.errors import StoreError
from annotator.store.models import Decision, Identity, Label, Source, Suggestion
from annotator.store.services.annotators import ANNOTATOR_SOURCE_PREFIX
from annotator.store.services.label_policy import Basis, ResolvedLabel, resolve_labels
from annotator.store.services.lookups import dataset_row
from annotator.store.services.records import IdentityView

ANNOTATORS = "annotators"
MODEL_PREFIX = "model:"


class UnknownSourceError(StoreError):
    pass


@dataclass(frozen=True)
class DatasetLabels:
    """Every identity's labels (``views[pid]``) of one dataset, as stored."""

    name: str
    kind: str
    root: str
    views: Mapping[int, IdentityView]
    source_kinds: Mapping[str, str]
    """Every source with labels in this dataset -> ``annotator`` or ``import``; each model
    source with suggestions, as ``model:NAME`` -> ``model``."""

    @property
    def annotator_sources(self) -> tuple[str, ...]:
        return tuple(sorted(s for s, k in self.source_kinds.items() if k == "annotator"))

    @property
    def decisions(self) -> int:
        return sum(len(v.decisions) for v in self.views.values())


def load_dataset_labels(session: Session, dataset: str) -> DatasetLabels:
    ds = dataset_row(session, dataset)
    idents = {
        iid: (pid, split)
        for iid, pid, split in session.execute(
            select(Identity.id, Identity.pid, Identity.split).where(Identity.dataset_id == ds.id)
        )
    }
    labels: dict[int, dict[str, dict[tuple[str, int], int]]] = {}
    kinds: dict[str, str] = {}
    for iid, src, kind, attr, cam, value in session.execute(
        select(Label.identity_id, Source.name, Source.kind, Label.attribute, Label.camera,
               Label.value)
        .join(Source, Label.source_id == Source.id)
        .join(Identity, Label.identity_id == Identity.id)
        .where(Identity.dataset_id == ds.id)
    ):  # fmt: skip
        labels.setdefault(iid, {}).setdefault(src, {})[(attr, cam)] = value
        kinds[src] = kind
    for iid, src, attr, cam, value in session.execute(
        select(Suggestion.identity_id, Source.name, Suggestion.attribute, Suggestion.camera,
               Suggestion.value)
        .join(Source, Suggestion.source_id == Source.id)
        .join(Identity, Suggestion.identity_id == Identity.id)
        .where(Identity.dataset_id == ds.id)
    ):  # fmt: skip
        labels.setdefault(iid, {}).setdefault(MODEL_PREFIX + src, {})[(attr, cam)] = value
        kinds[MODEL_PREFIX + src] = "model"
    decisions: dict[int, dict[tuple[str, int], int]] = {}
    for iid, attr, cam, value in session.execute(
        select(Decision.identity_id, Decision.attribute, Decision.camera, Decision.value)
        .join(Identity, Decision.identity_id == Identity.id)
        .where(Identity.dataset_id == ds.id)
    ):
        decisions.setdefault(iid, {})[(attr, cam)] = value
    views = {
        pid: IdentityView(
            dataset=ds.name,
            dataset_root=ds.root,
            pid=pid,
            split=split,
            version=0,
            reviewed=False,
            images=MappingProxyType({}),
            labels=MappingProxyType(
                {s: MappingProxyType(v) for s, v in labels.get(iid, {}).items()}
            ),
            decisions=MappingProxyType(decisions.get(iid, {})),
        )
        for iid, (pid, split) in idents.items()
    }
    return DatasetLabels(ds.name, ds.kind, ds.root, MappingProxyType(views), kinds)


def all_source_names(session: Session) -> dict[str, str]:
    return {n: k for n, k in session.execute(select(Source.name, Source.kind))}


def check_sources(sources: Sequence[str], known: Mapping[str, str]) -> tuple[str, ...]:
    """Validate named sources; ``alice`` also names the annotator source ``annotator:alice``,
    and a model source is named ``model:NAME`` (or by its bare name)."""
    out = []
    for name in sources:
        if name not in known and ANNOTATOR_SOURCE_PREFIX + name in known:
            name = ANNOTATOR_SOURCE_PREFIX + name
        if known.get(name) == "model":
            name = MODEL_PREFIX + name
        if name.startswith(MODEL_PREFIX):
            if known.get(name[len(MODEL_PREFIX) :]) != "model":
                models = sorted(n for n, k in known.items() if k == "model")
                raise UnknownSourceError(
                    f"no model source {name[len(MODEL_PREFIX) :]!r} (have: "
                    f"{', '.join(models) or 'none; run paenet-predict'})"
                )
            out.append(name)
            continue
        if name not in known:
            raise UnknownSourceError(
                f"no label source {name!r} (have: {', '.join(sorted(known)) or 'none'})"
            )
        out.append(name)
    if len(set(out)) != len(out):
        raise UnknownSourceError(f"a source is named twice: {list(sources)}")
    return tuple(out)


def resolve(
    view: IdentityView, camera: int, sources: Sequence[str] | None, annotator_sources: Sequence[str]
) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """The 8 values (0, 1 or unknown) of one image of ``camera`` and their provenance, by
    the store's policy (:func:`~annotator.store.services.label_policy.resolve_labels`)."""
    resolved = resolve_labels(view, camera, sources=sources, agreeing=annotator_sources)
    return tuple(r.value for r in resolved), tuple(map(_provenance, resolved))


def _provenance(resolved: ResolvedLabel) -> str:
    """How a value was reached, in the manifest's words."""
    if resolved.basis is Basis.AGREED:
        return ANNOTATORS
    if resolved.basis in (Basis.SOURCE, Basis.SOURCE_CAMERA):
        assert resolved.source is not None
        name = resolved.source.removeprefix(MODEL_PREFIX)
        return (
            f"source:{name}:camera" if resolved.basis is Basis.SOURCE_CAMERA else f"source:{name}"
        )
    return str(resolved.basis)  # decision:camera, decision:identity, unknown, unknown:conflict
