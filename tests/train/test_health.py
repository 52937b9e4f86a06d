"""The training instruments (paenet/train/health.py) against values computed by hand."""

from __future__ import annotations

import math

import pytest
import torch

from paenet.losses import BatchLayout
from paenet.train.health import (
    COLLAPSE_RELATIVE_STD,
    batch_health,
    effective_rank,
    feature_health,
    term_gradient_norms,
)


def test_effective_rank_by_hand():
    # Centred rows along one direction: one singular value -> rank 1.
    line = torch.tensor([[1.0, 2.0], [-1.0, -2.0], [3.0, 6.0], [-3.0, -6.0]])
    assert effective_rank(line) == pytest.approx(1.0)
    # Three orthogonal directions with equal energy: singular values equal -> rank 3.
    eye = torch.cat([torch.eye(3), -torch.eye(3)]) * 2.0
    assert effective_rank(eye) == pytest.approx(3.0)
    # Singular values (2, 1): p = (2/3, 1/3), rank = exp(H).
    two = torch.tensor([[2.0, 0.0], [-2.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    h = -(2 / 3 * math.log(2 / 3) + 1 / 3 * math.log(1 / 3))
    assert effective_rank(two) == pytest.approx(math.exp(h))
    # Identical rows: nothing left after centring.
    assert effective_rank(torch.ones(4, 3)) == 1.0


def test_feature_health_by_hand():
    layout = BatchLayout(num_ids=2, per_modality=1)
    # [v: id0, id1 | t: id0, id1]; id0's centre (0, 0), id1's centre (3, 4): distance 5.
    f = torch.tensor([[0.0, 1.0], [3.0, 4.0], [0.0, -1.0], [3.0, 4.0]])
    h = feature_health(f, layout)
    assert h["centre_distance"] == pytest.approx(5.0)
    std = (float(f[:, 0].std()) + float(f[:, 1].std())) / 2
    assert h["std"] == pytest.approx(std)
    assert h["relative_std"] == pytest.approx(std / float(f.abs().mean()))


def test_batch_health_watches_both_features_and_the_head():
    layout = BatchLayout(num_ids=2, per_modality=2)
    g = torch.Generator().manual_seed(0)
    point = 1.3 + torch.zeros(8, 16)
    tight = point + 0.01 * torch.randn(8, 16, generator=g)
    spread = point + 0.5 * torch.randn(8, 16, generator=g)
    assert feature_health(tight, layout)["relative_std"] < COLLAPSE_RELATIVE_STD
    logits = torch.tensor([[1.0], [3.0], [1.0], [3.0], [1.0], [3.0], [1.0], [3.0]])
    healthy = batch_health(spread, spread, layout, logits)
    assert healthy["health/collapsed"] == 0.0
    assert healthy["health/backbone/effective_rank"] == pytest.approx(effective_rank(spread))
    assert healthy["health/attribute_logit_spread"] == pytest.approx(float(logits[:, 0].std()))
    # either feature near one point counts: a collapsed f^m behind a healthy metric feature
    assert batch_health(tight, spread, layout)["health/collapsed"] == 1.0
    assert batch_health(spread, tight, layout)["health/collapsed"] == 1.0
    assert "health/attribute_logit_spread" not in batch_health(spread, spread, layout)


def test_term_gradient_norms_by_hand_and_leave_parameters_alone():
    fmap = torch.randn(2, 3, 2, 2, generator=torch.Generator().manual_seed(1))
    weight = torch.nn.Parameter(torch.tensor(2.0))
    x = fmap.clone().requires_grad_(True)
    terms = {
        "linear": (3.0 * x).sum(),  # gradient 3 everywhere: norm 3·sqrt(24)
        "square": weight * (x**2).sum(),  # gradient 2·weight·x: norm 4·‖x‖
        "constant": torch.tensor(1.0),
    }
    norms = term_gradient_norms(terms, x)
    assert norms["grad/linear"] == pytest.approx(3.0 * math.sqrt(24))
    assert norms["grad/square"] == pytest.approx(4.0 * float(fmap.norm()), rel=1e-5)
    assert norms["grad/constant"] == 0.0
    assert weight.grad is None and x.grad is None
    terms["square"].backward()  # the graph is still there for the real backward
    assert weight.grad is not None
