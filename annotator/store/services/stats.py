"""Tables for the statistics page: one source's labels per identity, and activity."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from annotator.store.models import IDENTITY_WIDE, Annotator, HistoryEntry, Identity, Label, Source
from annotator.store.services.lookups import dataset_row
from paenet.attributes import ATTRIBUTE_KEYS, LabelValue

ALL_IDENTITIES = "all identities"
"""The aggregate row of :func:`balance`; never an identity split's name."""


def sources_with_labels(session: Session, dataset: str) -> list[str]:
    """The sources (annotators, imports, ground truths) with at least one label on
    ``dataset``, by name. One statement."""
    ds = dataset_row(session, dataset)
    return list(
        session.scalars(
            select(Source.name)
            .where(
                select(Label.id)
                .join(Identity, Identity.id == Label.identity_id)
                .where(Label.source_id == Source.id, Identity.dataset_id == ds.id)
                .exists()
            )
            .order_by(Source.name)
        )
    )


def label_table(session: Session, dataset: str, source: str) -> pd.DataFrame:
    """One row per identity: ``pid``, ``split`` (None where it has none) and each attribute (0, 1, -1 or NaN)."""
    ds = dataset_row(session, dataset)
    ids = pd.DataFrame(
        session.execute(
            select(Identity.pid, Identity.split).where(Identity.dataset_id == ds.id)
        ).all(),
        columns=["pid", "split"],
    )
    labels = pd.DataFrame(
        session.execute(
            select(Identity.pid, Label.attribute, Label.value)
            .join(Label, Label.identity_id == Identity.id)
            .join(Source, Source.id == Label.source_id)
            .where(
                Identity.dataset_id == ds.id, Source.name == source, Label.camera == IDENTITY_WIDE
            )
        ).all(),
        columns=["pid", "attribute", "value"],
    )
    wide = (
        labels.pivot(index="pid", columns="attribute", values="value")
        if len(labels)
        else pd.DataFrame()
    )
    out = ids.set_index("pid").join(wide, how="left")
    for key in ATTRIBUTE_KEYS:
        if key not in out:
            out[key] = float("nan")
    return out[["split", *ATTRIBUTE_KEYS]].sort_index()


def balance(table: pd.DataFrame) -> pd.DataFrame:
    """Per split and attribute: counts of value 0, value 1, unknown and unlabelled; the
    first rows (``split`` = :data:`ALL_IDENTITIES`) count every identity once."""
    rows = []
    for split, part in [(ALL_IDENTITIES, table), *table.groupby("split", dropna=True)]:
        for key in ATTRIBUTE_KEYS:
            col = part[key]
            rows.append({
                "split": split, "attribute": key,
                "value 0": int((col == 0).sum()), "value 1": int((col == 1).sum()),
                "unknown": int((col == LabelValue.UNKNOWN).sum()), "unlabelled": int(col.isna().sum()),
            })  # fmt: skip
    return pd.DataFrame(rows)


def cooccurrence(table: pd.DataFrame) -> pd.DataFrame:
    """P(attribute j = 1 | attribute i = 1) over identities where both are known."""
    out = pd.DataFrame(index=list(ATTRIBUTE_KEYS), columns=list(ATTRIBUTE_KEYS), dtype=float)
    for a in ATTRIBUTE_KEYS:
        for b in ATTRIBUTE_KEYS:
            both = table[(table[a] >= 0) & (table[b] >= 0)]
            given = both[both[a] == 1]
            out.loc[a, b] = float((given[b] == 1).mean()) if len(given) else float("nan")
    return out


def activity(session: Session, dataset: str) -> pd.DataFrame:
    """Changes per day and annotator (imports excluded)."""
    ds = dataset_row(session, dataset)
    rows = session.execute(
        select(HistoryEntry.at, Annotator.name)
        .join(Identity, Identity.id == HistoryEntry.identity_id)
        .join(Annotator, Annotator.id == HistoryEntry.annotator_id)
        .where(Identity.dataset_id == ds.id)
    ).all()
    df = pd.DataFrame(rows, columns=["at", "annotator"])
    if df.empty:
        return pd.DataFrame(columns=["day", "annotator", "changes"])
    df["day"] = pd.to_datetime(df["at"], utc=True).dt.date
    return df.groupby(["day", "annotator"]).size().reset_index(name="changes")
