"""Time to scan and index a full SYSU-MM01 root (45,863 files) with ``read_sysu``.

Reference measured in the same run: a bare ``os.walk`` over the same tree (the
floor any reader pays to list the files). Also times the inspect summary (all four
protocol settings) on top of the index.

    python benchmarks/bench_scan.py --root datasets/synthetic/SYSU-MM01   # a full stand-in
    python benchmarks/bench_scan.py            # writes a zero-byte tree with the real structure
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from paenet.data.summary import summarize_sysu  # noqa: E402
from paenet.data.sysu import read_sysu  # noqa: E402


def structure_tree(out: Path) -> Path:
    """A zero-byte-file tree with the real dataset's ids, cameras and image counts."""
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


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.root or structure_tree(Path(tmp) / "SYSU-MM01")
        walk = timed(lambda: sum(len(f) for _, _, f in os.walk(root)), args.repeat)
        scan = timed(lambda: read_sysu(root), args.repeat)
        ds = read_sysu(root)
        summ = timed(lambda: summarize_sysu(ds), args.repeat)
        w, s, m = (statistics.median(x) for x in (walk, scan, summ))
        print(f"root: {root} ({len(ds.samples)} images, {len(ds.pids)} ids)")
        print(f"os.walk (reference)   median {w * 1000:8.1f} ms")
        print(f"read_sysu (index)     median {s * 1000:8.1f} ms   {s / w:5.2f}x os.walk")
        print(f"summarize_sysu        median {m * 1000:8.1f} ms   (4 protocol settings)")
        print(
            f"repeat={args.repeat}; command: python benchmarks/bench_scan.py"
            + (f" --root {args.root}" if args.root else "")
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
