"""The same code path on CUDA (skipped without a GPU)."""

from __future__ import annotations

import pytest
import torch

from paenet.losses import paenet_losses
from tests.model.helpers import pk_batch, tiny_model


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_forward_backward_on_cuda_with_bf16_autocast():
    device = torch.device("cuda")
    model = tiny_model().to(device).train()
    b = pk_batch()
    images, modality, attrs = (t.to(device) for t in (b.images, b.modality, b.attributes))
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out = model(images, modality, attrs)
        loss = paenet_losses(out, b.labels.to(device), modality, attrs).total
    loss.float().backward()
    assert torch.isfinite(loss.float())
    assert out.retrieval.device.type == "cuda"
