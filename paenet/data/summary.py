"""``paenet-data inspect``: a dataset's summary as a plain dict with stable keys.

The same dict is printed as text or as JSON, so both always agree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from paenet.data.records import Camera, Modality, Sample
from paenet.data.regdb import TRIALS as REGDB_TRIALS
from paenet.data.regdb import RegdbDataset
from paenet.data.regdb_protocol import Direction, regdb_protocol
from paenet.data.sysu import REQUIRED_SPLITS, SysuDataset
from paenet.data.sysu_protocol import SHOTS, RandPerm, Sampling, SearchMode, sysu_protocol


def _counts(samples: Iterable[Sample], cameras: Mapping[int, Camera]) -> dict[str, Any]:
    samples = list(samples)
    per_cam = Counter(s.camera for s in samples)
    ids_cam: dict[int, set[int]] = {}
    for s in samples:
        ids_cam.setdefault(s.camera, set()).add(s.pid)
    per_mod = Counter(s.modality.value for s in samples)
    return {
        "identities": len({s.pid for s in samples}),
        "images": len(samples),
        "per_modality": {m.value: per_mod.get(m.value, 0) for m in Modality},
        "per_camera": {
            f"cam{c}": {
                "modality": cameras[c].modality.value,
                "location": cameras[c].location.value,
                "identities": len(ids_cam.get(c, ())),
                "images": per_cam.get(c, 0),
            }
            for c in sorted(cameras)
        },
    }


def summarize_sysu(ds: SysuDataset, rand_perm: RandPerm | None = None) -> dict[str, Any]:
    """Totals, per-split counts and the size of every mode/shot protocol (trial 0)."""
    splits: dict[str, Any] = {}
    for split in REQUIRED_SPLITS:
        splits[split] = _counts(ds.samples_in(ds.split_ids(split)), ds.cameras)
    splits["train+val"] = _counts(ds.samples_in(ds.train_ids(include_val=True)), ds.cameras)
    sampling = Sampling.OFFICIAL if rand_perm is not None else Sampling.SEEDED
    protocols = []
    for mode in SearchMode:
        for shots in SHOTS:
            proto = sysu_protocol(ds, mode, shots, 0, sampling, rand_perm)
            protocols.append({**dict(proto.params), **proto.sizes()})
    return {
        "dataset": "sysu",
        "root": str(ds.root),
        **_counts(ds.samples, ds.cameras),
        "splits": splits,
        "protocols": protocols,
    }


def summarize_regdb(ds: RegdbDataset) -> dict[str, Any]:
    """Totals and, per trial, train/test identities and both directions' protocol sizes."""
    trials = []
    for trial in REGDB_TRIALS:
        train = ds.trial_ids("train", trial)
        test = ds.trial_ids("test", trial)
        overlap = sorted(set(train) & set(test))
        entry: dict[str, Any] = {
            "trial": trial,
            "train_identities": len(train),
            "test_identities": len(test),
            "train_test_overlap": len(overlap),
        }
        for direction in Direction:
            entry[direction.value] = regdb_protocol(ds, trial, direction).sizes()
        trials.append(entry)
    return {
        "dataset": "regdb",
        "root": str(ds.root),
        **_counts(ds.samples, ds.cameras),
        "trials": trials,
    }


def render_text(summary: Mapping[str, Any]) -> str:
    """A readable multi-line rendering of :func:`summarize_sysu` / :func:`summarize_regdb`."""
    lines = [
        f"{summary['dataset']} at {summary['root']}",
        f"  {summary['identities']} identities, {summary['images']} images "
        f"({_mods(summary['per_modality'])})",
    ]
    lines.append("  per camera:")
    for cam, c in summary["per_camera"].items():
        lines.append(
            f"    {cam:<5} {c['modality']:<8} {c['location']:<7} "
            f"{c['identities']:>5} ids {c['images']:>7} images"
        )
    for split, c in summary.get("splits", {}).items():
        lines.append(
            f"  split {split:<10} {c['identities']:>5} ids {c['images']:>7} images "
            f"({_mods(c['per_modality'])})"
        )
    if "protocols" in summary:
        lines.append("  test protocols (trial 0):")
        for p in summary["protocols"]:
            lines.append(
                f"    {p['mode'] + '-search':<13} {p['shots']:>2}-shot ({p['sampling']}): "
                f"query {p['query']:>5} images / {p['query_identities']} ids, "
                f"gallery {p['gallery']:>5} images / {p['gallery_identities']} ids"
            )
    for t in summary.get("trials", []):
        lines.append(
            f"  trial {t['trial']:>2}: train {t['train_identities']} ids, test "
            f"{t['test_identities']} ids, overlap {t['train_test_overlap']}; "
            f"v2t query {t['v2t']['query']} / gallery {t['v2t']['gallery']}, "
            f"t2v query {t['t2v']['query']} / gallery {t['t2v']['gallery']}"
        )
    return "\n".join(lines)


def _mods(per_modality: Mapping[str, int]) -> str:
    return ", ".join(f"{n} {m}" for m, n in per_modality.items())
