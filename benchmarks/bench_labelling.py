"""How much model suggestions save a labeller: RegDB labelled with and without them.

1. **Train** the attribute head on the SYSU-MM01 ``small`` stand-in at the demo's budget
   (``make demo``'s flags: smoke preset, 64×32, 100 epochs × 10 batches of 8 ids × 2 × 2).
2. **Predict** the RegDB ``small`` stand-in (206 identities) with ``run_predict`` (what
   ``paenet-predict`` runs): the cross-domain case, a model that never saw RegDB; the
   temperatures are fitted on the SYSU stand-in's identities the model did not train on.
3. **Label** all of RegDB twice through the same service call the Annotate page's keys
   trigger (:func:`annotator.components.keys.queue.apply_keys`), as a labeller who knows the
   ground truth (the stand-in's ``synth_attributes.csv``) and uses only keys, in today's
   scheme: a digit for each attribute whose truth differs from what the page shows (the
   model's suggestion, or without one the dataset's usual value so far), ``Enter``, ``N``.
   The earlier scheme's keys are counted beside (digit = value 1, ``Shift`` = 0, ``Alt``
   = unknown, 8 keys + ``N``; with suggestions one key per wrong one, Enter, ``N``), as
   presses and as keystrokes with the modifiers. Every run is checked: each identity
   ends labelled with exactly the ground truth. The SYSU stand-in is labelled too (all
   its identities without suggestions, its test identities with them).
4. **In-domain check**: the same model's suggestions on the SYSU stand-in's test
   identities (never trained on), to tell the head's own quality from the domain shift.
5. **Speed**: ``run_predict`` over the full-scale SYSU stand-in (45,863 images) at the
   demo's input size (``--skip-full`` leaves it out).

Reported: keys per identity, the suggestions' accuracy per attribute and overall, the
expected calibration error (on the SYSU held-out identities before/after the temperature,
and on RegDB against the truth), the simulated time at 1 key per 0.6 s plus the measured
server time per key, and the prediction time. Everything is SYNTHETIC: a stand-in with
rendered attributes, not real people.

    python benchmarks/bench_labelling.py --out runs/bench-labelling [--skip-full] [--seed 0]
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import sys
import time
from pathlib import Path

import common  # noqa: F401  (puts the repository on sys.path)
import numpy as np

SECONDS_PER_KEY = 0.6
DEMO_SETS = [
    "data.input_size=[64, 32]",
    "data.batches_per_epoch=10",
    "data.num_ids=8",
    "data.per_modality=2",
    "runtime.progress=false",
]
log = logging.getLogger("bench_labelling")


def _synth(layout: str, scale: str, out: Path, seed: int) -> Path:
    from paenet.synth import SynthConfig, synthesize

    if not (out / "synth_info.json").is_file():
        synthesize(SynthConfig(layout=layout, out=out, scale=scale, seed=seed))
    return out


def _train(out: Path, seed: int, threads: int | None, epochs: int) -> Path:
    from paenet.data.manifest_build import manifest_from_synthetic
    from paenet.train.engine import train
    from paenet.train.presets import resolve

    root = _synth("sysu", "small", out / "data" / "SYSU-MM01", seed)
    manifest = out / "manifest-sysu"
    if not (manifest / "manifest.json").is_file():
        manifest_from_synthetic(root, "sysu", manifest, dataset="sysu-synthetic-small")
    ckpt = out / "run" / "checkpoints" / "final.pt"
    if not ckpt.is_file():
        sets = [*DEMO_SETS, f"optim.epochs={epochs}", f"runtime.seed={seed}"]
        if threads:
            sets.append(f"runtime.threads={threads}")
        t0 = time.perf_counter()
        train(manifest, out / "run", resolve("smoke", None, sets))
        log.info("trained in %.0f s", time.perf_counter() - t0)
    return ckpt


def _truth(root: Path) -> dict[int, list[int]]:
    from paenet.attributes import ATTRIBUTE_KEYS

    with (root / "synth_attributes.csv").open() as fh:
        return {int(r["pid"]): [int(r[k]) for k in ATTRIBUTE_KEYS] for r in csv.DictReader(fh)}


def _old_scheme(truth: list[int], suggested: dict[str, int] | None) -> tuple[int, int]:
    """(key presses, keystrokes with modifiers) of the earlier scheme for one identity:
    a digit set value 1, ``Shift`` + digit value 0, ``Alt`` + digit unknown; with
    suggestions, one such key per wrong suggestion and Enter; then ``N``."""
    from paenet.attributes import ATTRIBUTE_KEYS

    presses, strokes = 1, 1  # N
    for key, value in zip(ATTRIBUTE_KEYS, truth):
        if suggested is not None and suggested.get(key) == value:
            continue
        presses += 1
        strokes += 1 if value == 1 else 2
    if suggested is not None:
        presses, strokes = presses + 1, strokes + 1  # Enter
    return presses, strokes


def _new_scheme(truth: list[int], shown: dict[str, int]) -> list[str]:
    """The keys of today's scheme for one identity: a digit per attribute whose truth
    differs from what the page shows (``Shift`` + digit for unknown), Enter, ``N``."""
    from annotator.components.keys.shortcuts import keys_for
    from paenet.attributes import ATTRIBUTES

    keys = [k for a, v in zip(ATTRIBUTES, truth) for k in keys_for(v, shown[a.key], a.index)]
    return [*keys, "Enter", "N"]


def _label_all(
    store, dataset: str, who: str, truth, source: str | None, split: str | None = None
) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Label every identity of ``truth`` with today's keys through the page's key service
    (reading first what the page would show), and count the earlier scheme's keys."""
    from annotator.components.keys.queue import Cursor, apply_keys
    from annotator.store.services.label_reads import get_identity
    from annotator.store.services.lookups import identity_row
    from annotator.store.services.suggestions import shown_values, suggestions_of
    from paenet.attributes import ATTRIBUTE_KEYS

    pids = sorted(truth)
    with store.read() as s:
        cursor = Cursor(pids[0], identity_row(s, dataset, pids[0]).version)
    presses = strokes = old_presses = old_strokes = 0
    server = 0.0
    for pid in pids:
        assert cursor.pid == pid, (cursor, pid)  # N walks the ids in order
        with store.read() as s:  # what the page shows: read before the keys
            shown = dict(shown_values(s, identity_row(s, dataset, pid).id, source).values)
            suggested = (
                {k: v.value for k, v in suggestions_of(s, dataset, pid, source).items()}
                if source
                else None
            )
        keys = _new_scheme(truth[pid], shown)
        t0 = time.perf_counter()
        outcome = apply_keys(store, dataset, cursor, keys, who, split, suggestions=source)
        server += time.perf_counter() - t0
        assert outcome.error is None, outcome.error
        presses += len(keys)
        strokes += len(keys) + sum(k.startswith("Shift+") for k in keys)
        op, os_ = _old_scheme(truth[pid], suggested)
        old_presses, old_strokes = old_presses + op, old_strokes + os_
        cursor = outcome.cursor
    with store.read() as s:  # the result is exactly the truth: nothing lost, nothing wrong
        for pid in pids:
            view = get_identity(s, dataset, pid)
            got = [view.label(f"annotator:{who}", k) for k in ATTRIBUTE_KEYS]
            assert got == truth[pid], (pid, got, truth[pid])
    n = len(pids)
    return {
        "identities": n,
        "keys_per_identity": presses / n,
        "keystrokes_per_identity": strokes / n,
        "old_scheme_keys_per_identity": old_presses / n,
        "old_scheme_keystrokes_per_identity": old_strokes / n,
        "server_ms_per_key": 1000 * server / presses,
        "simulated_minutes": (presses * SECONDS_PER_KEY + server) / 60,
        "old_scheme_simulated_minutes": (old_presses * SECONDS_PER_KEY) / 60,
    }


def _accuracy(store, dataset: str, source: str, truth) -> dict[str, object]:  # type: ignore[no-untyped-def]
    from annotator.store.services.suggestions import suggestions_of
    from paenet.attributes import ATTRIBUTE_KEYS
    from paenet.suggest.calibration import expected_calibration_error

    probs, labels, right = [], [], {k: 0 for k in ATTRIBUTE_KEYS}
    all_right = 0
    with store.read() as s:
        for pid, values in truth.items():
            got = suggestions_of(s, dataset, pid, source)
            ok = 0
            for k, v in zip(ATTRIBUTE_KEYS, values):
                right[k] += int(got[k].value == v)
                ok += int(got[k].value == v)
                probs.append(got[k].probability)
                labels.append(v)
            all_right += int(ok == len(ATTRIBUTE_KEYS))
    n = len(truth)
    majority = {
        k: max(np.mean([v[j] for v in truth.values()]), 1 - np.mean([v[j] for v in truth.values()]))
        for j, k in enumerate(ATTRIBUTE_KEYS)
    }
    return {
        "per_attribute": {k: right[k] / n for k in ATTRIBUTE_KEYS},
        "majority_class": {k: float(v) for k, v in majority.items()},
        "overall": sum(right.values()) / (n * len(ATTRIBUTE_KEYS)),
        "identities_all_eight_right": all_right / n,
        "ece": expected_calibration_error(np.array(probs), np.array(labels)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/bench-labelling"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default all)")
    parser.add_argument("--epochs", type=int, default=100, help="the demo's 100; less: a dry run")
    parser.add_argument("--skip-full", action="store_true", help="no full-scale predict timing")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    from annotator.predict import PredictOptions, run_predict
    from annotator.store.db import open_store
    from annotator.store.services.datasets import register_dataset

    out = args.out.resolve()
    ckpt = _train(out, args.seed, args.threads, args.epochs)
    regdb = _synth("regdb", "small", out / "data" / "RegDB", args.seed)
    db = out / "annotations.sqlite3"
    db.unlink(missing_ok=True)
    store = open_store(f"sqlite:///{db}")
    with store.write() as s:
        register_dataset(s, "regdb", "regdb", regdb)
    t0 = time.perf_counter()
    report = run_predict(store, PredictOptions(ckpt, "regdb", device="cpu", progress=False))
    predict_regdb_s = time.perf_counter() - t0
    truth = _truth(regdb)
    accuracy = _accuracy(store, "regdb", report.source, truth)
    plain = _label_all(store, "regdb", "sim-plain", truth, None)
    assisted = _label_all(store, "regdb", "sim-assisted", truth, report.source)
    cal = report.calibration.to_dict()
    # in domain: the SYSU stand-in's test identities (the model trained on train + val)
    from paenet.data.kinds import read_dataset

    sysu_root = out / "data" / "SYSU-MM01"
    with store.write() as s:
        register_dataset(s, "sysu", "sysu", sysu_root)
    sysu_report = run_predict(store, PredictOptions(ckpt, "sysu", device="cpu", progress=False))
    test_ids = set(read_dataset("sysu", sysu_root).split_ids("test"))
    sysu_truth = {p: v for p, v in _truth(sysu_root).items() if p in test_ids}
    in_domain = _accuracy(store, "sysu", sysu_report.source, sysu_truth)
    sysu_plain = _label_all(store, "sysu", "sim-plain", _truth(sysu_root), None)
    sysu_assisted = _label_all(
        store, "sysu", "sim-assisted", sysu_truth, sysu_report.source, split="test"
    )
    result: dict[str, object] = {
        "synthetic": True,
        "seed": args.seed,
        "epochs": args.epochs,
        "threads": args.threads or os.cpu_count(),
        "checkpoint": str(ckpt),
        "predict_regdb": {"images": report.images, "seconds": round(predict_regdb_s, 1)},
        "calibration": cal,
        "accuracy": accuracy,
        "in_domain_sysu_test_ids": {"identities": len(sysu_truth), **in_domain},
        "without_suggestions": plain,
        "with_suggestions": assisted,
        "sysu_without_suggestions": sysu_plain,
        "sysu_test_ids_with_suggestions": sysu_assisted,
    }
    if not args.skip_full:
        full = _synth("sysu", "full", out / "data" / "SYSU-MM01-full", args.seed)
        with store.write() as s:
            register_dataset(s, "sysu-full", "sysu", full)
        t0 = time.perf_counter()
        rep = run_predict(store, PredictOptions(ckpt, "sysu-full", device="cpu", progress=False))
        result["predict_full_sysu"] = {
            "images": rep.images,
            "seconds": round(time.perf_counter() - t0, 1),
        }
    store.dispose()
    (out / "bench_labelling.json").write_text(json.dumps(result, indent=2) + "\n")
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
