from __future__ import annotations

import numpy as np
import pytest

from paenet.evaluation.attribute_quality import attribute_quality


def test_accuracy_and_balanced_accuracy_by_hand() -> None:
    labels = np.array([[1, 0, -1], [1, 0, -1], [0, 0, -1], [0, 1, -1], [1, 0, -1]])
    # predicted positive where logit >= 0
    logits = np.array([[2.0, -1, 0], [-1, -1, 0], [-3, 0.5, 0], [1, 1, 0], [0.0, -2, 0]])
    q = attribute_quality(logits, labels, ("a", "b", "c"))
    a, b, c = q.per_attribute
    # a: labels 1,1,0,0,1 preds 1,0,0,1,1 -> acc 3/5; TPR 2/3, TNR 1/2
    assert (a.known, a.positives) == (5, 3)
    assert a.accuracy == pytest.approx(3 / 5)
    assert a.balanced_accuracy == pytest.approx((2 / 3 + 1 / 2) / 2)
    # b: labels 0,0,0,1,0 preds 0,0,1,1,0 -> acc 4/5; TPR 1, TNR 3/4
    assert b.accuracy == pytest.approx(4 / 5)
    assert b.balanced_accuracy == pytest.approx((1 + 3 / 4) / 2)
    assert (c.known, c.accuracy, c.balanced_accuracy) == (0, None, None)  # never known
    assert q.mean_accuracy == pytest.approx((3 / 5 + 4 / 5) / 2)
    assert q.mean_balanced_accuracy == pytest.approx(((2 / 3 + 1 / 2) / 2 + 7 / 8) / 2)
    assert q.images == 5


def test_one_class_present_and_shape_errors() -> None:
    q = attribute_quality(np.array([[1.0], [-1.0], [2.0]]), np.array([[1], [1], [1]]), ("a",))
    assert q.per_attribute[0].balanced_accuracy == pytest.approx(2 / 3)  # recall of class 1
    with pytest.raises(ValueError, match=r"must both be \(N, 2\)"):
        attribute_quality(np.zeros((3, 1)), np.zeros((3, 1)), ("a", "b"))
