from __future__ import annotations

from pathlib import PurePosixPath

import numpy as np
import pytest

from paenet.data.protocol import SkipRule, TestProtocol
from paenet.data.records import Modality, Sample
from paenet.evaluation import evaluate_distances
from paenet.evaluation.ranking import lower_bound


def _s(pid: int, cam: int, k: int = 0) -> Sample:
    mod = Modality.INFRARED if cam in (3, 6) else Modality.VISIBLE
    return Sample(PurePosixPath(f"cam{cam}/{pid:04d}/{k:04d}.jpg"), pid, cam, mod)


def test_ap_inp_and_cmc_by_hand() -> None:
    # gallery order by distance: pid 2, pid 1, pid 2, pid 1  -> positives at ranks 2 and 4
    proto = TestProtocol(
        "x", query=(_s(1, 3),), gallery=(_s(2, 1), _s(1, 1, 1), _s(2, 4), _s(1, 4, 1))
    )
    m = evaluate_distances(np.array([[0.1, 0.2, 0.3, 0.4]]), proto, max_rank=4)
    assert m.mAP == pytest.approx((1 / 2 + 2 / 4) / 2)
    assert m.mINP == pytest.approx(2 / 4)
    assert m.cmc.tolist() == [0, 1, 1, 1]


def test_unique_identity_cmc_deduplicates_before_ranking() -> None:
    gallery = (_s(2, 1), _s(2, 4), _s(3, 1), _s(1, 1))
    dist = np.array([[0.1, 0.2, 0.3, 0.4]])
    raw = evaluate_distances(dist, TestProtocol("x", (_s(1, 6),), gallery), max_rank=4)
    uniq = evaluate_distances(
        dist, TestProtocol("x", (_s(1, 6),), gallery, unique_identity_cmc=True), max_rank=4
    )
    assert raw.cmc.tolist() == [0, 0, 0, 1]
    assert uniq.cmc.tolist() == [0, 0, 1, 1]  # distinct ids: 2, 3, 1
    assert raw.mAP == uniq.mAP == pytest.approx(1 / 4)  # mAP uses the list before de-duplication


def test_skip_rule_removes_same_room_gallery_whatever_the_identity() -> None:
    rule = SkipRule(3, 2, "same room")
    gallery = (_s(1, 2), _s(5, 2), _s(1, 1))
    q = (_s(1, 3), _s(1, 6))
    dist = np.array([[0.1, 0.2, 0.3], [0.1, 0.2, 0.3]])
    m = evaluate_distances(dist, TestProtocol("x", q, gallery, skip_rules=(rule,)), max_rank=3)
    # cam3 query: only the cam1 image is left -> rank 1; cam6 query: rank 1 too
    assert m.cmc.tolist() == [1, 1, 1]
    q_only3 = TestProtocol("x", (_s(1, 3),), (_s(1, 2), _s(7, 1)), skip_rules=(rule,))
    with pytest.raises(ValueError, match="no valid query"):
        evaluate_distances(np.array([[0.1, 0.2]]), q_only3)


def test_ties_are_broken_by_gallery_order() -> None:
    proto = TestProtocol("x", (_s(1, 3),), (_s(2, 1), _s(1, 1)))
    m = evaluate_distances(np.array([[0.5, 0.5]]), proto, max_rank=2)
    assert m.cmc.tolist() == [0, 1]


def test_query_without_gallery_identity_is_skipped_and_shape_checked() -> None:
    proto = TestProtocol("x", (_s(1, 3), _s(9, 3)), (_s(1, 1), _s(2, 1)))
    m = evaluate_distances(np.array([[0.1, 0.2], [0.1, 0.2]]), proto, max_rank=2)
    assert (m.num_valid_queries, m.num_queries) == (1, 2) and m.rank(1) == 1.0
    with pytest.raises(ValueError, match=r"needs \(2, 2\)"):
        evaluate_distances(np.zeros((2, 3)), proto)


# --- the vectorised evaluator against a plain per-query reference ---------------------------


def _reference(dist: np.ndarray, proto: TestProtocol, max_rank: int) -> dict[str, object]:
    """The definition, one query at a time, in plain Python over a stable sort."""
    cmc = [0.0] * max_rank
    aps: list[float] = []
    inps: list[float] = []
    for qi, q in enumerate(proto.query):
        ranked = [
            proto.gallery[j]
            for j in np.argsort(dist[qi], kind="stable")
            if not any(
                q.camera == r.query_camera and proto.gallery[j].camera == r.gallery_camera
                for r in proto.skip_rules
            )
        ]
        hits = [i + 1 for i, g in enumerate(ranked) if g.pid == q.pid]
        if not hits:
            continue
        aps.append(sum((n + 1) / r for n, r in enumerate(hits)) / len(hits))
        inps.append(len(hits) / hits[-1])
        if proto.unique_identity_cmc:
            distinct: list[int] = []
            for g in ranked:
                if g.pid not in distinct:
                    distinct.append(g.pid)
            first = distinct.index(q.pid) + 1
        else:
            first = hits[0]
        for k in range(first, max_rank + 1):
            cmc[k - 1] += 1
    return {
        "cmc": [c / len(aps) for c in cmc] if aps else None,
        "mAP": sum(aps) / len(aps) if aps else None,
        "mINP": sum(inps) / len(inps) if aps else None,
        "valid": len(aps),
    }


def _random_protocol(
    rng: np.random.Generator, nq: int, ng: int, n_ids: int, sysu: bool
) -> TestProtocol:
    query = tuple(_s(int(rng.integers(n_ids)), int(rng.choice([3, 6])), k) for k in range(nq))
    gallery = tuple(
        _s(int(rng.integers(n_ids)), int(rng.choice([1, 2, 4, 5])), k) for k in range(ng)
    )
    rules = (SkipRule(3, 2, "same room"),) if sysu else ()
    return TestProtocol("x", query, gallery, skip_rules=rules, unique_identity_cmc=sysu)


def _assert_same(dist: np.ndarray, proto: TestProtocol, max_rank: int, **kw: int) -> None:
    ref = _reference(dist, proto, max_rank)
    if ref["valid"] == 0:
        with pytest.raises(ValueError, match="no valid query"):
            evaluate_distances(dist, proto, max_rank=max_rank, **kw)
        return
    got = evaluate_distances(dist, proto, max_rank=max_rank, **kw)
    assert got.num_valid_queries == ref["valid"]
    assert got.num_queries == len(proto.query)
    assert got.cmc.tolist() == pytest.approx(ref["cmc"], abs=1e-15)
    assert got.mAP == pytest.approx(ref["mAP"], rel=1e-12)
    assert got.mINP == pytest.approx(ref["mINP"], rel=1e-12)


@pytest.mark.parametrize("sysu", [True, False], ids=["sysu-rules", "raw-cmc"])
@pytest.mark.parametrize("levels", [2, 4, 0], ids=["2-levels", "4-levels", "continuous"])
def test_matches_reference_on_random_matrices_with_ties(sysu: bool, levels: int) -> None:
    rng = np.random.default_rng(1000 * levels + sysu)
    for case in range(60):
        nq, ng = int(rng.integers(1, 25)), int(rng.integers(1, 30))
        proto = _random_protocol(rng, nq, ng, n_ids=int(rng.integers(1, 7)), sysu=sysu)
        if levels:  # integer-valued: ties everywhere, between positives and negatives
            dist = rng.integers(0, levels, size=(nq, ng)).astype(np.float64)
        else:
            dist = rng.standard_normal((nq, ng)).astype(np.float32)
        max_rank = int(rng.integers(1, 25))
        _assert_same(dist, proto, max_rank, block_rows=int(rng.integers(1, 6)))
        if case % 10 == 0:  # default blocking gives the same numbers
            _assert_same(dist, proto, max_rank)


def test_integer_dtype_and_unsorted_gallery_identities() -> None:
    rng = np.random.default_rng(7)
    proto = _random_protocol(rng, 40, 50, n_ids=5, sysu=True)
    # gallery identities interleaved (not grouped), many queries lose pid matches to cam2
    dist = rng.integers(0, 3, size=(40, 50))
    _assert_same(dist, proto, 20, block_rows=7)


def test_every_tie_resolved_by_gallery_order() -> None:
    # all distances equal: the ranked list is the gallery order itself
    gallery = (_s(2, 1), _s(1, 1), _s(3, 2), _s(1, 4), _s(2, 4), _s(1, 5))
    proto = TestProtocol("x", (_s(1, 6), _s(1, 3)), gallery, (SkipRule(3, 2, "r"),), True)
    m = evaluate_distances(np.zeros((2, 6)), proto, max_rank=4)
    # query 1 (cam6): positives at 2, 4, 6; distinct ids 2, 1 -> identity rank 2
    # query 2 (cam3): cam2 image removed: 2, 1, 1, 2, 1 -> positives at 2, 3, 5, rank 2
    assert m.mAP == pytest.approx(((1 / 2 + 2 / 4 + 3 / 6) / 3 + (1 / 2 + 2 / 3 + 3 / 5) / 3) / 2)
    assert m.mINP == pytest.approx((3 / 6 + 3 / 5) / 2)
    assert m.cmc.tolist() == [0, 1, 1, 1]


def test_tiny_galleries_and_queries_without_match() -> None:
    one = TestProtocol("x", (_s(1, 3), _s(2, 6)), (_s(2, 1),), unique_identity_cmc=True)
    m = evaluate_distances(np.array([[0.3], [0.3]]), one, max_rank=20)
    assert (m.num_valid_queries, m.num_queries) == (1, 2)
    assert m.cmc.tolist() == [1.0] * 20 and m.mAP == 1.0 and m.mINP == 1.0
    empty = TestProtocol("x", (_s(1, 3),), ())
    with pytest.raises(ValueError, match="no valid query"):
        evaluate_distances(np.zeros((1, 0)), empty)


def test_non_finite_distances_are_refused() -> None:
    proto = TestProtocol("x", (_s(1, 3),), (_s(1, 1), _s(2, 1)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        evaluate_distances(np.array([[0.1, np.nan]]), proto)


def test_sysu_sized_blocks_agree_with_reference_on_a_sample_of_queries() -> None:
    # a gallery larger than one block row budget: blocks of 1 row and of many rows agree
    rng = np.random.default_rng(3)
    proto = _random_protocol(rng, 30, 400, n_ids=20, sysu=True)
    dist = np.round(rng.random((30, 400)), 2)  # 100 levels over 400 images: ties
    _assert_same(dist, proto, 20, block_rows=1)
    _assert_same(dist, proto, 20, block_rows=30)


def test_lower_bound_is_row_wise_searchsorted() -> None:
    rng = np.random.default_rng(5)
    for g in (0, 1, 2, 7, 64, 65):
        rows = np.sort(rng.integers(0, 5, size=(6, g)).astype(np.float32), axis=1)
        values = rng.integers(-1, 7, size=(6, 4)).astype(np.float32)
        want = np.stack([np.searchsorted(r, v, side="left") for r, v in zip(rows, values)])
        assert np.array_equal(lower_bound(rows, values), want)
