"""CMC, mAP and mINP as the field defines them (``docs/metrics.md``).

The protocol decides everything dataset-specific: which (query camera, gallery
camera) pairs are removed (``skip_rules``) and whether CMC counts distinct
identities (``unique_identity_cmc``). Ties in distance are broken by gallery
order (a stable sort), so results never depend on the sort implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter

import numpy as np

from paenet.data.protocol import TestProtocol
from paenet.data.records import Sample
from paenet.evaluation.ranking import GalleryGroups, rank_block


@dataclass(frozen=True)
class RetrievalMetrics:
    cmc: np.ndarray
    """``cmc[k-1]`` = fraction of valid queries with a hit within the first k ranks."""
    mAP: float
    mINP: float
    num_valid_queries: int
    num_queries: int

    def rank(self, k: int) -> float:
        return float(self.cmc[min(k, len(self.cmc)) - 1])

    def as_dict(self, ranks: tuple[int, ...] = (1, 5, 10, 20)) -> dict[str, float | int]:
        out: dict[str, float | int] = {f"rank{k}": self.rank(k) for k in ranks}
        out.update(
            mAP=self.mAP,
            mINP=self.mINP,
            valid_queries=self.num_valid_queries,
            queries=self.num_queries,
        )
        return out


def _field(samples: Sequence[Sample], name: str) -> np.ndarray:
    """int64 ``[len(samples)]`` of one integer field of each sample."""
    return np.fromiter(map(attrgetter(name), samples), np.int64, len(samples))


#: Upper bound on the elements of one ``[queries, gallery]`` block held at a time.
BLOCK_ELEMENTS = 1 << 21


def evaluate_distances(
    distances: np.ndarray,
    protocol: TestProtocol,
    max_rank: int = 20,
    *,
    block_rows: int | None = None,
) -> RetrievalMetrics:
    """Score a ``[num_query, num_gallery]`` distance matrix (smaller = closer).

    Rows follow ``protocol.query``, columns ``protocol.gallery``. A query whose
    identity has no gallery image left after the removals is skipped; if no query
    is valid that is an error, not a zero. Distances must be finite.

    Vectorised over queries (see :mod:`paenet.evaluation.ranking`); queries are
    processed ``block_rows`` at a time (default: about ``BLOCK_ELEMENTS`` elements
    per block) so memory stays bounded whatever the gallery size.
    """
    distances = np.asarray(distances)
    nq, ng = len(protocol.query), len(protocol.gallery)
    if distances.shape != (nq, ng):
        raise ValueError(
            f"distance matrix has shape {distances.shape}, the protocol {protocol.name} "
            f"needs ({nq}, {ng}) = (queries, gallery)"
        )
    if max_rank < 1:
        raise ValueError(f"max_rank must be >= 1, got {max_rank}")
    if distances.dtype not in (np.float32, np.float64):
        distances = distances.astype(np.float64)
    if not np.isfinite(distances).all():
        raise ValueError(f"distance matrix for {protocol.name} has NaN or infinite entries")
    q_pids = _field(protocol.query, "pid")
    g_pids = _field(protocol.gallery, "pid")
    groups = GalleryGroups.of(g_pids)
    penalty_table = q_cam_row = None
    if protocol.skip_rules:  # one penalty row per distinct query camera, gathered per block
        cams, q_cam_row = np.unique(_field(protocol.query, "camera"), return_inverse=True)
        keep = protocol.keep_mask(cams, _field(protocol.gallery, "camera"))
        penalty_table = np.where(keep, -np.inf, np.inf).astype(distances.dtype)
    step = block_rows or max(1, BLOCK_ELEMENTS // max(ng, 1))

    aps: list[np.ndarray] = []
    inps: list[np.ndarray] = []
    first: list[np.ndarray] = []  # rank that decides the CMC hit of each valid query
    for lo in range(0, nq, step):
        hi = min(nq, lo + step)
        penalty = None
        if penalty_table is not None:
            penalty = np.take(penalty_table, q_cam_row[lo:hi], axis=0)
        block = rank_block(
            distances[lo:hi], penalty, q_pids[lo:hi], groups, protocol.unique_identity_cmc
        )
        if block.num_positives.size == 0:
            continue
        npos, ranks = block.num_positives, block.positive_ranks
        m = np.arange(1, ranks.shape[1] + 1)
        counted = m[None, :] <= npos[:, None]
        precision = np.where(counted, m[None, :] / ranks, 0.0)
        aps.append(precision.sum(axis=1) / npos)
        last = np.take_along_axis(ranks, (npos - 1)[:, None], axis=1)[:, 0]
        inps.append(npos / last)
        first.append(block.identity_ranks if block.identity_ranks is not None else ranks[:, 0])
    if not aps:
        raise ValueError(
            f"no valid query in {protocol.name}: no query identity has a gallery image"
        )
    ap, inp, hit_rank = np.concatenate(aps), np.concatenate(inps), np.concatenate(first)
    hits = np.bincount(np.minimum(hit_rank, max_rank + 1) - 1, minlength=max_rank + 1)
    return RetrievalMetrics(
        cmc=np.cumsum(hits[:max_rank]) / ap.size,
        mAP=float(np.mean(ap)),
        mINP=float(np.mean(inp)),
        num_valid_queries=int(ap.size),
        num_queries=nq,
    )
