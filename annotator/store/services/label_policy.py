"""Which value a reader of the labels takes for one image: the one label policy.

Per attribute of one image (its identity's :class:`IdentityView`, its ``camera``):

1. a review decision for this camera, else an identity-wide decision;
2. with ``sources`` (names in priority order): the first source with a value 0/1, its
   override for this camera first, else its identity-wide value;
3. without: the value the ``agreeing`` sources agree on, each giving its override for
   this camera, else its identity-wide label (an unknown there gives nothing);
4. otherwise unknown, a conflict when the agreeing sources disagree.

The export asks :func:`resolve_labels` and writes how each value was reached as its
provenance; the store's own readers ask :func:`effective_labels`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from annotator.store.models import IDENTITY_WIDE
from annotator.store.services.records import IdentityView
from paenet.attributes import ATTRIBUTE_KEYS, LabelValue


class Basis(StrEnum):
    """How a value was reached."""

    DECISION_CAMERA = "decision:camera"
    """A review decision for the image's camera."""
    DECISION_IDENTITY = "decision:identity"
    """An identity-wide review decision."""
    SOURCE_CAMERA = "source:camera"
    """A named source's override for the image's camera."""
    SOURCE = "source"
    """A named source's identity-wide value."""
    AGREED = "agreed"
    """The value every agreeing source that has one gives."""
    UNKNOWN = "unknown"
    """Nothing decided, no source with a value."""
    CONFLICT = "unknown:conflict"
    """Nothing decided, the agreeing sources disagree."""


@dataclass(frozen=True)
class ResolvedLabel:
    """One attribute's value for one image (``LabelValue.UNKNOWN`` when unknown), how it
    was reached, and the source it came from (``SOURCE`` / ``SOURCE_CAMERA`` only)."""

    value: int
    basis: Basis
    source: str | None = None


_UNKNOWN = ResolvedLabel(int(LabelValue.UNKNOWN), Basis.UNKNOWN)
_CONFLICT = ResolvedLabel(int(LabelValue.UNKNOWN), Basis.CONFLICT)


def resolve_label(
    view: IdentityView,
    key: str,
    camera: int,
    *,
    sources: Sequence[str] | None = None,
    agreeing: Iterable[str] = (),
) -> ResolvedLabel:
    """Attribute ``key`` of an image of ``camera``: decisions first, then the first of
    ``sources`` that has a value or, without ``sources``, the ``agreeing`` sources'
    agreed value (see the module's policy)."""
    if (key, camera) in view.decisions:
        return ResolvedLabel(view.decisions[(key, camera)], Basis.DECISION_CAMERA)
    if (key, IDENTITY_WIDE) in view.decisions:
        return ResolvedLabel(view.decisions[(key, IDENTITY_WIDE)], Basis.DECISION_IDENTITY)
    if sources is not None:
        return _first_source(view, key, camera, sources)
    return _agreed(view, key, camera, agreeing)


def resolve_labels(
    view: IdentityView,
    camera: int,
    *,
    sources: Sequence[str] | None = None,
    agreeing: Iterable[str] = (),
) -> tuple[ResolvedLabel, ...]:
    """:func:`resolve_label` of every attribute, in the schema's order."""
    agreeing = tuple(agreeing)
    return tuple(
        resolve_label(view, key, camera, sources=sources, agreeing=agreeing)
        for key in ATTRIBUTE_KEYS
    )


def effective_labels(view: IdentityView, camera: int, source: str | None = None) -> dict[str, int]:
    """The value of every attribute for one image of ``camera`` (``LabelValue.UNKNOWN``
    when unknown): decisions first, then ``source``'s own label (its camera override,
    else its identity-wide label) or, without ``source``, the value every source of the
    view agrees on."""
    agreeing = (source,) if source is not None else tuple(sorted(view.labels))
    resolved = resolve_labels(view, camera, agreeing=agreeing)
    return {key: r.value for key, r in zip(ATTRIBUTE_KEYS, resolved)}


def _known(labels: Mapping[tuple[str, int], int], key: str, camera: int) -> int | None:
    value = labels.get((key, camera))
    return None if value is None or value == LabelValue.UNKNOWN else value


def _first_source(
    view: IdentityView, key: str, camera: int, sources: Sequence[str]
) -> ResolvedLabel:
    for src in sources:
        labels = view.labels.get(src, {})
        value = _known(labels, key, camera) if camera != IDENTITY_WIDE else None
        if value is not None:
            return ResolvedLabel(value, Basis.SOURCE_CAMERA, src)
        value = _known(labels, key, IDENTITY_WIDE)
        if value is not None:
            return ResolvedLabel(value, Basis.SOURCE, src)
    return _UNKNOWN


def _agreed(view: IdentityView, key: str, camera: int, agreeing: Iterable[str]) -> ResolvedLabel:
    seen = set()
    for src in agreeing:
        labels = view.labels.get(src, {})
        value = labels.get((key, camera), labels.get((key, IDENTITY_WIDE)))
        if value is not None and value != LabelValue.UNKNOWN:
            seen.add(value)
    if len(seen) == 1:
        return ResolvedLabel(seen.pop(), Basis.AGREED)
    return _CONFLICT if seen else _UNKNOWN
