"""Full-scale stand-ins written for real (slow: ~5 s for RegDB, ~40 s for SYSU on 2 cores)."""

from __future__ import annotations

from pathlib import Path

import pytest

from paenet.data import regdb
from paenet.data.records import Modality
from paenet.data.regdb import read_regdb
from paenet.data.sysu import read_sysu
from paenet.data.sysu_protocol import load_rand_perm, query_samples, sysu_protocol
from paenet.synth import SynthConfig, synthesize

pytestmark = pytest.mark.slow


def test_full_regdb(tmp_path: Path) -> None:
    report = synthesize(SynthConfig(layout="regdb", out=tmp_path / "RegDB", scale="full", seed=0))
    ds = read_regdb(report.out)
    assert len(ds.pids) == 412 and len(ds.samples) == 8240
    for trial in (1, 10):
        for part in ("train", "test"):
            assert len(ds.trial_ids(part, trial)) == 206
            for modality in regdb.MODALITY_DIRS:
                assert len(ds.read_idx(part, modality, trial)) == 2060
    assert {s.modality for s in ds.samples} == set(Modality)


def test_full_sysu_matches_the_official_protocol(tmp_path: Path, reference_dir: Path) -> None:
    report = synthesize(SynthConfig(layout="sysu", out=tmp_path / "SYSU", scale="full", seed=0))
    assert report.num_images == report.images_written == 45_863
    ds = read_sysu(report.out)
    assert len(ds.samples) == 45_863
    assert len(query_samples(ds)) == 3_803
    rand_perm = load_rand_perm(reference_dir / "sysu-mm01-official" / "rand_perm_cam.mat")
    sizes = {
        (mode, shots): len(
            sysu_protocol(ds, mode, shots, 0, sampling="official", rand_perm=rand_perm).gallery
        )
        for mode in ("all", "indoor")
        for shots in (1, 10)
    }
    assert sizes == {("all", 1): 301, ("all", 10): 3010, ("indoor", 1): 112, ("indoor", 10): 1120}
