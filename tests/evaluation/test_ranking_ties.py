"""The vectorised ranking against a plain one (a stable argsort per query) where exact
ties are everywhere, and small cases worked out by hand."""

from __future__ import annotations

from pathlib import PurePosixPath

import numpy as np
import pytest

from paenet.data.protocol import SkipRule, TestProtocol
from paenet.data.records import Modality, Sample
from paenet.evaluation import evaluate_distances
from paenet.evaluation.ranking import GalleryGroups

SAME_ROOM = SkipRule(3, 2, "same room")


def _s(pid: int, cam: int, k: int = 0) -> Sample:
    mod = Modality.INFRARED if cam in (3, 6) else Modality.VISIBLE
    return Sample(PurePosixPath(f"cam{cam}/{pid:04d}/{k:04d}.jpg"), pid, cam, mod)


def plain_ranking(dist: np.ndarray, proto: TestProtocol, max_rank: int) -> dict[str, object]:
    """Per query: drop the removed pairs, order the rest by (distance, gallery index),
    read the ranks of the positives and, for the unique-identity CMC, of the first
    occurrence of the query's identity among the distinct identities."""
    aps, inps, firsts = [], [], []
    for qi, q in enumerate(proto.query):
        kept = [
            j
            for j, g in enumerate(proto.gallery)
            if not any(q.camera == r.query_camera and g.camera == r.gallery_camera
                       for r in proto.skip_rules)
        ]  # fmt: skip
        kept.sort(key=lambda j: (dist[qi, j], j))
        pids = [proto.gallery[j].pid for j in kept]
        hits = [rank for rank, pid in enumerate(pids, start=1) if pid == q.pid]
        if not hits:
            continue
        aps.append(np.mean([n / rank for n, rank in enumerate(hits, start=1)]))
        inps.append(len(hits) / hits[-1])
        distinct = list(dict.fromkeys(pids))
        firsts.append(distinct.index(q.pid) + 1 if proto.unique_identity_cmc else hits[0])
    first = np.array(firsts)
    cmc = [float(np.mean(first <= k)) for k in range(1, max_rank + 1)] if firsts else None
    return {"valid": len(aps), "cmc": cmc, "mAP": np.mean(aps) if aps else None,
            "mINP": np.mean(inps) if aps else None}  # fmt: skip


def _check(dist: np.ndarray, proto: TestProtocol, max_rank: int = 20, **kw: int) -> None:
    want = plain_ranking(dist, proto, max_rank)
    if want["valid"] == 0:
        with pytest.raises(ValueError, match="no valid query"):
            evaluate_distances(dist, proto, max_rank, **kw)
        return
    got = evaluate_distances(dist, proto, max_rank, **kw)
    assert got.num_valid_queries == want["valid"]
    assert got.cmc.tolist() == pytest.approx(want["cmc"], abs=1e-15)
    assert got.mAP == pytest.approx(want["mAP"], rel=1e-12)
    assert got.mINP == pytest.approx(want["mINP"], rel=1e-12)


# gallery index: pid, camera
GALLERY = (_s(2, 1), _s(1, 2), _s(3, 1), _s(1, 4), _s(2, 4), _s(1, 5))


@pytest.mark.parametrize(
    ("query", "row", "cmc", "ap", "inp"),
    [
        # cam3 skips cam2 (index 1). Kept order 5, 0, 2, 3, 4 -> pids 1 2 3 1 2
        (_s(1, 3), [0.3, 0.1, 0.3, 0.3, 0.3, 0.2], [1] * 6, (1 + 2 / 4) / 2, 2 / 4),
        # nothing skipped: 1, 5, 0, 2, 3, 4 -> pids 1 1 2 3 1 2
        (_s(1, 6), [0.3, 0.1, 0.3, 0.3, 0.3, 0.2], [1] * 6, (1 + 1 + 3 / 5) / 3, 3 / 5),
        # kept 5, 0, 2, ... -> pids 1 2 3: the identity is third, after 1 and 2
        (_s(3, 3), [0.3, 0.1, 0.3, 0.3, 0.3, 0.2], [0, 0, 1, 1, 1, 1], 1 / 3, 1 / 3),
        # every distance equal: gallery order, pids 2 1 3 1 2 1
        (_s(2, 6), [0.0] * 6, [1] * 6, (1 + 2 / 5) / 2, 2 / 5),
        (_s(3, 6), [0.0] * 6, [0, 0, 1, 1, 1, 1], 1 / 3, 1 / 3),
        # index 0 (pid 2) ties the positive at a lower index: ahead; 3 and 4 tie at higher
        # indices: behind; the closest image (index 1, pid 1) is removed: not counted
        (_s(3, 3), [0.3, 0.0, 0.3, 0.3, 0.3, 0.5], [0, 1, 1, 1, 1, 1], 1 / 2, 1 / 2),
    ],
)
def test_hand_checked_ties(query: Sample, row: list[float], cmc: list[int], ap: float,
                           inp: float) -> None:  # fmt: skip
    proto = TestProtocol("x", (query,), GALLERY, (SAME_ROOM,), unique_identity_cmc=True)
    dist = np.array([row], dtype=np.float32)
    m = evaluate_distances(dist, proto, max_rank=6)
    assert m.cmc.tolist() == cmc
    assert m.mAP == pytest.approx(ap) and m.mINP == pytest.approx(inp)
    _check(dist, proto, max_rank=6)


def _protocol(rng: np.random.Generator, nq: int, sizes: list[int], shuffle: bool,
              sysu: bool) -> TestProtocol:  # fmt: skip
    gallery = [_s(pid, int(rng.choice([1, 2, 4, 5])), k)
               for pid, n in enumerate(sizes) for k in range(n)]  # fmt: skip
    if shuffle:
        gallery = [gallery[i] for i in rng.permutation(len(gallery))]
    ids = len(sizes) + 2  # some queries have no gallery identity
    query = tuple(_s(int(rng.integers(ids)), int(rng.choice([3, 6])), k) for k in range(nq))
    rules = (SAME_ROOM,) if sysu else ()
    return TestProtocol("x", query, tuple(gallery), rules, unique_identity_cmc=sysu)


@pytest.mark.parametrize("sysu", [True, False], ids=["sysu-rules", "raw-cmc"])
@pytest.mark.parametrize("shuffle", [False, True], ids=["grouped", "interleaved"])
@pytest.mark.parametrize(
    "sizes",
    [[1, 2, 3, 2, 1, 3, 2] * 20, [40, 30, 10, 40, 20, 40], [5] * 30],
    ids=["small-groups", "large-groups", "equal-groups"],
)
def test_many_exact_ties_match_the_plain_ranking(sysu: bool, shuffle: bool,
                                                 sizes: list[int]) -> None:  # fmt: skip
    rng = np.random.default_rng(len(sizes) * 10 + 2 * shuffle + sysu)
    proto = _protocol(rng, 60, sizes, shuffle, sysu)
    shape = (len(proto.query), len(proto.gallery))
    for levels, dtype in ((2, np.float32), (3, np.float64), (5, np.int64)):
        dist = rng.integers(0, levels, size=shape).astype(dtype)
        _check(dist, proto)
        _check(dist, proto, max_rank=3, block_rows=7)
    _check(np.zeros(shape, np.float32), proto)  # one tie of everything: gallery order


def test_group_counts_by_doubling_and_by_reduceat_agree_with_sets() -> None:
    rng = np.random.default_rng(4)
    for sizes in ([1, 2, 3, 1, 2] * 40, [40, 33, 40, 7]):  # doubling / reduceat
        pids = np.repeat(np.arange(len(sizes)), sizes)
        for order in (np.arange(pids.size), rng.permutation(pids.size)):
            groups = GalleryGroups.of(pids[order])
            flags = rng.random((9, pids.size)) < 0.05
            want = [len({p for p, f in zip(pids[order], row, strict=True) if f}) for row in flags]
            assert groups.count_any(flags.copy()).tolist() == want
