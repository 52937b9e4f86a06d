"""Pooling and temperature calibration, against values computed by hand."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from paenet.suggest.calibration import (
    MIN_LABELLED,
    calibrate,
    expected_calibration_error,
    fit_temperature,
    uncalibrated,
)
from paenet.suggest.pooling import mean_logits


def test_mean_logits_pools_each_group_in_first_seen_order() -> None:
    logits = np.array([[1.0, -2.0], [3.0, 0.0], [-4.0, 4.0], [2.0, 2.0]])
    keys, pooled = mean_logits(logits, [7, 3, 7, 7])
    assert keys == [7, 3]
    np.testing.assert_allclose(pooled, [[(1 - 4 + 2) / 3, (-2 + 4 + 2) / 3], [3.0, 0.0]])
    keys, pooled = mean_logits(logits, [(1, 1), (1, 2), (1, 1), (2, 1)])
    assert keys == [(1, 1), (1, 2), (2, 1)]
    np.testing.assert_allclose(pooled[0], [-1.5, 1.0])
    with pytest.raises(ValueError, match="3 group keys for 4 rows"):
        mean_logits(logits, [1, 2, 3])


def test_ece_by_hand() -> None:
    # confidences 0.9 (right), 0.9 (wrong), 0.6 (right, p=0.4 label 0), 0.55 (wrong)
    probs = np.array([0.9, 0.9, 0.4, 0.55])
    labels = np.array([1, 0, 0, 0])
    # bin [0.9, 0.95): conf 0.9, acc 0.5 → 0.4 × 2/4; bin [0.6, 0.65): |0.6 − 1| × 1/4;
    # bin [0.55, 0.6): |0.55 − 0| × 1/4
    expected = 0.5 * 0.4 + 0.25 * 0.4 + 0.25 * 0.55
    assert expected_calibration_error(probs, labels) == pytest.approx(expected)
    assert expected_calibration_error(np.array([1.0, 0.0]), np.array([1, 0])) == 0.0


def test_fit_temperature_recovers_the_temperature_that_made_the_logits() -> None:
    rng = np.random.default_rng(0)
    true_z = rng.normal(0.0, 2.0, 20000)
    labels = (rng.random(true_z.size) < expit(true_z)).astype(int)
    # an over-confident head: logits 3× too large; the fit must find T ≈ 3
    assert fit_temperature(3.0 * true_z, labels) == pytest.approx(3.0, rel=0.05)
    assert fit_temperature(0.5 * true_z, labels) == pytest.approx(0.5, rel=0.05)


def test_calibrate_lowers_ece_keeps_signs_and_skips_thin_attributes() -> None:
    rng = np.random.default_rng(1)
    z = rng.normal(0.0, 1.5, (400, 2))
    labels = (rng.random(z.shape) < expit(z)).astype(int)
    labels[: 400 - (MIN_LABELLED - 1), 1] = -1  # attribute 1: too few labelled
    cal = calibrate(4.0 * z, labels, ("a", "b"), "test")
    a, b = cal.attributes
    assert a.calibrated and a.temperature == pytest.approx(4.0, rel=0.25)
    assert a.ece_after < a.ece_before / 2
    assert not b.calibrated and b.temperature == 1.0 and b.labelled == MIN_LABELLED - 1
    p = cal.apply(4.0 * z)
    assert ((p >= 0.5) == (z >= 0)).all()  # a temperature never flips a suggestion
    np.testing.assert_allclose(p[:, 0], expit(4.0 * z[:, 0] / a.temperature))
    assert cal.calibrated and cal.to_dict()["attributes"]["b"]["calibrated"] is False


def test_uncalibrated_is_plain_sigmoid_and_says_so() -> None:
    cal = uncalibrated(("a", "b"), "nothing held out")
    assert not cal.calibrated and cal.held_out == "nothing held out"
    np.testing.assert_allclose(cal.apply(np.array([[0.0, 2.0]])), [[0.5, expit(2.0)]])


def test_reliability_bins_by_hand() -> None:
    from paenet.suggest.calibration import reliability_bins

    probs = np.array([0.05, 0.15, 0.12, 0.95, 1.0, 0.5])
    labels = np.array([0, 1, 0, 1, 0, 1])
    got = [
        (b.low, b.count, b.mean_probability, b.positive_rate)
        for b in reliability_bins(probs, labels)
    ]
    assert got == [
        (0.0, 1, 0.05, 0.0),
        (pytest.approx(0.1), 2, pytest.approx(0.135), 0.5),
        (0.5, 1, 0.5, 1.0),
        (pytest.approx(0.9), 2, pytest.approx(0.975), 0.5),  # 1.0 falls in the last bin
    ]
