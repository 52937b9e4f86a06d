"""The PAENet configuration: frozen dataclasses, every ablation of the paper a flag.

Loss weights (including the paper's λ for the attribute loss) live beside the losses in
:class:`paenet.losses.LossConfig`; everything that changes the network's structure lives
here. The input image size is the data pipeline's setting, not the network's: the
network takes any height and width that are multiples of 16.

**The paper's ablation rows** (:data:`ABLATION_ROWS`, checked module by module in
``tests/model/test_ablations.py``). Flags not named keep their defaults
(``attribute_head=True`` adds the recognition head in every row; it is ours, not the
paper's, and switching it off does not change which row a config is).

=====================  ==========================================  =========================
row                    flags                                       paper
=====================  ==========================================  =========================
``baseline``           ``pae=False, aal=False``                    Table 3 row 1 (MMD-ReID)
``aal``                ``pae=False, aal=True``                     Table 3, +AAL only: AAL
                                                                   on the ungated f^m
``pae``                ``pae=True, aal=False``                     Table 3, +PAE only
``paenet``             ``pae=True, aal=True`` (the defaults)       Table 3 full / Table 5
                                                                   Emb-I + II + III
``emb1``               ``pae=True, aal=True, emb2=False,           Table 5, Emb-I
                       emb3=False``
``emb1+emb2``          ``pae=True, aal=True, emb3=False``          Table 5, Emb-I + Emb-II
=====================  ==========================================  =========================

Table 5's rows without an embedding is the ``baseline`` row (``pae=False``), **not**
``emb1=emb2=emb3=False``: with PAE on, at least one attribute-conditioned channel gate
always remains (Embedding-III off leaves one gate shared by all attributes, computed
from f_a and the pooled image tokens), so ``pae=True, emb1=emb2=emb3=False`` is an
"attribute gate only" model that is no row of the paper. Our reading of Table 5 keeps
AAL on in its rows (the progressive rows add embeddings to the full training); a
study that reads the table otherwise sets ``aal=False`` in them.

**The AAL label leak** (``aal_gates``). The channel gates take f_a, the projection of
the attributes fed to PAE, as input, and AAL classifies attributes from the gated
features: with ``aal_gates="fed"`` (the paper's design, the default) AAL can score by
reading back the labels it was fed rather than what the image shows.
``aal_gates="label_free"`` computes AAL's gates from a second pass of the PAE head with
every attribute unknown (the learned "unknown" embeddings: no label information), so
AAL's score can only come from the image; the identity path still uses the fed
attributes. :func:`paenet.model.diagnostics.aal_leak` measures the leak.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from types import MappingProxyType
from typing import Any, Literal

from paenet.attributes import NUM_ATTRIBUTES

BackboneName = Literal["resnet50", "resnet18"]
AttributeSource = Literal["gt", "predicted", "backbone", "none"]
"""Which attributes the retrieval feature is computed from at test time: ``gt`` (the
labels; the paper's protocol), ``predicted`` (the recognition head's probabilities; what
a deployment can use) or ``backbone`` (no attributes: the pooled backbone feature
through a statistics-only batch norm; not trained for retrieval when PAE is on, and not
the baseline model). ``none`` is an accepted alias of ``backbone``."""
AALGates = Literal["fed", "label_free"]

BACKBONES: tuple[str, ...] = ("resnet50", "resnet18")
#: Canonical attribute sources (aliases in :data:`ATTRIBUTE_SOURCE_ALIASES`).
ATTRIBUTE_SOURCES: tuple[str, ...] = ("gt", "predicted", "backbone")
ATTRIBUTE_SOURCE_ALIASES: Mapping[str, str] = MappingProxyType({"none": "backbone"})
AAL_GATES: tuple[str, ...] = ("fed", "label_free")
#: Names of the five ResNet stages, in order; ``modality_specific_stages`` counts from the left.
STAGES: tuple[str, ...] = ("stem", "layer1", "layer2", "layer3", "layer4")
#: Total stride of the backbone with last stride 1: input sides must be multiples of it.
OUTPUT_STRIDE: int = 16

#: The paper's ablation rows as config flags (see the module docstring for the table).
ABLATION_ROWS: Mapping[str, Mapping[str, bool]] = MappingProxyType(
    {
        "baseline": MappingProxyType({"pae": False, "aal": False}),
        "aal": MappingProxyType({"pae": False, "aal": True}),
        "pae": MappingProxyType({"pae": True, "aal": False}),
        "paenet": MappingProxyType({"pae": True, "aal": True}),
        "emb1": MappingProxyType({"pae": True, "aal": True, "emb2": False, "emb3": False}),
        "emb1+emb2": MappingProxyType({"pae": True, "aal": True, "emb3": False}),
    }
)


def resolve_attribute_source(source: str) -> str:
    """The canonical name of ``source`` (``none`` -> ``backbone``); a clear error if unknown."""
    canonical = ATTRIBUTE_SOURCE_ALIASES.get(source, source)
    if canonical not in ATTRIBUTE_SOURCES:
        raise ValueError(
            f"attribute_source must be one of {ATTRIBUTE_SOURCES} "
            f"(or the alias 'none' for 'backbone'), got {source!r}"
        )
    return canonical


@dataclass(frozen=True)
class PAENetStructure:
    """A PAENet's structure: everything in its config except the two counts the training
    set gives (:class:`PAENetConfig` adds ``num_classes`` and ``num_attributes``). The one
    definition of these fields, their defaults and their checks: the trainer's ``model``
    section (:class:`paenet.train.config.ModelConfig`) inherits it too. What each part
    computes: ``docs/model.md``.

    Attributes:
        backbone: ``"resnet50"`` (the paper's) or ``"resnet18"`` (CPU runs and tests).
        pretrained: ``"imagenet"`` (torchvision weights from the local torch cache),
            ``"none"`` (random initialisation) or a path to a torchvision state dict.
        modality_specific_stages: how many of the stages ``STAGES`` have one copy per
            modality (0 = fully shared, 1 = the stem, the paper's setting, ... 5 = none shared).
        gem_p: GeM pooling exponent (fixed, not learned).
        pae: progressive attribute embedding on/off (off = the baseline identity path).
        aal: attribute-based auxiliary learning on/off (training-only loss branch).
        aal_gates: which gates AAL reads when ``pae``: ``"fed"`` (the paper's: the gates
            of the attributes fed to PAE, which leaks those labels into AAL's score) or
            ``"label_free"`` (gates of a head pass with every attribute unknown). See the
            module docstring.
        emb1, emb2, emb3: Embedding-I / II / III each on/off (only used when ``pae``).
            Emb-III off leaves one shared channel gate instead of one gate per attribute;
            all three off is not the baseline (see :data:`ABLATION_ROWS`).
        attribute_head: the attribute-recognition head on the pooled backbone feature,
            which makes ``attribute_source="predicted"`` possible.
        d_model: width of the attention and embedding space of the PAE head.
        num_heads: attention heads in Embedding-I (must divide ``d_model``).
        ffn_dim: hidden width of Embedding-I's feed-forward network.
        aal_dim: width of the AAL attribute features f_atr,i.
        attribute_head_dim: hidden width of the attribute-recognition head.
        attribute_head_norm: the head first normalises f^m per channel over the batch
            (a batch norm without affine parameters). Without it the head reads f^m raw,
            whose per-image variation can be a few percent of its shared mean, and then
            predicts one constant per attribute (``docs/training.md``, diagnosis).
            Checkpoints written before this option load with ``False``.
        attention_dropout: dropout inside the attention (0 = deterministic).
    """

    backbone: BackboneName = "resnet50"
    pretrained: str = "imagenet"
    modality_specific_stages: int = 1
    gem_p: float = 3.0
    pae: bool = True
    aal: bool = True
    aal_gates: AALGates = "fed"
    emb1: bool = True
    emb2: bool = True
    emb3: bool = True
    attribute_head: bool = True
    d_model: int = 256
    num_heads: int = 8
    ffn_dim: int = 1024
    aal_dim: int = 256
    attribute_head_dim: int = 512
    attribute_head_norm: bool = True
    attention_dropout: float = 0.0

    def __post_init__(self) -> None:
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
        if self.aal_gates not in AAL_GATES:
            raise ValueError(f"aal_gates must be one of {AAL_GATES}, got {self.aal_gates!r}")
        for name in ("d_model", "num_heads", "ffn_dim", "aal_dim", "attribute_head_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.d_model % self.num_heads:
            raise ValueError(
                f"d_model ({self.d_model}) must be divisible by num_heads ({self.num_heads})"
            )
        if not 0.0 <= self.attention_dropout < 1.0:
            raise ValueError(f"attention_dropout must be in [0, 1), got {self.attention_dropout}")


@dataclass(frozen=True)
class PAENetConfig(PAENetStructure):
    """Structure of a PAENet (or of its baseline, with ``pae=False``): the fields of
    :class:`PAENetStructure` and the two counts below.

    Attributes:
        num_classes: identities in the training set (size of the identity classifier);
            required, by keyword.
        num_attributes: attribute count n (the schema's by default).
    """

    num_classes: int = field(kw_only=True)
    num_attributes: int = NUM_ATTRIBUTES

    def __post_init__(self) -> None:
        if self.num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {self.num_classes}")
        super().__post_init__()
        if self.num_attributes < 1:
            raise ValueError(f"num_attributes must be >= 1, got {self.num_attributes}")

    @classmethod
    def for_ablation(cls, row: str, num_classes: int, **overrides: Any) -> PAENetConfig:
        """The config of one of the paper's ablation rows (:data:`ABLATION_ROWS`)."""
        if row not in ABLATION_ROWS:
            raise ValueError(f"ablation row must be one of {tuple(ABLATION_ROWS)}, got {row!r}")
        return cls(num_classes=num_classes, **{**ABLATION_ROWS[row], **overrides})

    @property
    def ablation_row(self) -> str | None:
        """The ablation row this config is, or ``None`` if it is none of the paper's."""
        for row, flags in ABLATION_ROWS.items():
            full = {"pae": True, "aal": True, "emb1": True, "emb2": True, "emb3": True}
            full.update(flags)
            if not full["pae"]:  # the embedding flags mean nothing without PAE
                full.update(emb1=self.emb1, emb2=self.emb2, emb3=self.emb3)
            if all(getattr(self, k) == v for k, v in full.items()):
                return row
        return None

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form, for saving the resolved config next to a run (a checkpoint's
        ``model_config``). The keys keep the order checkpoints have always had:
        ``num_classes`` first, ``num_attributes`` right after ``gem_p``."""
        values = asdict(self)
        order = ["num_classes", *(f.name for f in fields(PAENetStructure))]
        order.insert(order.index("gem_p") + 1, "num_attributes")
        return {name: values[name] for name in order}
