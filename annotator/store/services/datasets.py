"""Registering datasets: scan a root with the readers and index identities and images."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from annotator.store.models import Dataset, Identity, Image
from annotator.store.services.lookups import dataset_row, pairs
from annotator.store.services.names import validate_slug
from annotator.store.services.records import DatasetInfo
from paenet.data.kinds import kind_spec

log = logging.getLogger(__name__)


def register_dataset(session: Session, name: str, kind: str, root: Path | str) -> DatasetInfo:
    """Register (or rescan) a dataset root. Idempotent: a rescan adds new identities and
    images and never touches labels; the same name with another root is refused."""
    spec = kind_spec(kind)
    kind = spec.name
    root = Path(root).resolve()
    row = session.scalar(select(Dataset).where(Dataset.name == name))
    if row is None:
        validate_slug(name, "dataset name")  # names registered before the rule keep working
        row = Dataset(name=name, kind=kind, root=str(root))
        session.add(row)
        session.flush()
    elif row.kind != kind or Path(row.root) != root:
        raise ValueError(
            f"dataset {name!r} is already registered as {row.kind} at {row.root}; "
            f"choose another name for {kind} at {root}"
        )
    ds = spec.read(root)
    split_of = spec.splits_of(ds)  # None where the kind's identities carry no split (RegDB)
    known = pairs(
        session.execute(select(Identity.pid, Identity.id).where(Identity.dataset_id == row.id))
    )
    new_ids = [
        {"dataset_id": row.id, "pid": pid, "split": split, "version": 0, "reviewed": False}
        for pid, split in split_of.items()
        if pid not in known
    ]
    if new_ids:
        session.execute(insert(Identity), new_ids)
        known = pairs(
            session.execute(select(Identity.pid, Identity.id).where(Identity.dataset_id == row.id))
        )
    have = {
        (iid, path)
        for iid, path in session.execute(
            select(Image.identity_id, Image.path)
            .join(Identity)
            .where(Identity.dataset_id == row.id)
        )
    }
    new_images = []
    for s in ds.samples:
        key = (known[s.pid], str(s.path))
        if key not in have:
            new_images.append(
                {
                    "identity_id": key[0],
                    "path": key[1],
                    "camera": s.camera,
                    "modality": s.modality.value,
                }
            )
    if new_images:
        session.execute(insert(Image), new_images)
    log.info("%s: %d new identities, %d new images", name, len(new_ids), len(new_images))
    return dataset_info(session, name)


def dataset_info(session: Session, name: str) -> DatasetInfo:
    row = dataset_row(session, name)
    n_ids = session.scalar(
        select(func.count()).select_from(Identity).where(Identity.dataset_id == row.id)
    )
    n_img = session.scalar(
        select(func.count()).select_from(Image).join(Identity).where(Identity.dataset_id == row.id)
    )
    return DatasetInfo(
        row.id, row.name, row.kind, row.root, row.registered_at, n_ids or 0, n_img or 0
    )


def list_datasets(session: Session) -> list[DatasetInfo]:
    return [
        dataset_info(session, n)
        for n in session.scalars(select(Dataset.name).order_by(Dataset.name))
    ]
