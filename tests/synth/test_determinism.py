"""Same config, same bytes: across runs, worker counts and resumed runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from paenet.synth import SynthConfig, SynthReport, synthesize

from .conftest import tree_bytes


def test_sysu_byte_identical_across_runs_and_worker_counts(
    tiny_sysu: SynthReport, tmp_path: Path
) -> None:
    out = tmp_path / "again"
    synthesize(SynthConfig(layout="sysu", out=out, scale="tiny", seed=0, workers=2))
    assert tree_bytes(out) == tree_bytes(tiny_sysu.out)


def test_regdb_byte_identical_across_runs(tiny_regdb: SynthReport, tmp_path: Path) -> None:
    out = tmp_path / "again"
    synthesize(SynthConfig(layout="regdb", out=out, scale="tiny", seed=0, workers=2))
    assert tree_bytes(out) == tree_bytes(tiny_regdb.out)


def test_another_seed_gives_other_images(tiny_regdb: SynthReport, tmp_path: Path) -> None:
    out = tmp_path / "seed1"
    synthesize(SynthConfig(layout="regdb", out=out, scale="tiny", seed=1, workers=1))
    a, b = tree_bytes(tiny_regdb.out), tree_bytes(out)
    common = [k for k in a if k.endswith(".bmp") and k in b]
    assert sum(a[k] != b[k] for k in common) == len(common)


def test_interrupted_run_resumes_to_the_same_bytes(tiny_sysu: SynthReport, tmp_path: Path) -> None:
    out = tmp_path / "killed"
    cfg = SynthConfig(layout="sysu", out=out, scale="tiny", seed=0, workers=1)
    synthesize(cfg)
    # Simulate a run killed half-way: info not yet written, a leftover temporary file,
    # some images not yet written.
    (out / "synth_info.json").rename(out / ".synth_in_progress.json")
    images = sorted(out.rglob("*.jpg"))
    for p in images[::3]:
        p.unlink()
    (images[1].parent / f".{images[1].name}.999.part").write_bytes(b"half")
    report = synthesize(cfg)
    assert report.images_written == len(images[::3])
    assert tree_bytes(out) == tree_bytes(tiny_sysu.out)


@pytest.mark.parametrize("workers", [1, 2])
def test_report(tmp_path: Path, workers: int) -> None:
    report = synthesize(
        SynthConfig(layout="regdb", out=tmp_path / "r", scale="tiny", seed=5, workers=workers)
    )
    assert report.num_images == report.images_written == 160 and report.num_ids == 20
    assert report.seconds > 0 and "160 images" in str(report)
