"""The attributes-only reference: Hamming distances, ties broken by jitter, real metrics."""

from __future__ import annotations

from pathlib import PurePosixPath

import numpy as np
import pytest

from paenet.data.protocol import TestProtocol
from paenet.data.records import Modality, Sample
from paenet.evaluation.attribute_reference import attribute_distances, evaluate_attributes_only


def _s(pid: int, cam: int, k: int = 0) -> Sample:
    mod = Modality.INFRARED if cam in (3, 6) else Modality.VISIBLE
    return Sample(PurePosixPath(f"cam{cam}/{pid:04d}/{k:04d}.jpg"), pid, cam, mod)


def test_distances_count_differing_attributes_and_jitter_never_reorders() -> None:
    q = np.array([[0, 0, 1], [1, 1, 1]])
    g = np.array([[0, 0, 1], [1, 1, 0], [0, 1, 0]])
    d = attribute_distances(q, g, np.random.default_rng(0))
    assert np.array_equal(np.floor(d), [[0, 3, 2], [2, 1, 2]])
    assert ((d - np.floor(d)) < 0.5).all() and len(np.unique(d)) == d.size


def test_unknown_labels_and_wrong_shapes_are_refused() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="every test attribute known"):
        attribute_distances(np.array([[0, -1]]), np.array([[0, 1]]), rng)
    with pytest.raises(ValueError, match=r"\[Q, n\]"):
        attribute_distances(np.array([[0, 1]]), np.array([[0, 1, 1]]), rng)


def test_scores_by_labels_alone() -> None:
    # ids 1 and 2 have distinct labels, ids 3 and 4 share theirs: queries of 1 and 2 are
    # found first; a query of 3 or 4 ties with the other of the pair (jitter decides).
    labels = {1: [0, 0], 2: [1, 1], 3: [0, 1], 4: [0, 1]}
    query = tuple(_s(p, 3) for p in (1, 2))
    gallery = tuple(_s(p, 1) for p in (1, 2, 3, 4))
    proto = TestProtocol("sysu", query, gallery, unique_identity_cmc=True,
                         params={"mode": "all", "shots": 1, "trial": 0})  # fmt: skip

    def attributes_of(samples: tuple[Sample, ...]) -> np.ndarray:
        return np.array([labels[s.pid] for s in samples])

    (result,) = evaluate_attributes_only([proto], attributes_of)
    assert result.setting == "all-search single-shot" and result.trial == 0
    assert result.metrics.rank(1) == 1.0 and result.metrics.mAP == 1.0
    tied = TestProtocol("sysu", (_s(3, 3), _s(4, 3)), gallery, unique_identity_cmc=True)
    ranks = [evaluate_attributes_only([tied], attributes_of, seed=s)[0].metrics.rank(1)
             for s in range(20)]  # fmt: skip
    # each of the two tied queries is first half the time: rank-1 0, 0.5 or 1 per seed
    assert set(ranks) <= {0.0, 0.5, 1.0} and 0.3 < float(np.mean(ranks)) < 0.7
    assert all(evaluate_attributes_only([tied], attributes_of, seed=s)[0].metrics.rank(2) == 1.0
               for s in range(5))  # fmt: skip
