"""The AAL label leak: measured by ``aal_leak``, gone with ``aal_gates="label_free"``.

PAE and AAL are trained on pure-noise feature maps with random attribute labels, fresh
at every step: nothing in a map predicts its labels, so any accuracy AAL reaches against
the labels it is fed comes from reading them back through the channel gates.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from paenet.model import PAENet
from paenet.model.diagnostics import LeakReport, aal_leak, aal_leak_on_maps
from tests.model.helpers import pk_batch, tiny_model

CHANNELS = 512  # ResNet-18's


def noise(generator: torch.Generator, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    maps = torch.randn(batch, CHANNELS, 4, 2, generator=generator).relu()
    return maps, torch.randint(0, 2, (batch, 8), generator=generator)


def train_on_noise(aal_gates: str, steps: int = 150) -> PAENet:
    model = tiny_model(seed=0, aal_gates=aal_gates, attribute_head=False).train()
    assert model.pae is not None and model.aal is not None
    optimiser = torch.optim.Adam([*model.pae.parameters(), *model.aal.parameters()], lr=3e-3)
    g = torch.Generator().manual_seed(0)
    for _ in range(steps):
        maps, attrs = noise(g, 64)
        logits = model.forward_head(maps, attrs).attribute_logits
        assert logits is not None
        loss = F.binary_cross_entropy_with_logits(logits, attrs.float())
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    return model


def measure(model: PAENet) -> LeakReport:
    maps, attrs = noise(torch.Generator().manual_seed(1), 256)
    return aal_leak_on_maps(model, maps, attrs, torch.Generator().manual_seed(2))


def test_default_aal_reads_back_the_fed_labels():
    report = measure(train_on_noise("fed"))
    assert report.aal_gates == "fed"
    assert report.acc_vs_fed > 0.85, report  # scored by reading back its input
    assert report.acc_unshuffled > 0.85, report
    assert abs(report.acc_vs_true - report.fed_true_agreement) < 0.05, report
    assert 0.4 < report.fed_true_agreement < 0.6, report


def test_label_free_gates_remove_the_leak():
    report = measure(train_on_noise("label_free"))
    assert report.aal_gates == "label_free"
    assert 0.4 < report.acc_vs_fed < 0.6, report  # chance: the fed labels are not read
    assert 0.4 < report.acc_vs_true < 0.6, report  # and noise shows nothing
    # the fed attributes do not enter AAL at all: shuffling them changes nothing
    assert report.acc_unshuffled == report.acc_vs_true


def test_label_free_aal_ignores_the_fed_attributes_but_not_the_image():
    model = tiny_model(aal_gates="label_free").eval()
    g = torch.Generator().manual_seed(3)
    maps, attrs = noise(g, 4)
    other_maps, _ = noise(g, 4)
    with torch.no_grad():
        a = model.forward_head(maps, attrs).attribute_logits
        b = model.forward_head(maps, 1 - attrs).attribute_logits
        c = model.forward_head(other_maps, attrs).attribute_logits
    assert a is not None and c is not None
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)
    fed = tiny_model(aal_gates="fed").eval()
    with torch.no_grad():
        assert not torch.allclose(
            fed.forward_head(maps, attrs).attribute_logits,
            fed.forward_head(maps, 1 - attrs).attribute_logits,
        )


def test_leak_report_on_images_and_its_accuracies_by_hand():
    model = tiny_model().train()
    batch = pk_batch(p=2, k=2)
    report = aal_leak(
        model, batch.images, batch.modality, batch.attributes, torch.Generator().manual_seed(0)
    )
    assert model.training  # mode restored
    assert report.num_images == 8 and len(report.per_attribute_vs_fed) == 8
    perm = torch.randperm(8, generator=torch.Generator().manual_seed(0))
    fed, true = batch.attributes[perm], batch.attributes
    model.eval()
    with torch.no_grad():
        maps = model.backbone(batch.images, batch.modality)
        logits = model.forward_head(maps, fed).attribute_logits
    assert logits is not None
    predicted = (logits > 0).long()

    def accuracy(target: torch.Tensor, known: torch.Tensor) -> float:
        return float((predicted[known] == target[known]).double().mean())

    assert report.acc_vs_fed == pytest.approx(accuracy(fed, fed != -1))
    assert report.acc_vs_true == pytest.approx(accuracy(true, true != -1))
    known = (fed != -1) & (true != -1)
    assert report.fed_true_agreement == pytest.approx(
        float((fed[known] == true[known]).double().mean())
    )
    first = fed[:, 0] != -1
    assert report.per_attribute_vs_fed[0] == pytest.approx(
        float((predicted[first, 0] == fed[first, 0]).double().mean())
    )


def test_leak_needs_aal_and_two_images():
    batch = pk_batch()
    g = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="aal=True"):
        aal_leak(tiny_model(aal=False), batch.images, batch.modality, batch.attributes, g)
    with pytest.raises(ValueError, match="at least 2"):
        aal_leak(tiny_model(), batch.images[:1], batch.modality[:1], batch.attributes[:1], g)
