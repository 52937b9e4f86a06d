"""Schedules, the attribute feed, the detached attribute head, the non-finite stop."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from paenet.losses import LossConfig
from paenet.train.config import LossSettings, OptimConfig
from paenet.train.presets import preset_config
from paenet.train.steps import (
    NonFiniteLossError,
    build_optimizer,
    build_scheduler,
    detach_attribute_head_input,
    feeds_predicted,
    loss_config,
    lr_factor,
    metric_weight_factor,
    predicted_feed_probability,
    train_step,
)
from tests.model.helpers import pk_batch, tiny_model


def test_paper_schedule_by_hand():
    o = OptimConfig()
    assert [lr_factor(e, o) for e in (0, 4, 9)] == [0.1, 0.5, 1.0]
    assert [lr_factor(e, o) for e in (10, 29)] == [1.0, 1.0]
    assert lr_factor(30, o) == pytest.approx(0.1)
    assert lr_factor(49, o) == pytest.approx(0.1)
    assert lr_factor(50, o) == pytest.approx(0.01)
    assert lr_factor(79, o) == pytest.approx(0.01)
    official = preset_config("official-code").optim
    assert lr_factor(19, official) == 1.0 and lr_factor(20, official) == pytest.approx(0.1)


def test_optimizer_groups_and_scheduler_rates():
    model = tiny_model()
    o = OptimConfig(lr=0.1, warmup_epochs=2, milestones=(3,))
    opt = build_optimizer(model, o)
    sched = build_scheduler(opt, o)
    rates = []
    for _ in range(4):
        rates.append([g["lr"] for g in opt.param_groups])
        opt.step()
        sched.step()
    expected = [[0.005, 0.05], [0.01, 0.1], [0.01, 0.1], [0.001, 0.01]]
    for got, want in zip(rates, expected):
        assert got == pytest.approx(want)
    assert opt.defaults["nesterov"] and opt.defaults["weight_decay"] == 5e-4


def test_feed_schedule():
    gt, pred = LossSettings(), LossSettings(pae_feed="predicted")
    mix = LossSettings(pae_feed="mix", mix_start=0.0, mix_end=1.0)
    assert predicted_feed_probability(3, 10, gt) == 0.0
    assert predicted_feed_probability(3, 10, pred) == 1.0
    assert [predicted_feed_probability(e, 5, mix) for e in range(5)] == [0, 0.25, 0.5, 0.75, 1]
    half = LossSettings(pae_feed="mix", mix_start=0.5, mix_end=0.5)
    draws = [feeds_predicted(0, s, 1, half, seed=0) for s in range(400)]
    assert 150 < sum(draws) < 250
    assert draws == [feeds_predicted(0, s, 1, half, seed=0) for s in range(400)]


def test_loss_config_carries_the_weights():
    cfg = loss_config(LossSettings(attribute_weight=0.5, triplet_margin=0.2))
    assert isinstance(cfg, LossConfig)
    assert cfg.attribute_weight == 0.5 and cfg.triplet_margin == 0.2


def _backbone_grad_of_head_loss(detach: bool) -> float:
    model = tiny_model(seed=1).train()
    if detach:
        detach_attribute_head_input(model)
    batch = pk_batch(p=2, k=2, seed=3)
    out = model(batch.images, batch.modality, batch.attributes.float())
    out.predicted_attribute_logits.sum().backward()
    head = sum(float(p.grad.abs().sum()) for p in model.attribute_head.parameters())
    assert head > 0  # the head itself always learns
    return sum(float(p.grad.abs().sum()) for p in model.backbone_parameters() if p.grad is not None)


def test_attribute_head_learns_from_a_detached_feature_unless_told():
    assert _backbone_grad_of_head_loss(detach=True) == 0.0
    assert _backbone_grad_of_head_loss(detach=False) > 0.0


def _step(model, lr=0.01, probe=False):
    batch = pk_batch(p=2, k=2, seed=2)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    return train_step(
        model, batch.images, batch.labels, batch.modality, batch.attributes,
        optimizer=opt, scaler=torch.amp.GradScaler("cpu", enabled=False),
        losses=LossConfig(), feed_predicted=False, dtype=None, step=7, probe=probe,
    )  # fmt: skip


def test_train_step_returns_every_term_and_moves_the_weights():
    model = tiny_model(seed=4).train()
    before = model.classifier.weight.detach().clone()
    result = _step(model)
    assert set(result.values) == {"total", "id", "triplet", "mmd", "attribute",
                                  "predicted_attribute"}  # fmt: skip
    assert result.values["total"] == pytest.approx(
        sum(v for k, v in result.values.items() if k != "total"), rel=1e-5
    )
    assert not torch.equal(before, model.classifier.weight)


def test_non_finite_term_stops_before_the_update_and_is_named():
    model = tiny_model(seed=4).train()
    with torch.no_grad():
        model.classifier.weight[0, 0] = float("nan")  # only the identity logits go NaN
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    with pytest.raises(NonFiniteLossError, match=r"step 7: term 'id'"):
        _step(model)
    for k, v in model.named_parameters():  # no weight was updated
        assert torch.equal(before[k].nan_to_num(), v.detach().nan_to_num()), k


def test_cosine_schedule_by_hand():
    o = OptimConfig(schedule="cosine", epochs=12, warmup_epochs=2, min_factor=0.1)
    assert [lr_factor(e, o) for e in (0, 1)] == [0.5, 1.0]
    # After the warm-up, t = (e - 2) / 10: t = 0 -> 1, t = 0.5 -> 0.1 + 0.9 * 0.5, t = 0.9
    assert lr_factor(2, o) == pytest.approx(1.0)
    assert lr_factor(7, o) == pytest.approx(0.55)
    assert lr_factor(11, o) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.9)))
    assert OptimConfig().schedule == "step"  # the paper's stays the default


def test_metric_terms_start_late_and_ramp_in():
    assert [metric_weight_factor(e, 10, LossSettings()) for e in (0, 5)] == [1.0, 1.0]
    # 20 epochs: off for round(0.15 * 20) = 3 epochs, then a 4-epoch ramp.
    late = LossSettings(metric_start=0.15, metric_ramp=0.2)
    assert [metric_weight_factor(e, 20, late) for e in range(9)] == [
        0,
        0,
        0,
        0.25,
        0.5,
        0.75,
        1,
        1,
        1,
    ]
    settings = LossSettings(triplet_weight=2.0, mmd_weight=0.25, metric_start=0.2, metric_ramp=0.2)
    first = loss_config(settings, epoch=0, epochs=10)
    assert first.triplet_weight == 0.0 and first.mmd_weight == 0.0 and first.id_weight == 1.0
    ramp = loss_config(settings, epoch=2, epochs=10)
    assert ramp.triplet_weight == 1.0 and ramp.mmd_weight == 0.125
    assert loss_config(settings, epoch=9, epochs=10).triplet_weight == 2.0
    assert loss_config(settings).triplet_weight == 2.0


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("sgd", torch.optim.SGD),
        ("adam", torch.optim.Adam),
        ("adamw", torch.optim.AdamW),
    ],
)
def test_optimizer_choice_keeps_the_two_groups(name, kind):
    model = tiny_model()
    opt = build_optimizer(model, OptimConfig(optimizer=name, lr=0.002, backbone_lr_mult=0.5))
    assert type(opt) is kind
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.001, 0.002])
    assert opt.param_groups[0]["params"] == model.backbone_parameters()
    assert opt.defaults["weight_decay"] == 5e-4


def test_probe_reports_the_instruments_without_changing_the_step():
    a, b = tiny_model(seed=4).train(), tiny_model(seed=4).train()
    plain = _step(a)
    probed = _step(b, probe=True)
    assert plain.diagnostics == {}
    assert plain.values == probed.values
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        assert torch.equal(p, q), name  # the extra backward passes moved nothing
    d = probed.diagnostics
    assert {
        f"grad/{k}" for k in ("id", "triplet", "mmd", "attribute", "predicted_attribute")
    } <= set(d)
    assert d["grad/id"] > 0 and d["grad/triplet"] > 0
    for feature in ("backbone", "metric"):
        for figure in ("std", "relative_std", "effective_rank", "centre_distance"):
            assert f"health/{feature}/{figure}" in d
    assert "health/attribute_logit_spread" in d and d["health/collapsed"] in (0.0, 1.0)


def test_positive_rates_count_known_labels_only():
    from paenet.train.engine import positive_rates

    labels = np.array([[1, 0, -1], [0, 0, -1], [1, -1, -1], [1, 1, -1]], dtype=np.int8)
    assert positive_rates(labels).tolist() == pytest.approx([0.75, 1 / 3, 0.5])
