"""Losses on tiny hand-built cases, layout checks and invariances."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from paenet.losses import (
    BatchLayout,
    BatchLayoutError,
    LossConfig,
    check_layout,
    hetero_center_triplet_loss,
    identity_loss,
    margin_mmd_loss,
    masked_attribute_bce,
    mmd_squared,
    paenet_losses,
)
from paenet.model import PAENetOutput
from tests.model.helpers import pk_batch, tiny_model

# k(x, y) for one visible and one infrared feature (K = 1): σ = ‖x − y‖²/4, so the
# cross term is Σ_i exp(−4 / 2^i) whatever the distance, and the self terms are 5 each.
CROSS_K1 = sum(math.exp(-4 / 2**i) for i in range(5))
MMD2_K1 = 5 + 5 - 2 * CROSS_K1  # ≈ 6.186


def layout_tensors(p: int, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    labels = torch.arange(p).repeat_interleave(k).repeat(2)
    modality = torch.cat([torch.zeros(p * k), torch.ones(p * k)]).long()
    return labels, modality


def test_layout_is_inferred_for_any_p_and_k():
    for p, k in [(1, 1), (2, 3), (4, 2), (8, 4)]:
        labels, modality = layout_tensors(p, k)
        assert check_layout(labels * 7 + 3, modality) == BatchLayout(p, k)


@pytest.mark.parametrize(
    ("labels", "modality", "message"),
    [
        ([0, 0, 1, 1, 0, 0, 1], None, "even length"),
        ([0, 0, 1, 1, 0, 0, 1, 1], [0, 1, 0, 1, 0, 1, 0, 1], r"\[visible images \| infrared"),
        ([0, 0, 1, 0, 0, 0, 1, 0], None, "K=2"),
        ([0, 0, 1, 1, 0, 0, 0, 0], None, "same ids in the same order"),
        ([0, 0, 1, 1, 1, 1, 0, 0], None, "same ids in the same order"),
        ([0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0], None, "two blocks"),
        ([0, 0, 0, 1, 1, 0, 0, 0, 1, 1], None, "not P ids"),
    ],
)
def test_layout_violations_are_reported(labels, modality, message):
    mod = torch.tensor(modality) if modality is not None else None
    with pytest.raises(BatchLayoutError, match=message):
        check_layout(torch.tensor(labels), mod)


def test_identity_loss_by_hand():
    logits = torch.tensor([[math.log(1.0), math.log(3.0)]])  # p = (0.25, 0.75)
    label = torch.tensor([1])
    assert identity_loss(logits, label).item() == pytest.approx(-math.log(0.75))
    smoothed = -(0.1 * math.log(0.25) + 0.9 * math.log(0.75))  # ε = 0.2 over 2 classes
    assert identity_loss(logits, label, 0.2).item() == pytest.approx(smoothed)


def triplet_case() -> torch.Tensor:
    """P = 2, K = 2 in 2-D; centres v0 = (1, 0), v1 = (0, 5), t0 = (1, 1), t1 = (0, 3)."""
    visible = [[0, 0], [2, 0], [0, 4], [0, 6]]
    infrared = [[0, 1], [2, 1], [0, 2], [0, 4]]
    return torch.tensor(visible + infrared, dtype=torch.float64)


def test_hetero_center_triplet_with_known_centres():
    feats, layout = triplet_case(), BatchLayout(2, 2)
    # anchor: (positive distance, nearest negative distance)
    pairs = [
        (1.0, math.sqrt(10)),  # v0: t0 at 1; v1 at √26, t1 at √10
        (1.0, math.sqrt(5)),  # t0: v0 at 1; v1 at √17, t1 at √5
        (2.0, math.sqrt(17)),  # v1: t1 at 2; v0 at √26, t0 at √17
        (2.0, math.sqrt(5)),  # t1: v1 at 2; v0 at √10, t0 at √5
    ]
    for margin in (0.3, 3.0):
        expected = sum(max(0.0, margin + ap - an) for ap, an in pairs) / 4
        got = hetero_center_triplet_loss(feats, layout, margin).item()
        assert got == pytest.approx(expected, rel=1e-9), margin
    # with margin 0.3 only anchor t1 violates it: (0.3 + 2 − √5) / 4
    only_t1 = hetero_center_triplet_loss(feats, layout, 0.3).item()
    assert only_t1 == pytest.approx((2.3 - math.sqrt(5)) / 4, rel=1e-9)


def test_mmd_squared_by_hand():
    x, y = torch.tensor([[0.0, 0.0]]), torch.tensor([[3.0, 4.0]])
    assert mmd_squared(x, y).item() == pytest.approx(MMD2_K1, rel=1e-6)
    same = torch.tensor([[1.0, 2.0], [3.0, -1.0]])
    assert mmd_squared(same, same.flip(0)).item() == pytest.approx(0.0, abs=1e-6)
    # K = 2 in 1-D: X = {0, 2}, Y = {2, 4}; all squared distances by hand.
    pts = [0.0, 2.0, 2.0, 4.0]
    d2 = [[(a - b) ** 2 for b in pts] for a in pts]
    sigma = sum(map(sum, d2)) / 12 / 4
    kern = [[sum(math.exp(-v / (sigma * 2**i)) for i in range(5)) for v in row] for row in d2]
    mean = lambda rows, cols: sum(kern[r][c] for r in rows for c in cols) / 4  # noqa: E731
    expected = mean((0, 1), (0, 1)) + mean((2, 3), (2, 3)) - 2 * mean((0, 1), (2, 3))
    got = mmd_squared(torch.tensor([[0.0], [2.0]]), torch.tensor([[2.0], [4.0]])).item()
    assert got == pytest.approx(expected, rel=1e-6)


def test_mmd_bandwidth_carries_no_gradient():
    """K = 1 in 1-D, x = 0, y = 3: σ = 9/4 is a constant for autograd, so
    dMMD²/dy = 4·y/σ · Σ_i exp(−4/2^i)/2^i. (If σ carried a gradient, MMD² would be the
    constant MMD2_K1 for every y and the gradient 0.)"""
    x = torch.tensor([[0.0]], dtype=torch.float64)
    y = torch.tensor([[3.0]], dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(mmd_squared(x, y), y)
    sigma = 9.0 / 4.0
    expected = 4 * 3.0 / sigma * sum(math.exp(-4 / 2**i) / 2**i for i in range(5))
    assert grad.item() == pytest.approx(expected, rel=1e-9)


def test_margin_mmd_below_and_above_the_margin():
    # id 0: distinct visible/infrared features (MMD² ≈ 6.19); id 1: identical (MMD² = 0).
    feats = torch.tensor([[0.0, 0.0], [5.0, 5.0], [3.0, 4.0], [5.0, 5.0]])
    layout = BatchLayout(2, 1)
    assert margin_mmd_loss(feats, layout, margin=1.4).item() == pytest.approx(MMD2_K1 / 2, rel=1e-6)
    hinge = margin_mmd_loss(feats, layout, margin=1.4, subtract_margin=True).item()
    assert hinge == pytest.approx((MMD2_K1 - 1.4) / 2, rel=1e-6)
    assert margin_mmd_loss(feats, layout, margin=7.0).item() == 0.0  # both below


def test_margin_mmd_gradient_same_with_or_without_subtracting():
    feats = torch.randn(8, 4, generator=torch.Generator().manual_seed(3), requires_grad=True)
    layout = BatchLayout(2, 2)
    grads = []
    for subtract in (False, True):
        (g,) = torch.autograd.grad(
            margin_mmd_loss(feats, layout, 0.1, subtract_margin=subtract), feats
        )
        grads.append(g)
    assert grads[0].abs().sum() > 0
    torch.testing.assert_close(grads[0], grads[1])


def test_masked_attribute_bce_by_hand():
    logits = torch.tensor([[0.0, math.log(3.0), 5.0]], requires_grad=True)
    targets = torch.tensor([[1, 0, -1]])
    # BCE(0, 1) = ln 2; BCE(ln 3, 0) = −ln(1 − 3/4) = ln 4; the unknown is ignored.
    assert masked_attribute_bce(logits, targets).item() == pytest.approx(1.5 * math.log(2))
    unknown = masked_attribute_bce(logits, torch.full((1, 3), -1))
    assert unknown.item() == 0.0
    unknown.backward()
    assert logits.grad is not None and (logits.grad == 0).all()
    with pytest.raises(ValueError, match="0, 1 or -1"):
        masked_attribute_bce(logits, torch.tensor([[2, 0, 1]]))


def random_output(p: int, k: int, seed: int = 0) -> tuple[PAENetOutput, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    n = 2 * p * k
    feats = torch.randn(n, 6, generator=g)
    out = PAENetOutput(
        retrieval=feats,
        pooled=feats,
        identity_logits=torch.randn(n, p + 2, generator=g),
        backbone_pooled=feats,
        backbone_retrieval=feats,
        attribute_logits=torch.randn(n, 4, generator=g),
        predicted_attribute_logits=torch.randn(n, 4, generator=g),
    )
    return out, torch.randint(-1, 2, (n, 4), generator=g)


def permute_ids(out: PAENetOutput, attrs: torch.Tensor, p: int, k: int, perm: torch.Tensor):
    """Reorder identity blocks by ``perm`` in both halves (the same batch, ids shuffled)."""
    idx = torch.cat(
        [(perm[:, None] * k + torch.arange(k)).flatten() + half * p * k for half in (0, 1)]
    )
    fields = {name: (v[idx] if v is not None else None) for name, v in vars(out).items()}
    return PAENetOutput(**fields), attrs[idx], idx


@pytest.mark.parametrize(("p", "k"), [(2, 2), (3, 1), (4, 3)])
def test_losses_invariant_to_permuting_identities(p: int, k: int):
    out, attrs = random_output(p, k)
    labels, modality = layout_tensors(p, k)
    cfg = LossConfig(mmd_margin=0.0, label_smoothing=0.1)
    before = paenet_losses(out, labels, modality, attrs, cfg)
    perm = torch.randperm(p, generator=torch.Generator().manual_seed(1)).flip(0)
    out2, attrs2, idx = permute_ids(out, attrs, p, k, perm)
    after = paenet_losses(out2, labels[idx], modality, attrs2, cfg)
    assert after.weighted.keys() == before.weighted.keys()
    for name, term in [("total", before.total), *before.weighted.items()]:
        moved = after.total if name == "total" else after.weighted[name]
        assert moved.item() == pytest.approx(term.item(), rel=1e-5), name
    # the triplet term is the hetero-centre triplet of ``pooled`` (a direct call), not zero on
    # these random features, and the two modalities differ (MMD > 0)
    direct = hetero_center_triplet_loss(out.pooled, BatchLayout(p, k), cfg.triplet_margin)
    assert before.unweighted["triplet"].item() == pytest.approx(direct.item(), rel=1e-6)
    assert before.unweighted["triplet"].item() > 0.01
    assert before.unweighted["mmd"] > 0


def test_total_is_the_weighted_sum_of_named_terms():
    out, attrs = random_output(2, 2)
    labels, modality = layout_tensors(2, 2)
    cfg = LossConfig(triplet_weight=2.0, mmd_weight=0.25, attribute_weight=0.5, mmd_margin=0.0)
    terms = paenet_losses(out, labels, modality, attrs, cfg)
    assert set(terms.weighted) == {"id", "triplet", "mmd", "attribute", "predicted_attribute"}
    assert terms.weights["attribute"] == 0.5
    for name, value in terms.weighted.items():
        assert value.item() == pytest.approx(terms.weights[name] * terms.unweighted[name].item())
    assert terms.total.item() == pytest.approx(sum(v.item() for v in terms.weighted.values()))
    no_attr = LossConfig(mmd_weight=0.0, attribute_weight=0.0, predicted_attribute_weight=0.0)
    assert set(paenet_losses(out, labels, modality, None, no_attr).weighted) == {"id", "triplet"}
    assert terms.skipped == {}


@pytest.mark.parametrize(
    ("weights", "term"),
    [({}, "attribute"), ({"attribute_weight": 0.0}, "predicted_attribute")],
)
def test_attribute_losses_need_labels_explicitly(weights: dict[str, float], term: str):
    """An attribute term that is on never becomes silently 0: no labels is an error."""
    out, _ = random_output(2, 2)
    labels, modality = layout_tensors(2, 2)
    with pytest.raises(ValueError, match=f"the '{term}' loss needs the attribute labels"):
        paenet_losses(out, labels, modality, None, LossConfig(**weights))


def test_all_unknown_attribute_labels_are_reported_as_skipped():
    out, attrs = random_output(2, 2)
    labels, modality = layout_tensors(2, 2)
    terms = paenet_losses(out, labels, modality, torch.full_like(attrs, -1))
    assert terms.skipped == {
        "attribute": "no known attribute label in the batch",
        "predicted_attribute": "no known attribute label in the batch",
    }
    assert terms.weighted["attribute"].item() == 0.0
    one_known = torch.full_like(attrs, -1)
    one_known[0, 0] = 1
    assert paenet_losses(out, labels, modality, one_known).skipped == {}


def test_loss_checks_the_layout():
    out, attrs = random_output(2, 2)
    labels, modality = layout_tensors(2, 2)
    with pytest.raises(BatchLayoutError):
        paenet_losses(out, labels.flip(0), modality.flip(0), attrs)


def test_unlabelled_forward_then_loss_is_an_error_not_a_dropped_term():
    model = tiny_model().train()
    batch = pk_batch()
    out = model(batch.images, batch.modality)  # PAE reads the predicted attributes
    with pytest.raises(ValueError, match="'attribute' loss needs the attribute labels"):
        paenet_losses(out, batch.labels, batch.modality, None)
    off = LossConfig(attribute_weight=0.0, predicted_attribute_weight=0.0)
    terms = paenet_losses(out, batch.labels, batch.modality, None, off)
    assert set(terms.weighted) == {"id", "triplet", "mmd"} and terms.skipped == {}


def test_identity_bandwidth_is_blind_to_scale_and_batch_bandwidth_is_not():
    """The collapse mechanism (docs/training.md): with each identity's own bandwidth, an
    identity drawn tight keeps its MMD²; with the batch's, it falls under the margin."""
    layout = BatchLayout(2, 1)
    # id 0 at (0, 0) / (3, 4): distance 5; id 1 far away at (100, 0) / (100, 5).
    feats = torch.tensor([[0.0, 0.0], [100.0, 0.0], [3.0, 4.0], [100.0, 5.0]], dtype=torch.float64)
    tight = feats.clone()
    tight[2] = torch.tensor(
        [0.03, 0.04], dtype=torch.float64
    )  # id 0's infrared image now 0.05 away
    own = [margin_mmd_loss(f, layout, margin=0.0).item() for f in (feats, tight)]
    assert own == pytest.approx([MMD2_K1, MMD2_K1], rel=1e-6)  # K = 1: always 6.19 per id
    # Batch bandwidth: σ = mean off-diagonal d² / 4; MMD² of an id = 10 − 2·Σ exp(−d²/(σ 2^i)).
    for f in (feats, tight):
        d2 = torch.cdist(f, f).pow(2)
        sigma = float(d2.sum()) / 12 / 4
        per_id = []
        for v, t in ((0, 2), (1, 3)):
            dist2 = float(d2[v, t])
            per_id.append(10 - 2 * sum(math.exp(-dist2 / (sigma * 2**i)) for i in range(5)))
        got = margin_mmd_loss(f, layout, margin=0.0, bandwidth="batch").item()
        assert got == pytest.approx(sum(per_id) / 2, rel=1e-5)
    tight_id0 = margin_mmd_loss(tight, layout, margin=1.4, bandwidth="batch").item()
    assert tight_id0 < MMD2_K1 / 2 - 0.1  # id 0 dropped under the margin: only id 1 counts
    with pytest.raises(ValueError, match="bandwidth"):
        margin_mmd_loss(feats, layout, bandwidth="global")


def test_metric_feature_choice():
    out, attrs = random_output(2, 2, seed=5)
    labels, modality = layout_tensors(2, 2)
    scaled = dataclasses.replace(out, pooled=out.pooled * 7.0)
    for name, invariant in (("pooled", False), ("normalized", True)):
        cfg = LossConfig(metric_feature=name, mmd_weight=0.0)
        a = paenet_losses(out, labels, modality, attrs, cfg).unweighted["triplet"].item()
        b = paenet_losses(scaled, labels, modality, attrs, cfg).unweighted["triplet"].item()
        assert (a == pytest.approx(b, rel=1e-5)) is invariant, name
    normalized = torch.nn.functional.normalize(out.pooled, dim=1)
    cfg = LossConfig(metric_feature="normalized")
    got = paenet_losses(out, labels, modality, attrs, cfg).unweighted["triplet"].item()
    assert got == pytest.approx(hetero_center_triplet_loss(normalized, BatchLayout(2, 2)).item())
    neck = dataclasses.replace(out, retrieval=out.pooled * 0.5 + 1.0)
    got = paenet_losses(neck, labels, modality, attrs, LossConfig(metric_feature="neck"))
    want = hetero_center_triplet_loss(neck.retrieval, BatchLayout(2, 2)).item()
    assert got.unweighted["triplet"].item() == pytest.approx(want)
    with pytest.raises(ValueError, match="metric_feature"):
        LossConfig(metric_feature="bn")


def test_balanced_attribute_bce_by_hand():
    # Two attributes, positive rates 0.25 and 0.5; one row unknown for attribute 0.
    logits = torch.tensor([[0.0, 1.0], [2.0, -1.0], [0.5, 0.0]])
    targets = torch.tensor([[1, 0], [0, 1], [-1, 1]])
    rates = torch.tensor([0.25, 0.5])

    def bce(x: float, y: int) -> float:
        p = 1 / (1 + math.exp(-x))
        return -math.log(p) if y == 1 else -math.log(1 - p)

    # weights: attr 0 positive 0.5/0.25 = 2, negative 0.5/0.75 = 2/3; attr 1 both 1.
    expected = (2 * bce(0, 1) + 1 * bce(1, 0) + (2 / 3) * bce(2, 0) + bce(-1, 1) + bce(0, 1)) / 5
    got = masked_attribute_bce(logits, targets, rates).item()
    assert got == pytest.approx(expected, rel=1e-6)
    # rates of 0.5 everywhere: the plain BCE
    plain = masked_attribute_bce(logits, targets).item()
    assert masked_attribute_bce(logits, targets, torch.tensor([0.5, 0.5])).item() == pytest.approx(
        plain, rel=1e-6
    )
    with pytest.raises(ValueError, match="positive_rates"):
        masked_attribute_bce(logits, targets, torch.tensor([0.5]))


def test_attribute_balance_needs_the_rates():
    out, attrs = random_output(2, 2)
    labels, modality = layout_tensors(2, 2)
    cfg = LossConfig(attribute_balance=True)
    with pytest.raises(ValueError, match="attribute_rates"):
        paenet_losses(out, labels, modality, attrs, cfg)
    rates = torch.tensor([0.2, 0.4, 0.6, 0.8])
    terms = paenet_losses(out, labels, modality, attrs, cfg, rates)
    want = masked_attribute_bce(out.predicted_attribute_logits, attrs, rates)
    assert terms.unweighted["predicted_attribute"].item() == pytest.approx(want.item())
    plain = paenet_losses(out, labels, modality, attrs, LossConfig(), rates)
    assert plain.unweighted["predicted_attribute"].item() != pytest.approx(want.item())
