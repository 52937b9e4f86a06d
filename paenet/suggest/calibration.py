"""Temperature calibration of the attribute head, one temperature per attribute.

``p = sigmoid(logit / T)``: T is fitted by minimising the binary cross-entropy on
labelled identities the model did not train on (Guo et al., "On Calibration of Modern
Neural Networks", ICML 2017, fit one temperature for a whole network; an attribute head
is eight binary classifiers with their own imbalance, so each gets its own T). A
temperature changes probabilities, never the suggested value (the sign of the logit).

The expected calibration error (ECE) is the top-label one: bins of the confidence
``max(p, 1 − p)``, the weighted gap between each bin's mean confidence and accuracy. The
"after" figure is cross-fitted (T fitted on one half of the held-out identities, the ECE
measured on the other, both ways) so that it is not flattered by fitting on what it
measures; the stored temperatures are fitted on all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import expit

from paenet.attributes import is_known

BINS = 10
MIN_LABELLED = 8
"""Fewer labelled identities of an attribute than this (or only one of its values): that
attribute keeps T = 1 and is reported as not calibrated."""
LOG_T_BOUNDS = (-3.0, 3.0)


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = BINS) -> float:
    """Top-label ECE of binary probabilities ``probs`` (of value 1) against 0/1 ``labels``."""
    probs = np.asarray(probs, dtype=np.float64).ravel()
    labels = np.asarray(labels).ravel()
    if probs.size == 0:
        return float("nan")
    confidence = np.maximum(probs, 1.0 - probs)
    correct = (probs >= 0.5).astype(np.int64) == labels
    edges = np.linspace(0.5, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        sel = which == b
        if sel.any():
            ece += sel.mean() * abs(confidence[sel].mean() - correct[sel].mean())
    return float(ece)


def _nll(log_t: float, logits: np.ndarray, labels: np.ndarray) -> float:
    z = logits / np.exp(log_t)
    # log(1 + e^z) - y z, stable for large |z|
    return float(np.mean(np.logaddexp(0.0, z) - labels * z))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature minimising the binary cross-entropy (bounded to e^±3)."""
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    result = minimize_scalar(
        _nll, bounds=LOG_T_BOUNDS, args=(logits, labels), method="bounded",
        options={"xatol": 1e-4},
    )  # fmt: skip
    return float(np.exp(result.x))


@dataclass(frozen=True)
class AttributeCalibration:
    key: str
    temperature: float
    labelled: int
    calibrated: bool
    ece_before: float
    ece_after: float


@dataclass(frozen=True)
class Calibration:
    """Per-attribute temperatures and the ECE before and after, on ``held_out``."""

    held_out: str
    """What the temperatures were fitted on (or why there was nothing)."""
    attributes: tuple[AttributeCalibration, ...] = field(default_factory=tuple)

    @property
    def calibrated(self) -> bool:
        return any(a.calibrated for a in self.attributes)

    @property
    def temperatures(self) -> np.ndarray:
        return np.array([a.temperature for a in self.attributes], dtype=np.float64)

    def apply(self, logits: np.ndarray) -> np.ndarray:
        """Probabilities of value 1 for logits ``[N, n]`` (T = 1 where uncalibrated)."""
        if not self.attributes:
            return expit(np.asarray(logits, dtype=np.float64))
        return expit(np.asarray(logits, dtype=np.float64) / self.temperatures[None, :])

    def to_dict(self) -> dict[str, object]:
        return {
            "calibrated": self.calibrated,
            "held_out": self.held_out,
            "method": "temperature per attribute, BCE; ECE top-label, 10 bins, cross-fitted",
            "attributes": {
                a.key: {
                    "temperature": round(a.temperature, 6),
                    "labelled": a.labelled,
                    "calibrated": a.calibrated,
                    "ece_before": _round(a.ece_before),
                    "ece_after": _round(a.ece_after),
                }
                for a in self.attributes
            },
        }


def _round(x: float) -> float | None:
    return None if np.isnan(x) else round(float(x), 6)


def uncalibrated(keys: Sequence[str], why: str) -> Calibration:
    nan = float("nan")
    return Calibration(why, tuple(AttributeCalibration(k, 1.0, 0, False, nan, nan) for k in keys))


def calibrate(
    logits: np.ndarray, labels: np.ndarray, keys: Sequence[str], held_out: str, seed: int = 0
) -> Calibration:
    """Fit one temperature per attribute on ``logits`` ``[N, n]`` against ``labels``
    ``[N, n]`` (0, 1, or ``LabelValue.UNKNOWN`` = -1, ignored). ``seed`` draws the cross-fitting halves."""
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    out = []
    for j, key in enumerate(keys):
        known = is_known(labels[:, j])
        z, y = logits[known, j], labels[known, j].astype(np.float64)
        before = expected_calibration_error(expit(z), y) if z.size else float("nan")
        if z.size < MIN_LABELLED or len(np.unique(y)) < 2:
            out.append(AttributeCalibration(key, 1.0, int(z.size), False, before, before))
            continue
        halves = rng.permutation(z.size) % 2 == 0
        after_probs = np.empty_like(z)
        for a in (halves, ~halves):
            t = fit_temperature(z[~a], y[~a])
            after_probs[a] = expit(z[a] / t)
        after = expected_calibration_error(after_probs, y)
        out.append(
            AttributeCalibration(key, fit_temperature(z, y), int(z.size), True, before, after)
        )
    return Calibration(held_out, tuple(out))


@dataclass(frozen=True)
class ReliabilityBin:
    low: float
    high: float
    count: int
    mean_probability: float
    positive_rate: float


def reliability_bins(
    probs: np.ndarray, labels: np.ndarray, bins: int = BINS
) -> list[ReliabilityBin]:
    """Equal-width bins of the probability of value 1 over [0, 1]: each non-empty bin's
    mean probability and the fraction of labels equal to 1 (a calibrated model lies on
    the diagonal)."""
    probs = np.asarray(probs, dtype=np.float64).ravel()
    labels = np.asarray(labels).ravel()
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, probs, side="right") - 1, 0, bins - 1)
    out = []
    for b in range(bins):
        sel = which == b
        if sel.any():
            out.append(
                ReliabilityBin(
                    float(edges[b]), float(edges[b + 1]), int(sel.sum()),
                    float(probs[sel].mean()), float((labels[sel] == 1).mean()),
                )
            )  # fmt: skip
    return out
