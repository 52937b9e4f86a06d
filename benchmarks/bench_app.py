"""Server-side time of Annotate reruns on the full SYSU stand-in (45,863 images).

Runs the real page through ``streamlit.testing.v1.AppTest`` (the same script code a
browser session runs, without the websocket) and times: first view of an identity
(cold thumbnails) at the default image size and at the largest, choosing another image
size (that size's thumbnails made cold), a label change, moving to the next identity
(cold), and revisiting an identity (thumbnails cached). Reference in the same run: an
AppTest run of a one-line script (the harness's own floor).

    python benchmarks/bench_app.py [--stand-in datasets/synthetic/SYSU-MM01] [--n 15]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from common import REPO, summary_ms
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

APP = str(REPO / "annotator" / "app.py")
SYSU = "sysu-synthetic"


def _timed_run(at: AppTest) -> float:
    t0 = time.perf_counter()
    at.run()
    if at.exception:
        raise RuntimeError(at.exception[0].value)
    return time.perf_counter() - t0


def _check_keys_saved(db_url: str, title: str, expected: int) -> None:
    """The queued keys were really saved (one history row each), not skipped."""
    from annotator.store.db import open_store
    from annotator.store.services.label_reads import history

    store = open_store(db_url)
    with store.read() as s:
        rows = history(s, SYSU, int(title.rsplit(" ", 1)[-1]))
    store.dispose()
    got = sum(1 for h in rows if h.annotator == "bench" and h.attribute) - 2  # 2 clicks
    if got != expected:
        raise RuntimeError(f"{got} key changes saved, expected {expected}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stand-in", type=Path, default=None, help="a full SYSU stand-in root")
    parser.add_argument("--n", type=int, default=15, help="identities to visit")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_root = Path(tmp) / "datasets"
        (data_root / "synthetic").mkdir(parents=True)
        if args.stand_in is None:
            from paenet.synth import SynthConfig, synthesize

            print("writing the full SYSU stand-in (about a minute)…")
            synthesize(
                SynthConfig(
                    layout="sysu", out=data_root / "synthetic" / "SYSU-MM01", scale="full", seed=0
                )
            )
        else:
            (data_root / "synthetic" / "SYSU-MM01").symlink_to(args.stand_in.resolve())
        os.environ["PAENET_DATA_ROOT"] = str(data_root)
        os.environ["PAENET_DB_URL"] = f"sqlite:///{data_root / 'annotations.sqlite3'}"
        # as `make run` serves it (annotator/.streamlit/config.toml, which AppTest does not
        # read): on 127.0.0.1, where the app opens without a password
        st_config.set_option("server.address", "127.0.0.1")
        trivial = AppTest.from_string("import streamlit as st\nst.write('x')\n", default_timeout=60)
        trivial.run()
        floor = [_timed_run(trivial) for _ in range(10)]
        at = AppTest.from_file(APP, default_timeout=300)
        at.query_params.update(dataset=SYSU, pid="6")
        t0 = time.perf_counter()
        at.run()
        print(
            f"app start (register 45,863 images, import ground truth): {time.perf_counter() - t0:.2f} s"
        )
        at.text_input(key="_annotator_input").input("bench")
        at.run()
        first, change, nxt, revisit = [], [], [], []
        visited = []
        for i in range(args.n):
            if i:
                next(b for b in at.button if b.label == "Next →").click()
                nxt.append(_timed_run(at))
            visited.append(at.title[0].value)
            next(b for b in at.button if b.key == "set-backpack-1").click()
            change.append(_timed_run(at))
            next(b for b in at.button if b.key == f"set-gender-{i % 2}").click()
            change.append(_timed_run(at))
        # eight value keys arriving in one queue from the browser: one run applies them
        keys, seq = [], 0
        for i in range(5):
            batch = [[seq + n, f"{'Shift+' if i % 2 else ''}{n}"] for n in range(1, 9)]
            seq += 8
            at.session_state["annotate_keys"] = {
                "queue": {"client": "bench", "attempt": i + 1, "keys": batch}
            }
            keys.append(_timed_run(at))
        _check_keys_saved(os.environ["PAENET_DB_URL"], at.title[0].value, expected=40)
        fresh = AppTest.from_file(APP, default_timeout=300)
        for title in visited:
            pid = title.rsplit(" ", 1)[-1]
            fresh.query_params.update(dataset=SYSU, pid=pid)
            revisit.append(_timed_run(fresh))
        cold = AppTest.from_file(APP, default_timeout=300)
        for pid in ("300", "301", "302", "303", "305"):
            cold.query_params.update(dataset=SYSU, pid=pid)
            first.append(_timed_run(cold))
        resize, first_large = [], []
        sized = AppTest.from_file(APP, default_timeout=300)
        other = {"medium": "large", "large": "medium"}  # medium: the default
        for pid in ("310", "311", "312", "313", "315"):
            sized.query_params.update(dataset=SYSU, pid=pid)
            sized.run()
            picker = sized.segmented_control(key="image_size_picker")
            picker.set_value(other[picker.value])
            resize.append(_timed_run(sized))  # the same identity, its thumbnails made cold
        sized.segmented_control(key="image_size_picker").set_value("large")
        sized.run()
        for pid in ("320", "321", "322", "323", "325"):
            sized.query_params.update(dataset=SYSU, pid=pid)
            first_large.append(_timed_run(sized))
        print(f"AppTest floor (one-line script)     {summary_ms(floor)}")
        print(f"first view, cold thumbnails         {summary_ms(first)}")
        print(f"first view, cold, size large        {summary_ms(first_large)}")
        print(f"another image size (cold thumbs)    {summary_ms(resize)}")
        print(f"label change                        {summary_ms(change)}")
        print(f"8 queued keys, one run (8 changes)  {summary_ms(keys)}")
        print(f"next identity (cold thumbnails)     {summary_ms(nxt)}")
        print(f"revisit identity (cached thumbs)    {summary_ms(revisit)}")
        print(
            "command: python benchmarks/bench_app.py"
            + (f" --stand-in {args.stand_in}" if args.stand_in else "")
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
