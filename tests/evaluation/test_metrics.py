from __future__ import annotations

from pathlib import PurePosixPath

import numpy as np
import pytest

from paenet.data.protocol import SkipRule, TestProtocol
from paenet.data.records import Modality, Sample
from paenet.evaluation import evaluate_distances


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
