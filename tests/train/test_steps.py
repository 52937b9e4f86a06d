"""Schedules, the attribute feed, the detached attribute head, the non-finite stop."""

from __future__ import annotations

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


def _step(model, lr=0.01):
    batch = pk_batch(p=2, k=2, seed=2)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    return train_step(
        model, batch.images, batch.labels, batch.modality, batch.attributes,
        optimizer=opt, scaler=torch.amp.GradScaler("cpu", enabled=False),
        losses=LossConfig(), feed_predicted=False, dtype=None, step=7,
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
