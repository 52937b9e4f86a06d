"""Export fixtures: the tiny stand-in registered in a fresh SQLite database with its
ground truth imported as ``synth-gt-sysu`` / ``synth-gt-regdb`` (the app's defaults)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from annotator.cli_export import main
from annotator.config import load_config
from annotator.defaults import ensure_registered
from annotator.store.db import Store, open_store
from paenet.data.manifest import MANIFEST_FILE, sha256_file
from paenet.synth import SynthConfig, synthesize
from tests.data.trees import reference_structure, write_sysu


@pytest.fixture(scope="session")
def stand_in_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("export-data")
    for layout, folder in (("sysu", "SYSU-MM01"), ("regdb", "RegDB")):
        synthesize(
            SynthConfig(
                layout=layout, out=root / "synthetic" / folder, scale="tiny", seed=0, workers=1
            )
        )
    return root


@dataclass(frozen=True)
class Env:
    data_root: Path
    db_url: str
    store: Store

    @property
    def sysu(self) -> Path:
        return self.data_root / "synthetic" / "SYSU-MM01"

    @property
    def regdb(self) -> Path:
        return self.data_root / "synthetic" / "RegDB"


@pytest.fixture
def env(stand_in_source: Path, tmp_path: Path) -> Iterator[Env]:
    """A private copy of the stand-in (tests move and delete files), both datasets
    registered, their ground truth imported."""
    data_root = tmp_path / "datasets"
    shutil.copytree(stand_in_source, data_root)
    url = f"sqlite:///{data_root / 'annotations.sqlite3'}"
    store = open_store(url)
    ensure_registered(store, load_config(["--data-root", str(data_root), "--db", url], {}))
    yield Env(data_root, url, store)
    store.dispose()


def export(env: Env, out: Path, *args: str, dataset: str = "sysu-synthetic") -> int:
    """``paenet-export`` of ``dataset`` into ``out``; its exit code."""
    return main(["--db", env.db_url, "--dataset", dataset, "--out", str(out), *args])


@pytest.fixture
def exported(env: Env, tmp_path: Path) -> Path:
    """The SYSU stand-in exported with its ground truth."""
    out = tmp_path / "m"
    assert export(env, out, "--sources", "synth-gt-sysu") == 0
    return out


def rehash(directory: Path, name: str) -> None:
    """Record ``name``'s current hash and size in the manifest (a consistent edit)."""
    doc = json.loads((directory / MANIFEST_FILE).read_text())
    p = directory / name
    doc["files"][name] = {"sha256": sha256_file(p), "bytes": p.stat().st_size}
    (directory / MANIFEST_FILE).write_text(json.dumps(doc))


@pytest.fixture(scope="session")
def real_sysu_tree(reference_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Zero-byte SYSU-MM01 tree with the real ids, cameras and counts (45,863 images)."""
    counts, splits = reference_structure(reference_dir)
    return write_sysu(tmp_path_factory.mktemp("sysu-real") / "SYSU-MM01", counts, splits)
