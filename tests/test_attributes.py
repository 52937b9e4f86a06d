"""The one name of "unknown": ``LabelValue.UNKNOWN`` and ``is_known`` on arrays and tensors."""

from __future__ import annotations

import numpy as np
import torch

from paenet.attributes import LabelValue, is_known


def test_is_known_marks_labels_and_probabilities_known_and_only_unknown_not():
    labels = np.array([[0, 1, int(LabelValue.UNKNOWN)], [1, -1, 0]], dtype=np.int8)
    assert is_known(labels).tolist() == [[True, True, False], [True, False, True]]
    fed = torch.tensor([0.0, 0.25, 1.0, float(LabelValue.UNKNOWN), float("nan")])
    known = is_known(fed)
    assert known.dtype == torch.bool
    assert known.tolist() == [True, True, True, False, False]
