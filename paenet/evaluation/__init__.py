"""Retrieval metrics (CMC, mAP, mINP) driven by a :class:`~paenet.data.protocol.TestProtocol`."""

from paenet.evaluation.metrics import RetrievalMetrics, evaluate_distances

__all__ = ["RetrievalMetrics", "evaluate_distances"]
