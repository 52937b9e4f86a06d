"""Retrieval by attribute labels alone, no image: the reference a ``gt`` result is read against.

When the test images' ground-truth attributes are fed to the model (``gt``, the paper's
protocol), a model could score well by looking those labels up. This reference ranks the
gallery by the number of attributes that differ from the query's (Hamming distance), ties
broken by a seeded jitter below 0.5 (so it never reorders different distances), and is
scored by the same :func:`~paenet.evaluation.metrics.evaluate_distances` as a model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from paenet.attributes import is_known
from paenet.data.protocol import TestProtocol
from paenet.data.records import Sample
from paenet.evaluation.metrics import evaluate_distances
from paenet.evaluation.runner import ProtocolResult, protocol_result


def attribute_distances(
    query: np.ndarray, gallery: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """``[Q, G]`` float distances: differing attributes plus a jitter in [0, 0.5).

    ``query`` ``[Q, n]`` and ``gallery`` ``[G, n]`` hold 0/1 labels; an unknown (negative)
    label is refused, since it would count as a difference.
    """
    q, g = np.asarray(query), np.asarray(gallery)
    if q.ndim != 2 or g.ndim != 2 or q.shape[1] != g.shape[1]:
        raise ValueError(f"attributes must be [Q, n] and [G, n], got {q.shape} and {g.shape}")
    if not (is_known(q).all() and is_known(g).all()):
        raise ValueError("the attributes-only reference needs every test attribute known")
    hamming = (q[:, None, :] != g[None, :, :]).sum(axis=2).astype(np.float64)
    return hamming + rng.uniform(0.0, 0.5, size=hamming.shape)


def evaluate_attributes_only(
    protocols: Sequence[TestProtocol],
    attributes_of: Callable[[Sequence[Sample]], np.ndarray],
    seed: int = 0,
    max_rank: int = 20,
) -> list[ProtocolResult]:
    """Every protocol scored from labels alone (``attributes_of``: e.g.
    :meth:`paenet.data.manifest.Manifest.attributes_of`); one generator for all jitters."""
    rng = np.random.default_rng(seed)
    return [
        protocol_result(
            p,
            evaluate_distances(
                attribute_distances(attributes_of(p.query), attributes_of(p.gallery), rng),
                p,
                max_rank,
            ),
        )
        for p in protocols
    ]
