"""GeM pooling and the BN neck shared by the baseline and PAENet."""

from __future__ import annotations

from torch import Tensor, nn


class GeM(nn.Module):
    """Generalised-mean pooling with a fixed exponent: (B, C, H, W) -> (B, C).

    ``(mean over H·W of x^p)^(1/p)`` with x clamped at ``eps``. For non-negative maps it
    is positively homogeneous per channel: ``GeM(w ⊙ F) = w ⊙ GeM(F)`` for channel
    weights ``w > 0`` (exactly, up to the clamp), which PAENet's AAL relies on.
    """

    def __init__(self, p: float = 3.0, eps: float = 1e-6):
        super().__init__()
        self.p = float(p)
        self.eps = float(eps)

    def forward(self, x: Tensor) -> Tensor:
        return x.clamp(min=self.eps).pow(self.p).mean(dim=(-2, -1)).pow(1.0 / self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}, eps={self.eps}"


class BNNeck(nn.Module):
    """Batch norm on the pooled feature with a frozen zero shift (the usual ReID neck).

    (B, C) -> (B, C). The output is the retrieval feature and the classifier's input;
    the bias is fixed at 0 (``requires_grad=False``), as in the BNNeck/AGW baselines.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.bn = nn.BatchNorm1d(channels)
        nn.init.ones_(self.bn.weight)
        nn.init.zeros_(self.bn.bias)
        self.bn.bias.requires_grad_(False)

    def forward(self, x: Tensor) -> Tensor:
        return self.bn(x)
