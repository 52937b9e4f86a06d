"""Inter-rater agreement per attribute: Cohen's kappa (2 raters), Fleiss' kappa (more).

A rater is a label source (an annotator or an import). Items are identities (or,
with ``camera``, one camera's per-camera labels) where every compared rater gave a
known value (0/1); unknown and missing labels are left out and counted.

Kappa is reported from :data:`MIN_KAPPA_ITEMS` items on: below that it says more about
chance than about the raters (one item gives 1.000 or an undefined value, one
disagreement among five moves it by more than 0.3), so it is NaN and only the raw
agreement and the number of items are shown.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from annotator.store.models import IDENTITY_WIDE, Identity, Label, Source
from annotator.store.services.lookups import dataset_row, source_row
from paenet.attributes import ATTRIBUTE_KEYS, LabelValue

MIN_KAPPA_ITEMS = 10
"""Fewer items than this: no kappa (NaN). At 10 items and 90 % raw agreement with
balanced values its standard error is still about 0.2."""


@dataclass(frozen=True)
class AttributeAgreement:
    attribute: str
    method: str
    """``cohen`` or ``fleiss``."""
    items: int
    """Identities (or identity-cameras) every rater labelled with a known value."""
    raw: float
    """Fraction of items on which all raters agree."""
    kappa: float
    """NaN below :data:`MIN_KAPPA_ITEMS` items."""
    positives: int
    """Count of value-1 ratings over those items (all raters)."""
    conflicts: tuple[int, ...]
    """Pids where the raters disagree."""


def cohen_kappa(a: Sequence[int], b: Sequence[int]) -> float:
    """Cohen's kappa of two binary raters; 1.0 when both are constant and equal."""
    x, y = np.asarray(a), np.asarray(b)
    if x.size == 0:
        return float("nan")
    po = float(np.mean(x == y))
    p1x, p1y = x.mean(), y.mean()
    pe = float(p1x * p1y + (1 - p1x) * (1 - p1y))
    return 1.0 if pe == 1.0 else (po - pe) / (1 - pe)


def fleiss_kappa(ratings: np.ndarray) -> float:
    """Fleiss' kappa of ``[items, raters]`` binary ratings (every item rated by all)."""
    r = np.asarray(ratings)
    n_items, n_raters = r.shape
    if n_items == 0 or n_raters < 2:
        return float("nan")
    ones = r.sum(axis=1)
    counts = np.stack([n_raters - ones, ones], axis=1).astype(float)
    p_i = ((counts**2).sum(axis=1) - n_raters) / (n_raters * (n_raters - 1))
    p_bar = p_i.mean()
    p_j = counts.sum(axis=0) / (n_items * n_raters)
    pe = float((p_j**2).sum())
    return 1.0 if pe == 1.0 else float((p_bar - pe) / (1 - pe))


def agreement(
    session: Session, dataset: str, sources: Sequence[str], per_camera: bool = False
) -> list[AttributeAgreement]:
    """Per attribute, agreement between ``sources`` (2 → Cohen, more → Fleiss).

    ``per_camera=False`` compares identity-wide labels, one item per identity.
    ``per_camera=True`` compares effective per-camera labels, one item per (identity,
    camera) that any source labelled per camera: a source's value there is its camera
    label, else its identity-wide label (so a per-camera source can be compared with
    an identity-wide one, as the published ``.mat`` and ``.xlsx`` are).
    """
    if len(sources) < 2:
        raise ValueError("agreement needs at least two sources")
    ds = dataset_row(session, dataset)
    for name in sources:
        source_row(session, name)  # an unknown source is an error naming the known ones
    wide: dict[str, dict[tuple[str, int], int]] = defaultdict(dict)
    cams: dict[str, dict[tuple[str, int, int], int]] = defaultdict(dict)
    for src, pid, attr, cam, value in session.execute(
        select(Source.name, Identity.pid, Label.attribute, Label.camera, Label.value)
        .join(Label, Label.source_id == Source.id)
        .join(Identity, Identity.id == Label.identity_id)
        .where(Identity.dataset_id == ds.id, Source.name.in_(sources))
    ):
        if cam == IDENTITY_WIDE:
            wide[src][(attr, pid)] = value
        else:
            cams[src][(attr, pid, cam)] = value
    if per_camera:
        keys = sorted({k for src in sources for k in cams[src]})
        table = {
            k: [cams[s].get(k, wide[s].get(k[:2], LabelValue.UNKNOWN)) for s in sources]
            for k in keys
        }
    else:
        keys = sorted({k for src in sources for k in wide[src]})
        table = {k: [wide[s].get(k, LabelValue.UNKNOWN) for s in sources] for k in keys}
    out = []
    for attr in ATTRIBUTE_KEYS:
        items = [
            (k[1], v) for k, v in table.items() if k[0] == attr and LabelValue.UNKNOWN not in v
        ]
        matrix = np.array([v for _, v in items], dtype=int).reshape(len(items), len(sources))
        kappa = (
            float("nan")
            if len(items) < MIN_KAPPA_ITEMS
            else cohen_kappa(matrix[:, 0], matrix[:, 1])
            if len(sources) == 2
            else fleiss_kappa(matrix)
        )
        agree = (matrix == matrix[:, :1]).all(axis=1)
        out.append(
            AttributeAgreement(
                attribute=attr,
                method="cohen" if len(sources) == 2 else "fleiss",
                items=len(items),
                raw=float(agree.mean()) if len(items) else float("nan"),
                kappa=kappa,
                positives=int(matrix.sum()),
                conflicts=tuple(sorted({pid for (pid, _), ok in zip(items, agree) if not ok})),
            )
        )
    return out
