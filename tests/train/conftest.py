"""Tiny synthetic stand-ins and their manifests, shared by the trainer tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from paenet.data.manifest_build import manifest_from_synthetic
from paenet.synth import SynthConfig, synthesize

#: Every trainer test run: the smoke preset at 64×32 on one thread (fast on a busy CPU).
TINY = ["data.input_size=[64, 32]", "runtime.threads=1", "runtime.progress=false"]


@pytest.fixture(scope="session")
def stand_ins(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Manifest directories of the tiny SYSU and RegDB stand-ins (ground-truth labels)."""
    base = tmp_path_factory.mktemp("stand-in")
    out = {}
    for kind, folder in (("sysu", "SYSU-MM01"), ("regdb", "RegDB")):
        synthesize(SynthConfig(layout=kind, out=base / folder, scale="tiny", seed=0))
        out[kind] = manifest_from_synthetic(base / folder, kind, base / f"manifest-{kind}")
    return out
