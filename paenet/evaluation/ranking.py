"""Where the positives of each query land in its ranked gallery, without an argsort.

Ranking rule (the one the metrics document): a query's gallery is ordered by distance,
ties broken by gallery order (a stable sort), after removing the pairs its protocol
skips. Gallery image ``k`` therefore comes before image ``j`` when
``(d[k], k) < (d[j], j)`` lexicographically. Everything the metrics need follows from
the positions of the few positives:

- AP and INP need the 1-based rank of every positive: the number of kept images with a
  smaller distance (a binary search of the positives' distances in the row's sorted
  *values*, run for all rows at once), plus, only where distances tie exactly, the tied
  images of lower gallery index (counted element by element, for those rows only);
- raw CMC needs the rank of the first positive;
- unique-identity CMC needs the number of *distinct* other identities with at least one
  image ranked before the first positive: for the queries whose first positive is not
  ranked first (the others have identity rank 1), one comparison pass with the first
  positive's key, then an ``or`` over each identity's columns.

For a block of ``B`` queries over ``G`` gallery images this is one masked copy (removed
pairs become ``+inf`` through one ``max`` with a ``±inf`` penalty) sorted in place row by
row (numpy's vectorised value sort, no index permutation to carry), ``B·P·log G``
binary-search steps for the ``P`` positives and, for the unique-identity CMC, the pass
above; no Python loop over queries. ``benchmarks/bench_eval.py`` compares it with one
``np.sort`` of the matrix. The result equals a stable argsort's for any input,
integer-valued distances included.
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

    def count_any(self, flags: np.ndarray) -> np.ndarray:
        """int64 ``[B]``: per row, the number of groups with at least one True column.

        ``flags`` is bool ``[B, G]`` in gallery order; it may be overwritten. Groups are
        ``or``-reduced by doubling (``log2`` of the largest group's size passes over the
        block) where that is cheaper than ``logical_or.reduceat``, whose cost is per
        (row, group) pair: the choice changes the speed only, never the count.
        """
        if not self.identity_order:
            flags = flags[:, self.order]
        width = int(self.sizes.max()) if self.sizes.size else 1
        if flags.shape[1] * (width - 1).bit_length() > 24 * self.sizes.size:
            return np.logical_or.reduceat(flags, self.starts, axis=1).sum(axis=1)
        group = np.repeat(np.arange(self.sizes.size), self.sizes)
        shift = 1
        while shift < width:
            # flags[:, k] becomes: any of columns k .. k + 2·shift - 1 of k's group
            tail = flags[:, shift:] & (group[:-shift] == group[shift:])
            np.logical_or(flags[:, :-shift], tail, out=flags[:, :-shift])
            shift *= 2
        return np.count_nonzero(flags[:, self.starts], axis=1)


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
    penalty: np.ndarray | None,
    query_pids: np.ndarray,
    groups: GalleryGroups,
    unique_identities: bool = False,
) -> BlockRanks:
    """Rank the positives of a block of queries.

    Args:
        distances: float ``[B, G]``, finite (checked by the caller).
        penalty: ``[B, G]`` of the distances' dtype: ``+inf`` where the protocol removes
            the pair, ``-inf`` where it keeps it (``max(d, penalty)`` is then the masked
            distance, one vectorised pass); None keeps all.
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
    if penalty is not None:
        present &= penalty[rows, cols] < 0
    num_pos = present.sum(axis=1)
    valid = num_pos > 0
    if not valid.any():
        empty = np.zeros((0, 0), dtype=np.int64)
        ids = np.zeros(0, dtype=np.int64) if unique_identities else None
        return BlockRanks(valid, np.zeros(0, dtype=np.int64), empty, ids)
    # Rows without a positive are ranked too (their +inf "positives" are never read):
    # cheaper than copying the block without them.
    pos_d = np.where(present, distances[rows, cols], np.inf).astype(distances.dtype)
    pos_j = np.where(present, cols, g)
    by_distance = np.argsort(pos_d, axis=1, kind="stable")  # stable: index order among ties
    p = int(num_pos.max())
    by_distance = by_distance[:, :p]
    pos_d = pos_d[rows, by_distance]
    pos_j = pos_j[rows, by_distance]
    real = np.arange(p)[None, :] < num_pos[:, None]

    # Removed pairs become +inf: they never precede a (finite) positive.
    masked = np.array(distances) if penalty is None else np.maximum(distances, penalty)
    masked.sort(axis=1)
    # Rank = 1 + kept images strictly closer + tied kept images of lower gallery index.
    closer = lower_bound(masked, pos_d)
    # masked[closer] is the positive's own value; a tie exists iff the next one equals it.
    nxt = masked[rows, np.minimum(closer + 1, g - 1)]
    tied = real & (closer + 1 < g) & (nxt == pos_d)
    ranks = 1 + closer
    if tied.any():
        ti, tm = np.nonzero(tied)
        same = distances[ti] == pos_d[ti, tm][:, None]
        same &= np.arange(g)[None, :] < pos_j[ti, tm][:, None]
        if penalty is not None:
            same &= penalty[ti] < 0
        ranks[ti, tm] += same.sum(axis=1)

    identity_ranks = None
    if unique_identities:
        # Only a query whose first positive is not ranked first has identities before it.
        identity_ranks = np.ones(b, dtype=np.int64)
        behind = np.flatnonzero(valid & (ranks[:, 0] > 1))
        if behind.size:
            first_d, first_j = pos_d[behind, :1], pos_j[behind, :1]
            kept = distances[behind]
            if penalty is not None:
                np.maximum(kept, penalty[behind], out=kept)
            # Kept images ranked before the first positive (no positive is: it is the first).
            ahead = kept < first_d
            tie = np.flatnonzero(tied[behind, 0])
            if tie.size:
                ahead[tie] |= (kept[tie] == first_d[tie]) & (np.arange(g) < first_j[tie])
            identity_ranks[behind] += groups.count_any(ahead)
        identity_ranks = identity_ranks[valid]
    return BlockRanks(valid, num_pos[valid].astype(np.int64), ranks[valid], identity_ranks)


def lower_bound(sorted_rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Row-wise ``searchsorted(side="left")``: int64 ``[n, p]`` counts of ``sorted_rows[i]``
    entries strictly below ``values[i, m]``.

    A branch-free binary search run on all ``n·p`` values at once (``ceil(log2(G))``
    vectorised halving steps, every probe inside its row), so no Python loop over rows.
    """
    n, g = sorted_rows.shape
    if g == 0 or values.size == 0:
        return np.zeros(values.shape, dtype=np.int64)
    flat = sorted_rows.reshape(-1)
    row_start = (np.arange(n, dtype=np.int64) * g)[:, None]
    base = np.repeat(row_start, values.shape[1], axis=1)  # flat index of the candidate
    probe = np.empty_like(base)
    found = np.empty(values.shape, dtype=sorted_rows.dtype)
    below = np.empty(values.shape, dtype=bool)
    size = g
    while size > 1:  # the answer lies in [base, base + size]
        half = size >> 1
        np.add(base, half, out=probe)
        np.take(flat, probe, out=found)
        np.less(found, values, out=below)
        np.copyto(base, probe, where=below)
        size -= half
    np.take(flat, base, out=found)
    base -= row_start
    return base + (found < values)
