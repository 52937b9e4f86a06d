"""PAENet: output structure, ablation flags, gradients reach every parameter, sources."""

from __future__ import annotations

import pytest
import torch

from paenet.attributes import NUM_ATTRIBUTES
from paenet.losses import paenet_losses
from paenet.model import PAENetConfig, PAENetOutput
from paenet.model.pae import (
    AttributeChannelGates,
    AttributeSpatialAttention,
    CrossAttentionEmbedding,
)
from tests.model.helpers import NUM_CLASSES, pk_batch, tiny_model

OPTIONAL = ("attribute_logits", "predicted_attribute_logits")


@pytest.mark.parametrize(
    ("backbone", "size", "channels"),
    [
        ("resnet18", (64, 32), 512),
        ("resnet18", (96, 48), 512),
        ("resnet18", (32, 64), 512),
        ("resnet50", (64, 32), 2048),
    ],
)
def test_forward_shapes_and_dtypes(backbone: str, size: tuple[int, int], channels: int):
    model = tiny_model(backbone=backbone)
    batch = pk_batch(height=size[0], width=size[1])
    out = model(batch.images, batch.modality, batch.attributes)
    assert isinstance(out, PAENetOutput)
    b = batch.images.shape[0]
    for name in ("retrieval", "pooled", "backbone_pooled", "backbone_retrieval"):
        assert getattr(out, name).shape == (b, channels), name
    assert out.identity_logits.shape == (b, NUM_CLASSES)
    for name in OPTIONAL:
        assert getattr(out, name).shape == (b, NUM_ATTRIBUTES), name
    for value in vars(out).values():
        assert value.dtype == torch.float32
        assert torch.isfinite(value).all()


def test_config_defaults_and_validation():
    cfg = PAENetConfig(num_classes=395)
    assert (cfg.backbone, cfg.modality_specific_stages, cfg.gem_p) == ("resnet50", 1, 3.0)
    assert cfg.num_attributes == NUM_ATTRIBUTES
    assert all((cfg.pae, cfg.aal, cfg.emb1, cfg.emb2, cfg.emb3, cfg.attribute_head))
    assert cfg.aal_gates == "fed"
    assert PAENetConfig(**cfg.to_dict()) == cfg
    for bad in (
        {"aal_gates": "shuffled"},
        {"d_model": 100, "num_heads": 8},
        {"modality_specific_stages": 6},
        {"backbone": "vgg"},
        {"num_classes": 0},
    ):
        with pytest.raises(ValueError):
            PAENetConfig(num_classes=bad.pop("num_classes", 3), **bad)
    with pytest.raises(AttributeError):
        cfg.pae = False  # type: ignore[misc]


def _types(model: torch.nn.Module) -> set[type]:
    return {type(m) for m in model.modules()}


def test_each_flag_changes_the_module_graph():
    full = tiny_model()
    assert full.pae is not None and full.aal is not None and full.attribute_head is not None
    assert {CrossAttentionEmbedding, AttributeSpatialAttention} <= _types(full)
    assert full.pae.emb3.num_gates == NUM_ATTRIBUTES

    assert tiny_model(pae=False).pae is None
    assert tiny_model(pae=False).backbone_neck is None
    assert tiny_model(aal=False).aal is None
    assert tiny_model(attribute_head=False).attribute_head is None
    assert CrossAttentionEmbedding not in _types(tiny_model(emb1=False))
    assert AttributeSpatialAttention not in _types(tiny_model(emb2=False))
    no3 = tiny_model(emb3=False)
    assert AttributeChannelGates in _types(no3) and no3.pae.emb3.num_gates == 1
    assert len(tiny_model(modality_specific_stages=3).backbone.visible) == 3
    assert tiny_model(num_attributes=3).pae.emb3.num_gates == 3

    counts = {
        flag: sum(p.numel() for p in tiny_model(**{flag: False}).parameters())
        for flag in ("pae", "aal", "emb1", "emb2", "emb3", "attribute_head")
    }
    total = sum(p.numel() for p in full.parameters())
    assert all(c < total for c in counts.values()), counts


def test_ablated_outputs_are_none_exactly_when_switched_off():
    batch = pk_batch()
    out = tiny_model(aal=False, attribute_head=False)(
        batch.images, batch.modality, batch.attributes
    )
    assert out.attribute_logits is None and out.predicted_attribute_logits is None
    base = tiny_model(pae=False)(batch.images, batch.modality)
    assert base.backbone_retrieval is base.retrieval
    assert base.attribute_logits is not None  # AAL without PAE: all gates 1


def _dead_parameters(model: torch.nn.Module) -> list[str]:
    return [
        name
        for name, p in model.named_parameters()
        if p.requires_grad and (p.grad is None or not bool(p.grad.abs().sum() > 0))
    ]


@pytest.mark.parametrize(
    "flags",
    [
        {},
        {"emb1": False},
        {"emb2": False},
        {"emb3": False},
        {"pae": False},
        {"modality_specific_stages": 0},
        {"aal_gates": "label_free"},
    ],
    ids=["full", "no-emb1", "no-emb2", "no-emb3", "no-pae", "one-stream", "label-free-aal"],
)
def test_every_parameter_gets_a_gradient(flags: dict[str, object]):
    """Nothing is computed and thrown away: the total loss reaches every trainable
    parameter. The only exclusions are by design and frozen: the BN neck's zero bias."""
    model = tiny_model(**flags).train()
    batch = pk_batch()
    out = model(batch.images, batch.modality, batch.attributes)
    paenet_losses(out, batch.labels, batch.modality, batch.attributes).total.backward()
    assert _dead_parameters(model) == []
    frozen = [n for n, p in model.named_parameters() if not p.requires_grad]
    assert frozen == ["neck.bn.bias"]


@pytest.mark.parametrize("source", ["gt", "predicted", "backbone", "none"])
def test_retrieval_sources_give_feature_shaped_outputs(source: str):
    model = tiny_model().eval()
    batch = pk_batch()
    with torch.no_grad():
        feat = model.infer(batch.images, batch.modality, source, batch.attributes).retrieval
    assert feat.shape == (batch.images.shape[0], 512)
    assert torch.isfinite(feat).all()


def test_sources_differ_and_backbone_ignores_attributes():
    model = tiny_model().eval()
    batch = pk_batch()
    other = 1 - batch.attributes.clamp(min=0)
    with torch.no_grad():
        run = lambda src, a: model.infer(batch.images, batch.modality, src, a).retrieval  # noqa: E731
        torch.testing.assert_close(run("backbone", batch.attributes), run("backbone", other))
        torch.testing.assert_close(run("backbone", None), run("backbone", other))
        torch.testing.assert_close(run("none", None), run("backbone", None))  # the alias
        assert not torch.allclose(run("gt", batch.attributes), run("gt", other))
        predicted = torch.sigmoid(model(batch.images, batch.modality).predicted_attribute_logits)
        torch.testing.assert_close(run("predicted", batch.attributes), run("gt", predicted))
        # eval forward and infer agree
        out = model(batch.images, batch.modality, batch.attributes)
        torch.testing.assert_close(out.retrieval, run("gt", batch.attributes))
        torch.testing.assert_close(out.backbone_retrieval, run("backbone", None))


def test_baseline_model_ignores_attributes_for_every_source():
    model = tiny_model(pae=False).eval()
    batch = pk_batch()
    with torch.no_grad():
        feats = [
            model.infer(batch.images, batch.modality, s, batch.attributes).retrieval
            for s in ("gt", "predicted", "backbone")
        ]
    torch.testing.assert_close(feats[0], feats[1])
    torch.testing.assert_close(feats[0], feats[2])


def test_source_errors_are_clear():
    model = tiny_model(attribute_head=False).eval()
    batch = pk_batch()
    with pytest.raises(ValueError, match="needs the attributes"):
        model.infer(batch.images, batch.modality, "gt")
    with pytest.raises(ValueError, match="attribute_head=True"):
        model.infer(batch.images, batch.modality, "predicted")
    with pytest.raises(ValueError, match="attribute_source must be"):
        model.infer(batch.images, batch.modality, "oracle")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="PAE needs attributes"):
        model(batch.images, batch.modality)
    with pytest.raises(ValueError, match=r"attributes must be \(8, 8\)"):
        model(batch.images, batch.modality, batch.attributes[:, :3])


def test_unknown_attributes_use_their_own_embedding():
    model = tiny_model().eval()
    batch = pk_batch()
    unknown = torch.full_like(batch.attributes, -1)
    with torch.no_grad():
        run = lambda a: model.infer(batch.images, batch.modality, "gt", a).retrieval  # noqa: E731
        assert not torch.allclose(run(unknown), run(torch.zeros_like(unknown)))
        assert not torch.allclose(run(unknown), run(torch.ones_like(unknown)))


def test_pae_head_plugs_onto_any_feature_map():
    from paenet.model import PAEHead

    head = PAEHead(in_channels=96, num_attributes=5, d_model=32, num_heads=2, ffn_dim=64)
    fmap = torch.rand(3, 96, 7, 5)
    result = head(fmap, torch.tensor([[0, 1, -1, 0.3, 1]] * 3))
    assert result.identity_map.shape == fmap.shape
    assert result.gates.shape == (3, 5, 96)
    assert (result.gates > 0).all() and (result.gates < 1).all()
