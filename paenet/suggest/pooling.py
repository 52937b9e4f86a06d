"""Pooling image-level attribute logits into one suggestion per identity (and per camera).

The mean of the logits, not of the probabilities: a logit is the evidence of one image,
and averaging evidence lets a few confident views outweigh many ambiguous ones (a back
view that hides glasses says little; averaging probabilities would pull every identity
towards 0.5 as ambiguous views accumulate). It is also what temperature calibration then
rescales: a temperature applied to the pooled logit is one parameter per attribute.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np


def mean_logits(
    logits: np.ndarray, groups: Sequence[Hashable]
) -> tuple[list[Hashable], np.ndarray]:
    """``(keys, pooled)``: the distinct group keys in first-seen order and float64
    ``[len(keys), n]`` the mean of ``logits`` ``[N, n]`` over each group's rows."""
    if len(groups) != len(logits):
        raise ValueError(f"{len(groups)} group keys for {len(logits)} rows of logits")
    index: dict[Hashable, int] = {}
    rows = np.fromiter((index.setdefault(g, len(index)) for g in groups), np.int64, len(groups))
    sums = np.zeros((len(index), logits.shape[1]), dtype=np.float64)
    np.add.at(sums, rows, logits.astype(np.float64))
    counts = np.bincount(rows, minlength=len(index)).astype(np.float64)
    return list(index), sums / counts[:, None]
