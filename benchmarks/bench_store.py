"""Annotation-store latencies on the full SYSU-MM01 structure (513 ids, 45,863 images).

Figures: registering the dataset; importing the published PAENet labels; saving one
identity's eight labels (one transaction, as a keyboard burst) and one label (one
click); the next-identity query; loading one identity with its images. Reference in
the same run: an empty write transaction (the floor a save pays: BEGIN IMMEDIATE +
commit on WAL).

The save tail (p99) is SQLite's WAL auto-checkpoint: every ~120 eight-label saves
(1,000 WAL pages) one commit copies the WAL back into the database file and pays an
fsync (about 12 ms here); the first save also creates the annotator. On PostgreSQL
(``--db postgresql+psycopg://…``) every commit pays the server's WAL flush instead.

    python benchmarks/bench_store.py [--db URL] [--n 200]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from common import REPO, structure_tree, summary_ms, timed
from sqlalchemy import text

from annotator.store.db import open_store
from annotator.store.importers.published_paenet import import_paenet_mat, import_paenet_xlsx
from annotator.store.services.datasets import register_dataset
from annotator.store.services.label_reads import get_identity
from annotator.store.services.label_writes import set_label, set_labels
from annotator.store.services.queue import next_identity, progress
from paenet.attributes import ATTRIBUTE_KEYS

RELEASE = REPO.parent / "shared" / "reference" / "paenet-attribute-release"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=None, help="database URL (default: a temp SQLite file)")
    parser.add_argument("--n", type=int, default=200, help="identities to save")
    args = parser.parse_args()
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        root = structure_tree(Path(tmp) / "SYSU-MM01")
        store = open_store(args.db or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        t0 = time.perf_counter()
        with store.write() as s:
            info = register_dataset(s, "sysu", "sysu", root)
        print(
            f"register {info.identities} ids / {info.images} images: {time.perf_counter() - t0:.2f} s"
        )
        if RELEASE.is_dir():
            t0 = time.perf_counter()
            with store.write() as s:
                rep = import_paenet_mat(s, "sysu", RELEASE)
            t1 = time.perf_counter()
            with store.write() as s:
                import_paenet_xlsx(s, "sysu", RELEASE / "label_finished.xlsx")
            t2 = time.perf_counter()
            print(
                f"import published .mat ({rep.labels} labels): {t1 - t0:.2f} s; xlsx: {t2 - t1:.2f} s"
            )
        with store.read() as s:
            pids = [p for p in range(1, 534) if _exists(s, p)]
        empty = timed(lambda: _empty_write(store), 200)
        print(f"empty write transaction (reference)  {summary_ms(empty)}")
        eight, one = [], []
        for pid in rng.sample(pids, min(args.n, len(pids))):
            with store.read() as s:
                v = get_identity(s, "sysu", pid).version
            t0 = time.perf_counter()
            with store.write() as s:
                values = {key: rng.randint(0, 1) for key in ATTRIBUTE_KEYS}
                v = set_labels(s, "sysu", pid, values, "bench", v)
            eight.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            with store.write() as s:
                set_label(s, "sysu", pid, "backpack", -1, "bench", v)
            one.append(time.perf_counter() - t0)
        print(f"save 8 labels (1 transaction)         {summary_ms(eight)}   {_ratio(eight, empty)}")
        print(f"save 1 label (1 transaction)          {summary_ms(one)}   {_ratio(one, empty)}")
        nxt = timed(
            lambda: _in_read(
                store, lambda s: next_identity(s, "sysu", "bench", after_pid=rng.choice(pids))
            ),
            200,
        )
        print(f"next identity needing work            {summary_ms(nxt)}")
        load = timed(
            lambda: _in_read(store, lambda s: get_identity(s, "sysu", rng.choice(pids))), 200
        )
        print(f"load identity with images             {summary_ms(load)}")
        prog = timed(lambda: _in_read(store, lambda s: progress(s, "sysu", "bench")), 20)
        print(f"progress per split (sidebar)          {summary_ms(prog)}")
        print(f"backend: {store.url.split(':')[0]}; command: python benchmarks/bench_store.py")
        store.dispose()
    return 0


def _exists(session, pid: int) -> bool:  # type: ignore[no-untyped-def]
    try:
        get_identity(session, "sysu", pid)
    except Exception:
        return False
    return True


def _empty_write(store) -> None:  # type: ignore[no-untyped-def]
    with store.write() as s:
        s.execute(text("SELECT 1"))


def _in_read(store, fn):  # type: ignore[no-untyped-def]
    with store.read() as s:
        return fn(s)


def _ratio(samples: list[float], ref: list[float]) -> str:
    import statistics

    return f"{statistics.median(samples) / statistics.median(ref):5.1f}x empty"


if __name__ == "__main__":
    raise SystemExit(main())
