"""Where the positives of each query land in its ranked gallery, without an argsort.

Ranking rule (the one the metrics document): a query's gallery is ordered by distance,
ties broken by gallery order (a stable sort), after removing the pairs its protocol
skips. Gallery image ``k`` therefore comes before image ``j`` when
``(d[k], k) < (d[j], j)`` lexicographically. Everything the metrics need follows from
the positions of the few positives:

- AP and INP need the 1-based rank of every positive: the number of kept images with a
  smaller distance (a binary search of the positives' distances in the row's sorted
  *values*, run for all rows at once), plus, only where distances tie exactly, the tied images of lower
  gallery index (counted element by element);
- raw CMC needs the rank of the first positive;
- unique-identity CMC needs the number of *distinct* other identities with at least one
  image ranked before the first positive: one comparison pass with the first positive's
  key and an ``or``-reduction per identity.

For a block of ``B`` queries over ``G`` gallery images this is one value sort per row
(numpy's vectorised sort, no index permutation to carry), ``B·P·log G`` binary-search
steps for the ``P`` positives, and a few linear passes; no Python loop over queries.
The result equals a stable argsort's for any input, integer-valued distances included.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GalleryGroups:
    """Gallery columns grouped by identity, computed once per distance matrix.

    ``order`` lists the columns sorted by (identity, column); group ``i`` (identity
    ``pids[i]``) occupies ``order[starts[i] : starts[i] + sizes[i]]``.
    """

    pids: np.ndarray
    starts: np.ndarray
    sizes: np.ndarray
    order: np.ndarray
    identity_order: bool
    """True when ``order`` is ``0..G-1`` (gallery already grouped by identity)."""

    @classmethod
    def of(cls, gallery_pids: np.ndarray) -> GalleryGroups:
        order = np.argsort(gallery_pids, kind="stable")
        grouped = gallery_pids[order]
        starts = np.flatnonzero(np.r_[grouped.size > 0, grouped[1:] != grouped[:-1]])
        sizes = np.diff(np.r_[starts, grouped.size])
        return cls(
            pids=grouped[starts],
            starts=starts,
            sizes=sizes,
            order=order,
            identity_order=bool(np.array_equal(order, np.arange(grouped.size))),
        )

    def group_of(self, pids: np.ndarray) -> np.ndarray:
        """Group index of each identity, -1 where the gallery does not have it."""
        if self.pids.size == 0:
            return np.full(len(pids), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.pids, pids), self.pids.size - 1)
        return np.where(self.pids[at] == pids, at, -1)


@dataclass(frozen=True)
class BlockRanks:
    """Ranks for the valid queries of one block (queries with at least one kept positive).

    ``positive_ranks[i, m]`` is the 1-based rank of query ``i``'s ``m``-th positive in
    ranked order, for ``m < num_positives[i]``; entries beyond are meaningless.
    """

    valid: np.ndarray
    """bool ``[B]``: which queries of the block have a positive left after the removals."""
    num_positives: np.ndarray
    """int64 ``[V]`` for the ``V`` valid queries."""
    positive_ranks: np.ndarray
    """int64 ``[V, P]``, ``P = num_positives.max()``."""
    identity_ranks: np.ndarray | None
    """int64 ``[V]``: 1-based rank of the query's identity among distinct gallery identities
    (first occurrence kept), or None when not asked for."""


def rank_block(
    distances: np.ndarray,
    keep: np.ndarray | None,
    query_pids: np.ndarray,
    groups: GalleryGroups,
    unique_identities: bool = False,
) -> BlockRanks:
    """Rank the positives of a block of queries.

    Args:
        distances: float ``[B, G]``, finite (checked by the caller).
        keep: bool ``[B, G]``, False where the protocol removes the pair; None keeps all.
        query_pids: int ``[B]``.
        groups: the gallery's identity groups (:meth:`GalleryGroups.of`).
        unique_identities: also compute each valid query's identity rank.
    """
    b, g = distances.shape
    # Positives: the kept columns of the query's identity group, packed left.
    gid = groups.group_of(query_pids)
    if not (gid >= 0).any():
        empty = np.zeros(0, dtype=np.int64)
        ids = empty if unique_identities else None
        return BlockRanks(np.zeros(b, dtype=bool), empty, empty.reshape(0, 0), ids)
    width = int(groups.sizes.max())
    offset = np.arange(width)[None, :]
    found = np.maximum(gid, 0)
    present = (gid >= 0)[:, None] & (offset < groups.sizes[found][:, None])
    at = np.where(present, groups.starts[found][:, None] + offset, 0)
    cols = groups.order[at]  # ascending within each row
    rows = np.arange(b)[:, None]
    if keep is not None:
        present &= keep[rows, cols]
    num_pos = present.sum(axis=1)
    valid = num_pos > 0
    if not valid.all():
        distances, num_pos, present, cols = (
            distances[valid],
            num_pos[valid],
            present[valid],
            cols[valid],
        )
        keep = keep[valid] if keep is not None else None
    n = distances.shape[0]
    if n == 0:
        empty = np.zeros((0, 0), dtype=np.int64)
        ids = np.zeros(0, dtype=np.int64) if unique_identities else None
        return BlockRanks(valid, num_pos.astype(np.int64), empty, ids)
    rows = np.arange(n)[:, None]
    pos_d = np.where(present, distances[rows, cols], np.inf).astype(distances.dtype)
    pos_j = np.where(present, cols, g)
    by_distance = np.argsort(pos_d, axis=1, kind="stable")  # stable: index order among ties
    p = int(num_pos.max())
    pos_d = np.ascontiguousarray(np.take_along_axis(pos_d, by_distance, axis=1)[:, :p])
    pos_j = np.take_along_axis(pos_j, by_distance, axis=1)[:, :p]
    real = np.arange(p)[None, :] < num_pos[:, None]

    # Removed pairs get +inf: they never precede a (finite) positive.
    masked = distances if keep is None else np.where(keep, distances, np.inf)
    # Rank = 1 + kept images strictly closer + tied kept images of lower gallery index.
    sorted_rows = np.sort(masked, axis=1)
    closer = lower_bound(sorted_rows, pos_d)
    # sorted_rows[closer] is the positive's own value; a tie exists iff the next one equals it.
    nxt = np.take_along_axis(sorted_rows, np.minimum(closer + 1, g - 1), axis=1)
    tied = real & (closer + 1 < g) & (nxt == pos_d)
    ranks = 1 + closer
    if tied.any():
        ti, tm = np.nonzero(tied)
        same = masked[ti] == pos_d[ti, tm][:, None]
        same &= np.arange(g)[None, :] < pos_j[ti, tm][:, None]
        ranks[ti, tm] += same.sum(axis=1)

    identity_ranks = None
    if unique_identities:
        first_d, first_j = pos_d[:, :1], pos_j[:, :1]
        # Kept images ranked before the first positive (no positive is: it is the first).
        ahead = masked < first_d
        tie_rows = np.flatnonzero(tied[:, 0])
        if tie_rows.size:
            lower = np.arange(g)[None, :] < first_j[tie_rows]
            ahead[tie_rows] |= (masked[tie_rows] == first_d[tie_rows]) & lower
        if not groups.identity_order:
            ahead = ahead[:, groups.order]
        identities_ahead = np.logical_or.reduceat(ahead, groups.starts, axis=1).sum(axis=1)
        identity_ranks = 1 + identities_ahead.astype(np.int64)
    return BlockRanks(valid, num_pos.astype(np.int64), ranks, identity_ranks)


def lower_bound(sorted_rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Row-wise ``searchsorted(side="left")``: int64 ``[n, p]`` counts of ``sorted_rows[i]``
    entries strictly below ``values[i, m]``.

    A binary search run on all ``n·p`` values at once (``log2(G)`` vectorised steps),
    so no Python loop over rows.
    """
    n, g = sorted_rows.shape
    lo = np.zeros(values.shape, dtype=np.int64)
    hi = np.full(values.shape, g, dtype=np.int64)
    flat = sorted_rows.reshape(-1)
    base = (np.arange(n, dtype=np.int64) * g)[:, None]
    for _ in range(int(g).bit_length()):
        mid = (lo + hi) >> 1
        right = (mid < hi) & (flat[base + np.minimum(mid, g - 1)] < values)
        lo = np.where(right, mid + 1, lo)
        hi = np.where(right, hi, mid)
    return lo
