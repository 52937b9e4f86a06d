"""A few SGD steps on a tiny synthetic batch reduce the total loss."""

from __future__ import annotations

import pytest
import torch

from paenet.losses import LossConfig, paenet_losses
from tests.model.helpers import pk_batch, tiny_model


def total_loss(model, batch, cfg: LossConfig) -> torch.Tensor:
    out = model(batch.images, batch.modality, batch.attributes)
    return paenet_losses(out, batch.labels, batch.modality, batch.attributes, cfg).total


@pytest.mark.parametrize("flags", [{}, {"pae": False}], ids=["paenet", "baseline"])
def test_sgd_steps_reduce_the_total_loss(flags: dict[str, object]):
    model = tiny_model(seed=1, **flags).train()
    batch = pk_batch(p=2, k=2, seed=2)
    cfg = LossConfig(mmd_margin=0.0)  # keep the MMD term active and smooth
    optimiser = torch.optim.SGD(
        [
            {"params": model.backbone_parameters(), "lr": 0.01},
            {"params": model.new_parameters(), "lr": 0.05},
        ],
        momentum=0.9,
    )
    losses = []
    for _ in range(6):
        optimiser.zero_grad(set_to_none=True)
        loss = total_loss(model, batch, cfg)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    with torch.no_grad():
        final = total_loss(model, batch, cfg).item()
    assert final < 0.8 * losses[0], (losses, final)


def test_parameter_groups_partition_the_trainable_parameters():
    model = tiny_model()
    groups = model.backbone_parameters() + model.new_parameters()
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert len(groups) == len(trainable)
    assert {id(p) for p in groups} == {id(p) for p in trainable}
