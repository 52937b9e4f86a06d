"""CMC, mAP and mINP as the field defines them (``shared/docs/datasets.md``).

The protocol decides everything dataset-specific: which (query camera, gallery
camera) pairs are removed (``skip_rules``) and whether CMC counts distinct
identities (``unique_identity_cmc``). Ties in distance are broken by gallery
order (a stable sort), so results never depend on the sort implementation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from paenet.data.protocol import TestProtocol


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


def evaluate_distances(
    distances: np.ndarray, protocol: TestProtocol, max_rank: int = 20
) -> RetrievalMetrics:
    """Score a ``[num_query, num_gallery]`` distance matrix (smaller = closer).

    Rows follow ``protocol.query``, columns ``protocol.gallery``. A query whose
    identity has no gallery image left after the removals is skipped; if no query
    is valid that is an error, not a zero.
    """
    distances = np.asarray(distances)
    nq, ng = len(protocol.query), len(protocol.gallery)
    if distances.shape != (nq, ng):
        raise ValueError(
            f"distance matrix has shape {distances.shape}, the protocol {protocol.name} "
            f"needs ({nq}, {ng}) = (queries, gallery)"
        )
    q_pids = np.array([s.pid for s in protocol.query])
    g_pids = np.array([s.pid for s in protocol.gallery])
    keep = protocol.keep_mask(
        [s.camera for s in protocol.query], [s.camera for s in protocol.gallery]
    )
    order = np.argsort(distances, axis=1, kind="stable")
    cmc_sum = np.zeros(max_rank)
    aps: list[float] = []
    inps: list[float] = []
    for qi in range(nq):
        ranked = order[qi][keep[qi][order[qi]]]
        pids = g_pids[ranked]
        matches = pids == q_pids[qi]
        if not matches.any():
            continue
        positions = np.flatnonzero(matches) + 1  # 1-based ranks of the positives
        aps.append(float(np.mean(np.arange(1, len(positions) + 1) / positions)))
        inps.append(len(positions) / float(positions[-1]))
        if protocol.unique_identity_cmc:
            _, first = np.unique(pids, return_index=True)
            matches = matches[np.sort(first)]
        hit = np.cumsum(matches[:max_rank]) > 0  # non-empty: there is a positive
        cmc_sum += np.pad(hit, (0, max_rank - hit.size), mode="edge")
    if not aps:
        raise ValueError(
            f"no valid query in {protocol.name}: no query identity has a gallery image"
        )
    return RetrievalMetrics(
        cmc=cmc_sum / len(aps),
        mAP=float(np.mean(aps)),
        mINP=float(np.mean(inps)),
        num_valid_queries=len(aps),
        num_queries=nq,
    )
