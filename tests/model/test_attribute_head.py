"""The attribute-recognition head reads a normalised f^m (the fix for the constant head)."""

from __future__ import annotations

import torch

from paenet.model.attribute_heads import AttributeRecognitionHead
from paenet.model.loading import model_config_from_dict
from tests.model.helpers import tiny_config


def _head(normalize: bool) -> AttributeRecognitionHead:
    torch.manual_seed(0)
    return AttributeRecognitionHead(16, 3, hidden=8, normalize_input=normalize).train()


def test_normalised_head_sees_the_variation_not_the_shared_mean():
    """GeM features share a large mean; what tells images apart is a small variation. With
    the input normalised, adding a constant to every channel and scaling the batch changes
    no logit; on the raw feature the same change moves them."""
    g = torch.Generator().manual_seed(1)
    f = 0.3 * torch.randn(12, 16, generator=g)
    shifted = 7.0 * f + 1.3
    head = _head(normalize=True)
    assert torch.allclose(head(f), head(shifted), atol=1e-3)  # up to the eps in the variance
    raw = _head(normalize=False)
    assert not torch.allclose(raw(f), raw(shifted), atol=0.1)


def test_the_raw_head_learns_only_the_majority_value_when_the_spread_is_small():
    """The measured failure, reproduced on features with a 2 % spread around a shared mean:
    a few Adam steps teach the normalised head the attribute, the raw head a constant."""
    g = torch.Generator().manual_seed(2)
    label = (torch.rand(256, generator=g) < 0.3).float()  # 30 % positives
    signal = (label * 2 - 1)[:, None] * torch.linspace(-1, 1, 16)[None, :]
    f = 1.5 + 0.02 * (signal + 0.5 * torch.randn(256, 16, generator=g))
    results = {}
    for normalize in (True, False):
        head = _head(normalize)
        opt = torch.optim.Adam(head.parameters(), lr=1e-3)
        for _ in range(60):
            loss = torch.nn.functional.binary_cross_entropy_with_logits(head(f)[:, 0], label)
            opt.zero_grad()
            loss.backward()
            opt.step()
        head.eval()
        predicted = head(f)[:, 0] > 0
        recalls = [float((predicted[label == c] == bool(c)).float().mean()) for c in (0, 1)]
        results[normalize] = sum(recalls) / 2  # balanced accuracy
    assert results[True] > 0.9
    assert results[False] < 0.6


def test_checkpoints_from_before_the_option_load_with_a_raw_head():
    old = tiny_config().to_dict()
    old.pop("attribute_head_norm")
    assert model_config_from_dict(old).attribute_head_norm is False
    assert model_config_from_dict(tiny_config().to_dict()).attribute_head_norm is True
