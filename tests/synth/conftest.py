"""Tiny stand-ins written once per test session (each takes well under a second)."""

from __future__ import annotations

from pathlib import Path

import pytest

from paenet.synth import SynthConfig, SynthReport, synthesize


@pytest.fixture(scope="session")
def tiny_sysu(tmp_path_factory: pytest.TempPathFactory) -> SynthReport:
    out = tmp_path_factory.mktemp("synth") / "SYSU-MM01"
    return synthesize(SynthConfig(layout="sysu", out=out, scale="tiny", seed=0, workers=1))


@pytest.fixture(scope="session")
def tiny_regdb(tmp_path_factory: pytest.TempPathFactory) -> SynthReport:
    out = tmp_path_factory.mktemp("synth") / "RegDB"
    return synthesize(SynthConfig(layout="regdb", out=out, scale="tiny", seed=0, workers=1))


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (relative posix path -> content)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
