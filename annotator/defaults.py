"""The embedded default data: which dataset roots under the data root get registered.

Real datasets (``<data root>/SYSU-MM01``, ``<data root>/RegDB``) are registered as
``sysu`` and ``regdb``; the synthetic stand-in (``<data root>/synthetic/…``, written
by ``paenet-data synth``) as ``sysu-synthetic`` and ``regdb-synthetic``, with its
ground truth imported as the source ``synth-gt``, so numbers on it are never
mistaken for real ones.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from annotator.config import AppConfig
from annotator.store.db import Store
from annotator.store.importers.synth_truth import SYNTH_FILE, import_synth
from annotator.store.services.datasets import list_datasets, register_dataset
from paenet.data.kinds import FOLDERS
from paenet.synth import INFO_FILE

log = logging.getLogger(__name__)
SYNTH_SOURCE = "synth-gt"


@dataclass(frozen=True)
class DefaultRoot:
    name: str
    kind: str
    root: Path
    synthetic: bool


def discover(cfg: AppConfig) -> list[DefaultRoot]:
    found = []
    for kind, folder in FOLDERS.items():
        if cfg.dataset_root(kind).is_dir():
            found.append(DefaultRoot(kind, kind, cfg.dataset_root(kind), False))
        synth = cfg.synthetic_root / folder
        if (synth / INFO_FILE).is_file():
            found.append(DefaultRoot(f"{kind}-synthetic", kind, synth, True))
    return found


def ensure_registered(store: Store, cfg: AppConfig) -> list[str]:
    """Register default roots not registered yet (never rescans); returns the new names."""
    with store.read() as s:
        have = {d.name for d in list_datasets(s)}
    added = []
    for d in discover(cfg):
        if d.name in have:
            continue
        with store.write() as s:
            register_dataset(s, d.name, d.kind, d.root)
            if d.synthetic and (d.root / SYNTH_FILE).is_file():
                import_synth(s, d.name, d.root, source=f"{SYNTH_SOURCE}-{d.kind}")
        log.info("registered default dataset %s at %s", d.name, d.root)
        added.append(d.name)
    return added
