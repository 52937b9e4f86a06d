"""Evaluation speed: ``evaluate_distances`` against the field's per-query loop and against
one value sort of the same matrix, same run.

Protocols at the real datasets' sizes, built by the project's own protocol code from
the real SYSU-MM01 structure (ids, cameras, image counts; no image is read) and
RegDB's (206 test ids x 10 images per modality). Features are synthetic (identity
centre + modality shift + noise, L2-normalised, float32), distances = -q.g as in the
field's code. The field's loop is written here as the field writes it: one full
argsort of the matrix, then per query a removal mask, ``np.unique`` and a Python
list comprehension for the unique-identity CMC, and a comprehension over the
cumulative matches for AP. Both must agree; the script checks it. The floor is one
value sort of the matrix, row by row (``np.sort(d, axis=1)``): ours is timed
interleaved with it (sort, ours, sort, ours, ...) and the ratio of the medians printed
(#22 asks for at most 3x on every protocol).

    python benchmarks/bench_eval.py                 # all protocols, 3 repeats of ours
    python benchmarks/bench_eval.py --repeat 5 --field-repeat 2
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from types import MappingProxyType

import numpy as np
from common import timed

from paenet.data.protocol import TestProtocol
from paenet.data.records import Modality, Sample
from paenet.data.sysu import SysuDataset, camera_dir, pid_dir
from paenet.data.sysu_protocol import SearchMode, sysu_protocol
from paenet.evaluation import evaluate_distances
from paenet.evaluation.features import FeatureBank
from paenet.evaluation.runner import evaluate_protocols, summarize
from paenet.evaluation.session import protocol_images
from paenet.synth.structure import load_structure

FEATURE_DIM = 256
NOISE = 2.4


def sysu_index() -> SysuDataset:
    """The real SYSU-MM01 structure as records (paths are never opened)."""
    st = load_structure()
    samples = [
        Sample(
            PurePosixPath(f"{camera_dir(cam)}/{pid_dir(pid)}/{k:04d}.jpg"),
            pid,
            cam,
            Modality.INFRARED if cam in (3, 6) else Modality.VISIBLE,
        )
        for cam, per_pid in st.counts.items()
        for pid, n in per_pid.items()
        for k in range(1, n + 1)
    ]
    samples.sort(key=lambda s: (s.pid, s.camera, s.path))
    splits = {k: tuple(sorted(v)) for k, v in st.splits.items()}
    return SysuDataset(root=Path("SYSU-MM01"), samples=tuple(samples), splits=splits)


def regdb_protocol_of_size(ids: int = 206, per_id: int = 10) -> TestProtocol:
    def side(folder: str, cam: int, mod: Modality) -> tuple[Sample, ...]:
        return tuple(
            Sample(PurePosixPath(f"{folder}/{pid}/{k}.bmp"), pid, cam, mod)
            for pid in range(ids)
            for k in range(per_id)
        )

    return TestProtocol(
        dataset="regdb",
        query=side("Visible", 1, Modality.VISIBLE),
        gallery=side("Thermal", 2, Modality.INFRARED),
        params=MappingProxyType({"direction": "v2t", "trial": 1}),
    )


def synthetic_distances(proto: TestProtocol, seed: int) -> np.ndarray:
    """``-q.g`` for features that retrieve moderately well (rank-1 well below 1)."""
    rng = np.random.default_rng(seed)
    pids = sorted({s.pid for s in proto.query} | {s.pid for s in proto.gallery})
    centre = {p: rng.standard_normal(FEATURE_DIM).astype(np.float32) for p in pids}
    shift = rng.standard_normal((2, FEATURE_DIM)).astype(np.float32)

    def feats(samples: tuple[Sample, ...]) -> np.ndarray:
        x = np.stack([centre[s.pid] for s in samples])
        x += shift[[int(s.modality is Modality.INFRARED) for s in samples]] * 0.8
        x += rng.standard_normal(x.shape).astype(np.float32) * NOISE
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    return -(feats(proto.query) @ feats(proto.gallery).T)


def synthetic_bank(samples: list[Sample], seed: int) -> FeatureBank:
    """A feature per image, drawn like :func:`synthetic_distances`'s."""
    rng = np.random.default_rng(seed)
    pids = sorted({s.pid for s in samples})
    centre = dict(
        zip(pids, rng.standard_normal((len(pids), FEATURE_DIM), dtype=np.float32), strict=True)
    )
    shift = rng.standard_normal((2, FEATURE_DIM)).astype(np.float32)
    x = np.stack([centre[s.pid] for s in samples])
    x += shift[[int(s.modality is Modality.INFRARED) for s in samples]] * 0.8
    x += rng.standard_normal(x.shape).astype(np.float32) * NOISE
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return FeatureBank(tuple(samples), x, None, "synthetic")


def full_sysu(ds: SysuDataset, repeat: int) -> None:
    """Every SYSU setting (all/indoor x single/multi-shot x 10 trials) from one bank."""
    t0 = time.perf_counter()
    protocols = [
        sysu_protocol(ds, mode, shots, trial)
        for mode in SearchMode
        for shots in (1, 10)
        for trial in range(10)
    ]
    build = time.perf_counter() - t0
    samples = protocol_images(protocols)
    bank = synthetic_bank(samples, seed=7)
    runs = timed(lambda: summarize(evaluate_protocols(bank, protocols)), repeat)
    print(
        f"full SYSU evaluation: {len(protocols)} protocols over {len(samples)} images, "
        f"distances + metrics + summary: median {statistics.median(runs):.2f} s "
        f"(min {min(runs):.2f} s, n={repeat}); building the protocols: {build:.2f} s"
    )


def interleaved(
    reference: Callable[[], object], ours: Callable[[], object], repeat: int
) -> tuple[float, float]:
    """Median seconds of ``reference`` and of ``ours``, run alternately ``repeat`` times
    each (after one warm-up of each), so that a shared machine's load hits both alike."""
    reference(), ours()
    ref_t: list[float] = []
    ours_t: list[float] = []
    for _ in range(repeat):
        ref_t += timed(reference, 1)
        ours_t += timed(ours, 1)
    return statistics.median(ref_t), statistics.median(ours_t)


def field_loop(distmat: np.ndarray, proto: TestProtocol, max_rank: int = 20) -> dict[str, float]:
    """The per-query evaluation as the field's public code writes it."""
    q_pids = np.array([s.pid for s in proto.query])
    g_pids = np.array([s.pid for s in proto.gallery])
    q_camids = np.array([s.camera for s in proto.query])
    g_camids = np.array([s.camera for s in proto.gallery])
    sysu = proto.unique_identity_cmc
    num_q = distmat.shape[0]
    indices = np.argsort(distmat, axis=1)
    pred_label = g_pids[indices]
    matches = (g_pids[indices] == q_pids[:, np.newaxis]).astype(np.int32)
    all_cmc, all_ap, all_inp = [], [], []
    num_valid_q = 0.0
    for q_idx in range(num_q):
        q_pid, q_camid = q_pids[q_idx], q_camids[q_idx]
        order = indices[q_idx]
        if sysu:
            remove = (q_camid == 3) & (g_camids[order] == 2)
        else:
            remove = np.zeros(order.shape, dtype=bool)
        keep = np.invert(remove)
        raw_cmc = matches[q_idx][keep]
        if not np.any(raw_cmc):
            continue
        if sysu:
            ranked = pred_label[q_idx][keep]
            first = np.unique(ranked, return_index=True)[1]
            ranked = [ranked[i] for i in sorted(first)]
            hits = (ranked == q_pid).astype(np.int32).cumsum()
        else:
            hits = raw_cmc.cumsum()
        hits[hits > 1] = 1
        all_cmc.append(hits[:max_rank])
        cmc = raw_cmc.cumsum()
        last = np.max(np.where(raw_cmc == 1))
        all_inp.append(cmc[last] / (last + 1.0))
        num_valid_q += 1.0
        num_rel = raw_cmc.sum()
        tmp = raw_cmc.cumsum()
        tmp = [x / (i + 1.0) for i, x in enumerate(tmp)]
        tmp = np.asarray(tmp) * raw_cmc
        all_ap.append(tmp.sum() / num_rel)
    all_cmc = np.asarray(all_cmc).astype(np.float32).sum(0) / num_valid_q
    return {
        "rank1": float(all_cmc[0]),
        "mAP": float(np.mean(all_ap)),
        "mINP": float(np.mean(all_inp)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeat", type=int, default=3, help="repeats of ours and of the value sort (median)"
    )
    parser.add_argument("--field-repeat", type=int, default=1, help="repeats of the field loop")
    parser.add_argument(
        "--only-full", action="store_true", help="only the full SYSU evaluation (no field loop)"
    )
    parser.add_argument(
        "--no-field", action="store_true", help="skip the field loop (ours against the sort only)"
    )
    args = parser.parse_args()

    ds = sysu_index()
    if args.only_full:
        full_sysu(ds, args.repeat)
        return 0
    cases = [
        ("SYSU all-search single-shot", sysu_protocol(ds, SearchMode.ALL, 1, 0)),
        ("SYSU all-search multi-shot", sysu_protocol(ds, SearchMode.ALL, 10, 0)),
        ("SYSU indoor single-shot", sysu_protocol(ds, SearchMode.INDOOR, 1, 0)),
        ("SYSU indoor multi-shot", sysu_protocol(ds, SearchMode.INDOOR, 10, 0)),
        ("RegDB visible->thermal", regdb_protocol_of_size()),
    ]
    print(
        f"{'protocol':30s} {'size':>12s} {'field loop':>11s} {'ours':>10s} {'speed-up':>9s}"
        f" {'np.sort':>9s} {'ours/sort':>9s}   rank-1 / mAP / mINP (ours; max |ours - field|)"
    )
    for i, (name, proto) in enumerate(cases):
        dist = synthetic_distances(proto, seed=i)
        field_t = float("nan")
        if not args.no_field:
            field_t = statistics.median(
                timed(lambda d=dist, p=proto: field_loop(d, p), args.field_repeat)
            )
        sort_t, ours_t = interleaved(
            lambda d=dist: np.sort(d, axis=1),
            lambda d=dist, p=proto: evaluate_distances(d, p),
            args.repeat,
        )
        got = evaluate_distances(dist, proto)
        diff = float("nan")
        if not args.no_field:
            ref = field_loop(dist, proto)
            diff = max(
                abs(ref["rank1"] - got.rank(1)),
                abs(ref["mAP"] - got.mAP),
                abs(ref["mINP"] - got.mINP),
            )
        size = f"{dist.shape[0]}x{dist.shape[1]}"
        print(
            f"{name:30s} {size:>12s} {field_t:10.3f}s {ours_t * 1000:8.1f}ms "
            f"{field_t / ours_t:8.1f}x {sort_t * 1000:7.2f}ms {ours_t / sort_t:8.2f}x"
            f"   {got.rank(1):.4f} / {got.mAP:.4f} / {got.mINP:.4f} ({diff:.1e})"
        )
    full_sysu(ds, args.repeat)
    print(
        f"repeat={args.repeat} field-repeat={args.field_repeat}; "
        f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
