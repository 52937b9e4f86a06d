"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def structure_tree(out: Path) -> Path:
    """A zero-byte-file SYSU-MM01 tree with the real dataset's ids, cameras and counts."""
    from paenet.synth.structure import load_structure

    st = load_structure()
    for cam, per_pid in st.counts.items():
        (out / f"cam{cam}").mkdir(parents=True, exist_ok=True)
        for pid, n in per_pid.items():
            d = out / f"cam{cam}" / f"{pid:04d}"
            d.mkdir(parents=True, exist_ok=True)
            for k in range(1, n + 1):
                (d / f"{k:04d}.jpg").touch()
    (out / "exp").mkdir(exist_ok=True)
    for split, ids in st.splits.items():
        (out / "exp" / f"{split}_id.txt").write_text(",".join(map(str, ids)))
    return out


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def summary_ms(samples: list[float]) -> str:
    s = sorted(samples)
    p99 = s[min(len(s) - 1, round(0.99 * (len(s) - 1)))]
    return f"median {statistics.median(s) * 1000:7.2f} ms  p99 {p99 * 1000:7.2f} ms  (n={len(s)})"
