"""The paper's equations on tiny hand-checkable cases (see ``tests/model/README.md``).

Each expected value is built step by step from the module's own weights, the way the
paper writes the equation (n gated maps built explicitly, softmax written as exp/sum),
in float64, so a wrong axis, a dropped residual or a missing sigmoid shows.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from paenet.model.pae import AttributeSpatialAttention, CrossAttentionEmbedding
from tests.model.helpers import pk_batch, tiny_model


def _randomise(module: torch.nn.Module, seed: int) -> None:
    """Random weights everywhere (layer-norm scales and biases too), so that no term
    hides behind an identity initialisation."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.5)


def _linear(x: Tensor, layer: torch.nn.Linear) -> Tensor:
    out = x @ layer.weight.T
    return out + layer.bias if layer.bias is not None else out


def _gem(x: Tensor, p: float = 3.0) -> Tensor:
    """(B, C, H, W) -> (B, C): (mean over positions of x^p)^(1/p), for x > 0."""
    return x.pow(p).mean(dim=(-2, -1)).pow(1.0 / p)


# ------------------------------------------------------------------------ Embedding-I
def test_embedding_1_by_hand():
    """f_ca = Norm(Att(Q, K, V) + x), z1 = Norm(f_ca + x), f_e1 = Norm(z1 + FFN(z1)),
    Q from x, K and V from [x; attribute tokens], two heads, softmax over keys."""
    d, heads, length, n = 8, 2, 3, 2
    m = CrossAttentionEmbedding(d, heads, ffn_dim=16).double().eval()
    _randomise(m, 0)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, length, d, generator=g, dtype=torch.float64)
    tokens = torch.randn(2, n, d, generator=g, dtype=torch.float64)

    context = torch.cat([x, tokens], dim=1)  # L + n keys and values
    q, k, v = _linear(x, m.query), _linear(context, m.key), _linear(context, m.value)
    dh = d // heads
    per_head = []
    for h in range(heads):
        cols = slice(h * dh, (h + 1) * dh)
        scores = q[..., cols] @ k[..., cols].transpose(1, 2) / math.sqrt(dh)  # (B, L, L+n)
        weights = scores.exp() / scores.exp().sum(dim=-1, keepdim=True)
        per_head.append(weights @ v[..., cols])
    attended = _linear(torch.cat(per_head, dim=-1), m.out)

    def norm(t: Tensor, ln: torch.nn.LayerNorm) -> Tensor:
        return F.layer_norm(t, (d,), ln.weight, ln.bias, ln.eps)

    f_ca = norm(attended + x, m.norm_attention)
    z1 = norm(f_ca + x, m.norm_residual)
    ffn = _linear(F.gelu(_linear(z1, m.ffn[0])), m.ffn[2])
    expected = norm(z1 + ffn, m.norm_ffn)
    torch.testing.assert_close(m(x, tokens), expected, rtol=1e-10, atol=1e-10)


def test_attribute_tokens_reach_embedding_1_output():
    """Every attribute token (as key and value) changes every output token."""
    m = CrossAttentionEmbedding(8, 2, ffn_dim=16).double()
    _randomise(m, 2)
    g = torch.Generator().manual_seed(3)
    x = torch.randn(1, 4, 8, generator=g, dtype=torch.float64)
    tokens = torch.randn(1, 3, 8, generator=g, dtype=torch.float64, requires_grad=True)
    out = m(x, tokens)
    for position in range(4):
        (grad,) = torch.autograd.grad(
            out[0, position].sum(), tokens, retain_graph=True, allow_unused=True
        )
        assert grad is not None, "attribute tokens are not in Embedding-I's keys/values"
        assert bool((grad.abs().sum(dim=-1) > 1e-8).all()), (position, grad)


# ----------------------------------------------------------------------- Embedding-II
def _emb2_case() -> tuple[AttributeSpatialAttention, Tensor, Tensor]:
    m = AttributeSpatialAttention(6).double()
    _randomise(m, 4)
    g = torch.Generator().manual_seed(5)
    f_e1 = torch.randn(2, 5, 6, generator=g, dtype=torch.float64)  # B=2, L=5, d=6
    f_a = torch.randn(2, 6, generator=g, dtype=torch.float64)
    return m, f_e1, f_a


def test_embedding_2_weights_sum_to_one_over_positions_per_channel():
    m, f_e1, f_a = _emb2_case()
    weights = m.weights(f_e1, f_a)  # (B, L, d)
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(2, 6, dtype=torch.float64))
    assert not torch.allclose(weights.sum(dim=2), torch.ones(2, 5, dtype=torch.float64))
    assert weights.std(dim=1).min() > 1e-3  # not a uniform (no-op) attention


def test_embedding_2_by_hand():
    """f_ST = W_s(p1(f_e1) ⊙ p2(f_a)); f_e2 = f_e1 ⊙ softmax over the L positions."""
    m, f_e1, f_a = _emb2_case()
    p1 = f_e1 @ m.image.weight.T
    p2 = (f_a @ m.attribute.weight.T + m.attribute.bias).unsqueeze(1)  # duplicated over L
    f_st = (p1 * p2) @ m.score.weight.T
    softmax_positions = f_st.exp() / f_st.exp().sum(dim=1, keepdim=True)
    torch.testing.assert_close(m(f_e1, f_a), f_e1 * softmax_positions, rtol=1e-10, atol=1e-10)


# ------------------------------------------------------------- Embedding-III, Eq 8 and 10
def _gated_case():
    """A float64 tiny PAENet with random head weights, a positive feature map F (B, C, h, w),
    the n gates w_i (B, n, C) and the n gated maps F_i = w_i ⊙ F built explicitly."""
    model = tiny_model().double().eval()
    _randomise(model.pae, 6)
    _randomise(model.aal, 7)
    g = torch.Generator().manual_seed(8)
    fmap = torch.rand(3, 512, 4, 2, generator=g, dtype=torch.float64) + 0.05
    attrs = torch.tensor([[1, 0, -1, 1, 0, 0, 1, -1], [0] * 8, [1, 1, 1, 0, -1, 1, 0, 1]])
    with torch.no_grad():
        out = model.forward_head(fmap, attrs)
        gates = model.pae.gates(fmap, attrs)
    n = gates.shape[1]
    gated = [gates[:, i, :, None, None] * fmap for i in range(n)]  # F_i, each (B, C, h, w)
    return model, fmap, gates, gated, out


def test_eq10_identity_feature_from_the_n_gated_maps():
    """W2 = sigmoid((1/n) Σ_i F_i); f_id = GeM(W2 ⊙ F)."""
    model, fmap, gates, gated, out = _gated_case()
    assert gates.shape[1] == 8 and not torch.allclose(gates[:, 0], gates[:, 1])
    w2 = torch.sigmoid(sum(gated) / len(gated))
    torch.testing.assert_close(out.pooled, _gem(w2 * fmap), rtol=1e-9, atol=1e-12)
    with torch.no_grad():
        identity_map = model.pae(fmap, torch.zeros(3, 8)).identity_map
        zero_gates = model.pae.gates(fmap, torch.zeros(3, 8))
    mean_zero = zero_gates.mean(dim=1)[:, :, None, None]
    torch.testing.assert_close(identity_map, torch.sigmoid(mean_zero * fmap) * fmap)


def test_eq8_aal_logits_from_the_n_gated_maps():
    """f_i = GeM(F_i); W1 = sigmoid([f_1 … f_n]); f_atr,i = FC(f^m ⊙ W1_i);
    logit_i = <u_i, f_atr,i> + b_i."""
    model, fmap, _, gated, out = _gated_case()
    aal = model.aal
    f_m = _gem(fmap)
    expected = []
    for i, f_i_map in enumerate(gated):
        w1_i = torch.sigmoid(_gem(f_i_map))  # (B, C)
        fc, norm = aal.features[0], aal.features[1]
        hidden = _linear(f_m * w1_i, fc)
        f_atr = F.relu(F.layer_norm(hidden, (fc.out_features,), norm.weight, norm.bias, norm.eps))
        expected.append(f_atr @ aal.weight[i] + aal.bias[i])
    torch.testing.assert_close(
        out.attribute_logits, torch.stack(expected, dim=1), rtol=1e-9, atol=1e-10
    )


# ---------------------------------------------------------------------------- detach
def test_predicted_attributes_fed_to_pae_are_detached():
    """Without labels PAE reads the recognition head's probabilities, detached: the
    identity path's gradient reaches PAE's attribute encoder but not the head."""
    model = tiny_model().train()
    g = torch.Generator().manual_seed(9)
    fmap = torch.rand(4, 512, 4, 2, generator=g)
    out = model.forward_head(fmap, None)
    out.pooled.sum().backward()
    assert model.pae.attributes.values.grad is not None
    assert model.pae.attributes.values.grad.abs().sum() > 0
    dead = [
        n
        for n, p in model.attribute_head.named_parameters()
        if p.grad is not None and p.grad.abs().sum() > 0
    ]
    assert dead == [], f"identity loss reached the attribute head through PAE: {dead}"


def test_attribute_head_still_learns_from_its_own_loss():
    """The detach cuts only the PAE path: the head's BCE trains the head."""
    model = tiny_model().train()
    batch = pk_batch()
    out = model(batch.images, batch.modality, None)
    assert out.predicted_attribute_logits is not None
    F.binary_cross_entropy_with_logits(
        out.predicted_attribute_logits, batch.attributes.clamp(min=0).float()
    ).backward()
    assert all(
        p.grad is not None and p.grad.abs().sum() > 0 for p in model.attribute_head.parameters()
    )
