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
import tempfile
from pathlib import Path

from common import structure_tree, timed

from paenet.data.summary import summarize_sysu
from paenet.data.sysu import read_sysu


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
