"""App fixtures: a tiny synthetic data root and an empty database, passed by env vars."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from paenet.synth import SynthConfig, synthesize


@pytest.fixture(scope="session")
def synthetic_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synthetic-data")
    synthesize(
        SynthConfig(layout="sysu", out=root / "synthetic" / "SYSU-MM01", scale="tiny", seed=0)
    )
    synthesize(SynthConfig(layout="regdb", out=root / "synthetic" / "RegDB", scale="tiny", seed=0))
    return root


@pytest.fixture
def data_root(synthetic_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the tiny stand-in and a fresh SQLite file for one test."""
    root = tmp_path / "datasets"
    shutil.copytree(synthetic_source, root)
    monkeypatch.setenv("PAENET_DATA_ROOT", str(root))
    monkeypatch.setenv("PAENET_DB_URL", f"sqlite:///{root / 'annotations.sqlite3'}")
    return root


@pytest.fixture(autouse=True)
def served_on_loopback() -> Iterator[None]:
    """The app as ``make run`` serves it: bound to 127.0.0.1 (annotator/.streamlit/
    config.toml), which AppTest does not read."""
    from streamlit import config

    before = config.get_option("server.address")
    config.set_option("server.address", "127.0.0.1")
    yield
    config.set_option("server.address", before)
