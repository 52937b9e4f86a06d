"""The paper's ablation rows (``paenet.model.config.ABLATION_ROWS``): each row's flags
build the module graph the row means, and every flag combination builds what it says."""

from __future__ import annotations

import itertools

import pytest
import torch

from paenet.model import ABLATION_ROWS, PAENet, PAENetConfig
from paenet.model.attribute_heads import AttributeAuxiliaryLearning
from paenet.model.pae import (
    AttributeChannelGates,
    AttributeSpatialAttention,
    CrossAttentionEmbedding,
    PAEHead,
)
from tests.model.helpers import pk_batch, tiny_model


def graph(model: PAENet) -> dict[str, object]:
    """What the model is made of, read from its modules (not from its config)."""
    types = [type(m) for m in model.modules()]
    gates = [m for m in model.modules() if isinstance(m, AttributeChannelGates)]
    return {
        "pae": types.count(PAEHead),
        "emb1": types.count(CrossAttentionEmbedding),
        "emb2": types.count(AttributeSpatialAttention),
        "gates": gates[0].num_gates if gates else 0,
        "aal": types.count(AttributeAuxiliaryLearning),
    }


# Hand-written: what each row of the paper's tables is made of (n = 8 attributes).
EXPECTED = {
    "baseline": {"pae": 0, "emb1": 0, "emb2": 0, "gates": 0, "aal": 0},
    "aal": {"pae": 0, "emb1": 0, "emb2": 0, "gates": 0, "aal": 1},
    "pae": {"pae": 1, "emb1": 1, "emb2": 1, "gates": 8, "aal": 0},
    "paenet": {"pae": 1, "emb1": 1, "emb2": 1, "gates": 8, "aal": 1},
    "emb1": {"pae": 1, "emb1": 1, "emb2": 0, "gates": 1, "aal": 1},
    "emb1+emb2": {"pae": 1, "emb1": 1, "emb2": 1, "gates": 1, "aal": 1},
}


def test_every_row_is_listed():
    assert set(ABLATION_ROWS) == set(EXPECTED)


@pytest.mark.parametrize("row", list(EXPECTED))
def test_row_module_graph(row: str):
    config = PAENetConfig.for_ablation(
        row, 5, backbone="resnet18", pretrained="none", d_model=32, num_heads=2, ffn_dim=32
    )
    assert config.ablation_row == row
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = PAENet(config)
    assert graph(model) == EXPECTED[row]
    assert (model.backbone_neck is None) == (not config.pae)


def test_defaults_are_the_full_model_and_unknown_rows_are_refused():
    assert PAENetConfig(num_classes=3).ablation_row == "paenet"
    assert PAENetConfig(num_classes=3, attribute_head=False).ablation_row == "paenet"
    assert PAENetConfig(num_classes=3, pae=False, aal=False, emb1=False).ablation_row == "baseline"
    with pytest.raises(ValueError, match="ablation row must be one of"):
        PAENetConfig.for_ablation("emb3", 3)


def test_all_embeddings_off_is_not_the_baseline():
    """pae=True with emb1=emb2=emb3=False keeps one attribute-conditioned gate."""
    config = PAENetConfig(num_classes=5, emb1=False, emb2=False, emb3=False)
    assert config.ablation_row is None
    model = tiny_model(emb1=False, emb2=False, emb3=False).eval()
    assert graph(model) == {"pae": 1, "emb1": 0, "emb2": 0, "gates": 1, "aal": 1}
    batch = pk_batch()
    with torch.no_grad():
        a = model.infer(batch.images, batch.modality, "gt", batch.attributes).retrieval
        b = model.infer(batch.images, batch.modality, "gt", 1 - batch.attributes.abs()).retrieval
    assert not torch.allclose(a, b)  # the retrieval feature still depends on attributes
    baseline = tiny_model(pae=False, aal=False).eval()
    with torch.no_grad():
        c = baseline.infer(batch.images, batch.modality, "gt", batch.attributes).retrieval
        d = baseline.infer(batch.images, batch.modality, "gt", 1 - batch.attributes.abs()).retrieval
    torch.testing.assert_close(c, d)


@pytest.mark.parametrize(("emb1", "emb2", "emb3"), list(itertools.product((False, True), repeat=3)))
def test_every_embedding_combination_builds_what_it_says(emb1: bool, emb2: bool, emb3: bool):
    model = tiny_model(emb1=emb1, emb2=emb2, emb3=emb3, aal=False)
    assert graph(model) == {
        "pae": 1,
        "emb1": int(emb1),
        "emb2": int(emb2),
        "gates": 8 if emb3 else 1,
        "aal": 0,
    }
    batch = pk_batch()
    out = model(batch.images, batch.modality, batch.attributes)
    assert out.attribute_logits is None and out.retrieval.shape == (8, 512)
