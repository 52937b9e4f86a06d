"""How well the attribute head recognises attributes, on the images whose labels are known.

Read ``predicted`` retrieval numbers with these: a head near chance feeds PAE noise.
A prediction is positive when the head's probability is >= 0.5. Per attribute:
accuracy over the images where that attribute is known (label 0 or 1, not ``LabelValue.UNKNOWN``), and
balanced accuracy = (true-positive rate + true-negative rate) / 2; with only one class
present among the known labels, balanced accuracy is that class's recall.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from paenet.attributes import is_known


@dataclass(frozen=True)
class AttributeScore:
    key: str
    known: int
    """images where this attribute's label is known."""
    positives: int
    accuracy: float | None
    balanced_accuracy: float | None


@dataclass(frozen=True)
class AttributeQuality:
    per_attribute: tuple[AttributeScore, ...]
    images: int
    """images considered (with at least one known attribute)."""

    @property
    def mean_accuracy(self) -> float | None:
        vals = [a.accuracy for a in self.per_attribute if a.accuracy is not None]
        return float(np.mean(vals)) if vals else None

    @property
    def mean_balanced_accuracy(self) -> float | None:
        vals = [a.balanced_accuracy for a in self.per_attribute if a.balanced_accuracy is not None]
        return float(np.mean(vals)) if vals else None

    def as_dict(self) -> dict[str, object]:
        return {
            "images": self.images,
            "mean_accuracy": self.mean_accuracy,
            "mean_balanced_accuracy": self.mean_balanced_accuracy,
            "per_attribute": [asdict(a) for a in self.per_attribute],
        }


def attribute_quality(
    logits: np.ndarray, labels: np.ndarray, keys: Sequence[str]
) -> AttributeQuality:
    """Score ``logits`` (float ``[N, n]``) against ``labels`` (int ``[N, n]``, ``LabelValue.UNKNOWN`` = -1 unknown)."""
    logits, labels = np.asarray(logits), np.asarray(labels)
    if logits.shape != labels.shape or logits.shape[1:] != (len(keys),):
        raise ValueError(
            f"logits {logits.shape} and labels {labels.shape} must both be (N, {len(keys)})"
        )
    predicted = logits >= 0.0  # sigmoid(logit) >= 0.5
    scores = []
    for a, key in enumerate(keys):
        known = is_known(labels[:, a])
        y, p = labels[known, a] == 1, predicted[known, a]
        if y.size == 0:
            scores.append(AttributeScore(key, 0, 0, None, None))
            continue
        recalls = [float(np.mean(p[y == c] == c)) for c in (True, False) if np.any(y == c)]
        scores.append(
            AttributeScore(
                key=key,
                known=int(y.size),
                positives=int(y.sum()),
                accuracy=float(np.mean(p == y)),
                balanced_accuracy=float(np.mean(recalls)),
            )
        )
    images = int(np.sum(is_known(labels).any(axis=1)))
    return AttributeQuality(tuple(scores), images)
