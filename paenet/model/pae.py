"""Progressive attribute embedding (PAE): a head that plugs onto any backbone feature map.

Shapes: the feature map F is (B, C, H, W) with L = H·W spatial tokens; attributes are
(B, n) values in [0, 1] (hard labels or predicted probabilities), negative = unknown;
``d`` is the head's working width (``d_model``), far below C so that attention and the
embeddings stay cheap.

The n gated maps F_i = w_i ⊙ F of Embedding-III are never materialised: the identity
branch needs only their mean, (1/n) Σ w_i ⊙ F = w̄ ⊙ F, and AAL needs only their pooled
features, pool(w_i ⊙ F) = w_i ⊙ pool(F) (GeM is positively homogeneous, F ≥ 0 after the
ReLU, w_i > 0). Both identities are exact, so the paper's equations are computed at the
cost of one extra map instead of n.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from paenet.attributes import is_known


class AttributeEncoder(nn.Module):
    """Attribute projection: (B, n) values -> tokens (B, n, d) and f_a (B, d).

    Attribute i with value p ∈ [0, 1] becomes ``p·e_i1 + (1 − p)·e_i0`` (learned
    embeddings per attribute and value, so a predicted probability mixes them softly); a
    negative value (unknown) becomes a learned ``e_i?``. f_a is a linear map of the
    tokens' mean (for hard labels, a linear projection of the one-hot attribute vector).
    """

    def __init__(self, num_attributes: int, d_model: int):
        super().__init__()
        self.num_attributes = num_attributes
        self.values = nn.Parameter(torch.randn(2, num_attributes, d_model) * 0.02)
        self.unknown = nn.Parameter(torch.randn(num_attributes, d_model) * 0.02)
        self.project = nn.Linear(d_model, d_model)

    def forward(self, attributes: Tensor) -> tuple[Tensor, Tensor]:
        if attributes.dim() != 2 or attributes.shape[1] != self.num_attributes:
            raise ValueError(
                f"attributes must be (B, {self.num_attributes}), got {tuple(attributes.shape)}"
            )
        values = attributes.to(self.values.dtype)
        known = is_known(values).unsqueeze(-1)
        p = values.clamp(0.0, 1.0).unsqueeze(-1)
        tokens = p * self.values[1] + (1.0 - p) * self.values[0]
        tokens = torch.where(known, tokens, self.unknown.expand_as(tokens))
        return tokens, self.project(tokens.mean(dim=1))


class CrossAttentionEmbedding(nn.Module):
    """Embedding-I: spatial image tokens attend to image tokens plus attribute tokens.

    x (B, L, d), attribute tokens (B, n, d) -> f_e1 (B, L, d):
    f_ca = Norm(Att(Q, K, V) + x); z1 = Norm(f_ca + x); f_e1 = Norm(z1 + FFN(z1)),
    with Q from x and K, V from [x; tokens], multi-head scaled dot-product attention.
    The key projection has no bias: a bias on the keys shifts every score of a query by
    the same amount, which the softmax ignores (its gradient would be identically 0).
    """

    def __init__(self, d_model: int, num_heads: int, ffn_dim: int, dropout: float = 0.0):
        super().__init__()
        self.num_heads = num_heads
        self.dropout = dropout
        self.query = nn.Linear(d_model, d_model)
        self.key = nn.Linear(d_model, d_model, bias=False)
        self.value = nn.Linear(d_model, d_model)
        self.out = nn.Linear(d_model, d_model)
        self.norm_attention = nn.LayerNorm(d_model)
        self.norm_residual = nn.LayerNorm(d_model)
        self.norm_ffn = nn.LayerNorm(d_model)
        self.ffn = nn.Sequential(
            nn.Linear(d_model, ffn_dim), nn.GELU(), nn.Linear(ffn_dim, d_model)
        )

    def _heads(self, t: Tensor) -> Tensor:
        b, length, d = t.shape
        return t.view(b, length, self.num_heads, d // self.num_heads).transpose(1, 2)

    def forward(self, x: Tensor, attribute_tokens: Tensor) -> Tensor:
        b, length, d = x.shape
        context = torch.cat([x, attribute_tokens], dim=1)
        attended = F.scaled_dot_product_attention(
            self._heads(self.query(x)),
            self._heads(self.key(context)),
            self._heads(self.value(context)),
            dropout_p=self.dropout if self.training else 0.0,
        )
        attended = self.out(attended.transpose(1, 2).reshape(b, length, d))
        f_ca = self.norm_attention(attended + x)
        z1 = self.norm_residual(f_ca + x)
        return self.norm_ffn(z1 + self.ffn(z1))


class AttributeSpatialAttention(nn.Module):
    """Embedding-II: attribute-guided spatial attention on the real L-token map.

    f_e1 (B, L, d), f_a (B, d) -> f_e2 (B, L, d):
    f_ST = W_s(p1(f_e1) ⊙ p2(f_a)), f_e2 = f_e1 ⊙ softmax over L of f_ST (per channel).
    p1 and W_s carry no bias: a per-channel constant is the same at every position, so the
    spatial softmax would cancel it (a parameter with an identically zero gradient).
    Summing f_e2 over L is the attention-weighted average of f_e1.
    """

    def __init__(self, d_model: int):
        super().__init__()
        self.image = nn.Linear(d_model, d_model, bias=False)  # p1, a 1x1 conv on tokens
        self.attribute = nn.Linear(d_model, d_model)  # p2, duplicated over positions
        self.score = nn.Linear(d_model, d_model, bias=False)  # the 1x1 conv giving f_ST

    def weights(self, f_e1: Tensor, f_a: Tensor) -> Tensor:
        """The attention weights (B, L, d): for each image and channel they sum to 1 over
        the L positions."""
        scores = self.score(self.image(f_e1) * self.attribute(f_a).unsqueeze(1))
        return scores.softmax(dim=1)

    def forward(self, f_e1: Tensor, f_a: Tensor) -> Tensor:
        return f_e1 * self.weights(f_e1, f_a)


class AttributeChannelGates(nn.Module):
    """Embedding-III: channel gates w_i = sigmoid(FC_i([f_a, f_e])), (B, g, C).

    One fused linear layer computes all g gates (g = n, one per attribute; g = 1 when
    Embedding-III is ablated, leaving a single attribute-conditioned gate).
    """

    def __init__(self, d_model: int, channels: int, num_gates: int):
        super().__init__()
        self.num_gates = num_gates
        self.channels = channels
        self.fc = nn.Linear(2 * d_model, num_gates * channels)

    def forward(self, f_a: Tensor, f_e: Tensor) -> Tensor:
        logits = self.fc(torch.cat([f_a, f_e], dim=1))
        return torch.sigmoid(logits).view(-1, self.num_gates, self.channels)


@dataclass(frozen=True, eq=False)
class PAEResult:
    """What the PAE head gives back.

    identity_map: W2 ⊙ F, (B, C, H, W), with W2 = sigmoid(w̄ ⊙ F) and w̄ the gates' mean.
    gates: (B, g, C) channel gates (g = n attributes, or 1 with Embedding-III off).
    """

    identity_map: Tensor
    gates: Tensor


class PAEHead(nn.Module):
    """Attribute projection, Embedding-I/II/III and the identity map, on any (B, C, H, W).

    With an embedding ablated, its input passes through: Emb-I off uses the projected
    image tokens, Emb-II off averages f_e1 over positions, Emb-III off uses one gate.
    """

    def __init__(
        self,
        in_channels: int,
        num_attributes: int,
        d_model: int = 256,
        num_heads: int = 8,
        ffn_dim: int = 1024,
        emb1: bool = True,
        emb2: bool = True,
        emb3: bool = True,
        attention_dropout: float = 0.0,
    ):
        super().__init__()
        self.attributes = AttributeEncoder(num_attributes, d_model)
        self.image_projection = nn.Sequential(
            nn.Linear(in_channels, d_model), nn.LayerNorm(d_model)
        )
        self.emb1 = (
            CrossAttentionEmbedding(d_model, num_heads, ffn_dim, attention_dropout)
            if emb1
            else None
        )
        self.emb2 = AttributeSpatialAttention(d_model) if emb2 else None
        self.emb3 = AttributeChannelGates(d_model, in_channels, num_attributes if emb3 else 1)

    def gates(self, feature_map: Tensor, attributes: Tensor) -> Tensor:
        """Embedding-I, II and III without the identity map: the gates (B, g, C)."""
        if feature_map.dim() != 4:
            raise ValueError(f"feature map must be (B, C, H, W), got {tuple(feature_map.shape)}")
        tokens, f_a = self.attributes(attributes)
        x = self.image_projection(feature_map.flatten(2).transpose(1, 2))  # (B, L, d)
        f_e1 = self.emb1(x, tokens) if self.emb1 is not None else x
        # Emb-II's output summed over L is an attention-weighted average of f_e1.
        f_e = self.emb2(f_e1, f_a).sum(dim=1) if self.emb2 is not None else f_e1.mean(dim=1)
        return self.emb3(f_a, f_e)

    def forward(self, feature_map: Tensor, attributes: Tensor) -> PAEResult:
        gates = self.gates(feature_map, attributes)  # (B, g, C)
        mean_gate = gates.mean(dim=1)[:, :, None, None]  # (1/n) Σ F_i = w̄ ⊙ F
        identity_map = torch.sigmoid(mean_gate * feature_map) * feature_map
        return PAEResult(identity_map=identity_map, gates=gates)
