"""The PAENet configuration: one frozen dataclass, every ablation of the paper a flag.

Loss weights (including the paper's λ for the attribute loss) live beside the losses in
:class:`paenet.losses.LossConfig`; everything that changes the network's structure lives
here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from paenet.attributes import NUM_ATTRIBUTES

BackboneName = Literal["resnet50", "resnet18"]
AttributeSource = Literal["gt", "predicted", "none"]

BACKBONES: tuple[str, ...] = ("resnet50", "resnet18")
ATTRIBUTE_SOURCES: tuple[str, ...] = ("gt", "predicted", "none")
#: Names of the five ResNet stages, in order; ``modality_specific_stages`` counts from the left.
STAGES: tuple[str, ...] = ("stem", "layer1", "layer2", "layer3", "layer4")
#: Total stride of the backbone with last stride 1: input sides must be multiples of it.
OUTPUT_STRIDE: int = 16


@dataclass(frozen=True)
class PAENetConfig:
    """Structure of a PAENet (or of its baseline, with ``pae=False``).

    Attributes:
        num_classes: identities in the training set (size of the identity classifier).
        backbone: ``"resnet50"`` (the paper's) or ``"resnet18"`` (CPU runs and tests).
        pretrained: ``"imagenet"`` (torchvision weights from the local torch cache),
            ``"none"`` (random initialisation) or a path to a torchvision state dict.
        modality_specific_stages: how many of the stages ``STAGES`` have one copy per
            modality (0 = fully shared, 1 = the stem, the paper's setting, ... 5 = none shared).
        gem_p: GeM pooling exponent (fixed, not learned).
        num_attributes: attribute count n (the schema's by default).
        input_size: (height, width) the data pipeline feeds; multiples of 16. The network
            itself accepts any multiple of 16 (no shape depends on this value).
        pae: progressive attribute embedding on/off (off = the baseline identity path).
        aal: attribute-based auxiliary learning on/off (training-only loss branch).
        emb1, emb2, emb3: Embedding-I / II / III each on/off (only used when ``pae``).
            Emb-III off leaves one shared channel gate instead of one gate per attribute.
        attribute_head: the attribute-recognition head on the pooled backbone feature,
            which makes ``attribute_source="predicted"`` possible.
        d_model: width of the attention and embedding space of the PAE head.
        num_heads: attention heads in Embedding-I (must divide ``d_model``).
        ffn_dim: hidden width of Embedding-I's feed-forward network.
        aal_dim: width of the AAL attribute features f_atr,i.
        attribute_head_dim: hidden width of the attribute-recognition head.
        attention_dropout: dropout inside the attention (0 = deterministic).
    """

    num_classes: int
    backbone: BackboneName = "resnet50"
    pretrained: str = "imagenet"
    modality_specific_stages: int = 1
    gem_p: float = 3.0
    num_attributes: int = NUM_ATTRIBUTES
    input_size: tuple[int, int] = (288, 144)
    pae: bool = True
    aal: bool = True
    emb1: bool = True
    emb2: bool = True
    emb3: bool = True
    attribute_head: bool = True
    d_model: int = 256
    num_heads: int = 8
    ffn_dim: int = 1024
    aal_dim: int = 256
    attribute_head_dim: int = 512
    attention_dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {self.num_classes}")
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {BACKBONES}, got {self.backbone!r}")
        if not self.pretrained:
            raise ValueError("pretrained must be 'imagenet', 'none' or a path to a state dict")
        if not 0 <= self.modality_specific_stages <= len(STAGES):
            raise ValueError(
                f"modality_specific_stages must be in 0..{len(STAGES)} "
                f"(stages {', '.join(STAGES)}), got {self.modality_specific_stages}"
            )
        if self.gem_p <= 0:
            raise ValueError(f"gem_p must be > 0, got {self.gem_p}")
        if self.num_attributes < 1:
            raise ValueError(f"num_attributes must be >= 1, got {self.num_attributes}")
        h, w = self.input_size
        if h <= 0 or w <= 0 or h % OUTPUT_STRIDE or w % OUTPUT_STRIDE:
            raise ValueError(
                f"input_size must be positive multiples of {OUTPUT_STRIDE}, got {self.input_size}"
            )
        for name in ("d_model", "num_heads", "ffn_dim", "aal_dim", "attribute_head_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.d_model % self.num_heads:
            raise ValueError(
                f"d_model ({self.d_model}) must be divisible by num_heads ({self.num_heads})"
            )
        if not 0.0 <= self.attention_dropout < 1.0:
            raise ValueError(f"attention_dropout must be in [0, 1), got {self.attention_dropout}")

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form, for saving the resolved config next to a run."""
        out = asdict(self)
        out["input_size"] = list(self.input_size)
        return out
