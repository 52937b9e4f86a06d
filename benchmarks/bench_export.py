"""Export time of a full SYSU-MM01 stand-in and ``load_manifest`` time.

The stand-in (45,863 images) is registered in a fresh SQLite database with its ground
truth imported as ``synth-gt-sysu``; then ``paenet-export --sources synth-gt-sysu``
(all 40 SYSU protocol settings, seeded or, with ``--rand-perm``, official) is timed
in-process, plus once as a command (interpreter start-up and imports included).
References measured in the same run: ``pandas.read_csv`` and ``pandas.read_parquet``
of the same ``images`` table. Targets: export < 10 s, ``load_manifest`` < 1 s.

    paenet-data synth --layout sysu --scale full --out datasets/synthetic/SYSU-MM01
    python benchmarks/bench_export.py --root datasets/synthetic/SYSU-MM01
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from common import REPO, timed

from annotator.export.run import ExportOptions, run_export
from annotator.store.db import open_store
from annotator.store.importers.synth_truth import import_synth
from annotator.store.services.datasets import register_dataset
from paenet.data.manifest import IMAGES_CSV, IMAGES_PARQUET, load_manifest
from paenet.data.manifest_build import dataset_protocols, read_dataset
from paenet.data.sysu_protocol import load_rand_perm


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=REPO / "datasets/synthetic/SYSU-MM01")
    parser.add_argument("--rand-perm", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not (args.root / "synth_attributes.csv").is_file():
        print(f"{args.root} is not a stand-in; run: paenet-data synth --layout sysu "
              f"--scale full --out {args.root}")  # fmt: skip
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'db.sqlite3'}"
        store = open_store(url)
        t0 = time.perf_counter()
        with store.write() as s:
            register_dataset(s, "sysu-synthetic", "sysu", args.root)
            import_synth(s, "sysu-synthetic", args.root, "synth-gt-sysu")
        setup = time.perf_counter() - t0
        out = Path(tmp) / "manifest"
        opts = ExportOptions(
            "sysu-synthetic", out, ("synth-gt-sysu",), "fail", ("manifest",), args.rand_perm
        )
        cpu0 = time.process_time()
        export = timed(lambda: run_export(store, opts), args.repeat)
        export_cpu = (time.process_time() - cpu0) / args.repeat
        ds = read_dataset("sysu", args.root)
        scan = timed(lambda: read_dataset("sysu", args.root), args.repeat)
        rp = load_rand_perm(args.rand_perm) if args.rand_perm else None
        prot = timed(lambda: dataset_protocols(ds, rp), args.repeat)
        cpu0 = time.process_time()
        load = timed(lambda: load_manifest(out), args.repeat)
        load_cpu = (time.process_time() - cpu0) / args.repeat
        load_nohash = timed(lambda: load_manifest(out, verify_hashes=False), args.repeat)
        csv = timed(lambda: pd.read_csv(out / IMAGES_CSV), args.repeat)
        parquet = timed(lambda: pd.read_parquet(out / IMAGES_PARQUET), args.repeat)
        m = load_manifest(out)
        protocols = timed(lambda: load_manifest(out).protocols(), 1)
        store.dispose()
        cmd = [sys.executable, "-m", "annotator.cli_export", "--db", url, "--dataset",
               "sysu-synthetic", "--out", str(out), "--sources", "synth-gt-sysu"]  # fmt: skip
        if args.rand_perm:
            cmd += ["--rand-perm", str(args.rand_perm)]
        t0 = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(cmd, check=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                       stdout=subprocess.DEVNULL)  # fmt: skip
        cli = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cli_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        sizes = {p.name: p.stat().st_size for p in sorted(out.iterdir())}

    med = statistics.median
    c = med(csv)
    print(f"root: {args.root} ({len(m.images)} images, {len(m.metadata['protocols'])} protocols, "
          f"sampling {m.metadata['provenance']['sampling']})")  # fmt: skip
    print(f"setup (register + import ground truth)    {setup:8.2f} s (not part of the export)")
    print(f"export, in-process                 median {med(export):8.2f} s   target < 10 s "
          f"(CPU {export_cpu:.2f} s)")  # fmt: skip
    print(f"  of which: scan the root          median {med(scan):8.2f} s")
    print(f"            build 40 protocols     median {med(prot):8.2f} s")
    print(f"export, as a command (one run)            {cli:8.2f} s   (start-up + imports included; "
          f"CPU {cli_cpu:.2f} s)")  # fmt: skip
    print(
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall times include waiting)"
    )
    print(f"load_manifest (hashes verified)    median {med(load) * 1000:8.1f} ms  "
          f"{med(load) / c:5.2f}x read_csv   target < 1 s (CPU {load_cpu * 1000:.0f} ms)")  # fmt: skip
    print(f"load_manifest (verify_hashes=False) median {med(load_nohash) * 1000:7.1f} ms  "
          f"{med(load_nohash) / c:5.2f}x read_csv")  # fmt: skip
    print(f"pandas.read_csv(images.csv)        median {c * 1000:8.1f} ms  (reference)")
    print(f"pandas.read_parquet(images.parquet) median {med(parquet) * 1000:7.1f} ms  (reference)")
    print(f"load_manifest + all 40 protocols (one run) {protocols[0] * 1000:6.1f} ms")
    print("files: " + ", ".join(f"{n} {b / 1e6:.2f} MB" for n, b in sizes.items()))
    print(f"repeat={args.repeat}; command: python benchmarks/bench_export.py --root {args.root}"
          + (f" --rand-perm {args.rand_perm}" if args.rand_perm else ""))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
