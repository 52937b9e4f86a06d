"""Test protocols as data: query, gallery, and the removal rules the metric code reads.

A :class:`TestProtocol` is everything an evaluation needs besides features: which
images are queries, which are gallery, which (query camera, gallery camera) pairs
must never be compared, and which CMC definition applies. The metric code reads
these fields; it has no dataset-specific ``if``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from paenet.data.records import Sample


@dataclass(frozen=True, slots=True)
class SkipRule:
    """Gallery images from ``gallery_camera`` are never compared with queries from
    ``query_camera``, whatever the identity (SYSU-MM01: cam3 and cam2 film one room)."""

    query_camera: int
    gallery_camera: int
    reason: str


@dataclass(frozen=True)
class TestProtocol:
    """One evaluation setting of one dataset (one mode, shot count, trial, sampling).

    ``unique_identity_cmc``: rank-k counts distinct gallery identities (SYSU-MM01);
    otherwise CMC is computed on the raw ranked list (RegDB).
    """

    __test__ = False  # not a pytest class, despite the name

    dataset: str
    query: tuple[Sample, ...]
    gallery: tuple[Sample, ...]
    skip_rules: tuple[SkipRule, ...] = ()
    unique_identity_cmc: bool = False
    params: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def name(self) -> str:
        parts = [self.dataset] + [f"{k}={v}" for k, v in self.params.items()]
        return "/".join(parts)

    def keep_mask(
        self, query_cameras: Sequence[int] | np.ndarray, gallery_cameras: Sequence[int] | np.ndarray
    ) -> np.ndarray:
        """Boolean ``[num_query, num_gallery]``: False where a skip rule removes the pair."""
        q = np.asarray(query_cameras)[:, None]
        g = np.asarray(gallery_cameras)[None, :]
        keep = np.ones((q.shape[0], g.shape[1]), dtype=bool)
        for rule in self.skip_rules:
            keep &= ~((q == rule.query_camera) & (g == rule.gallery_camera))
        return keep

    def sizes(self) -> dict[str, int]:
        return {
            "query": len(self.query),
            "gallery": len(self.gallery),
            "query_identities": len({s.pid for s in self.query}),
            "gallery_identities": len({s.pid for s in self.gallery}),
        }
