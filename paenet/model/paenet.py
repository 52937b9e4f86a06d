"""PAENet: two-stream backbone, PAE head, AAL, attribute head and identity neck in one model.

Without PAE (``config.pae=False``) this is the MMD-ReID baseline: two-stream ResNet,
GeM, BN neck, identity classifier.
"""

from __future__ import annotations

import logging

import torch
from torch import Tensor, nn

from paenet.attributes import LabelValue
from paenet.model.attribute_heads import AttributeAuxiliaryLearning, AttributeRecognitionHead
from paenet.model.backbone import TwoStreamResNet
from paenet.model.config import AttributeSource, PAENetConfig, resolve_attribute_source
from paenet.model.output import Inference, PAENetOutput
from paenet.model.pae import PAEHead
from paenet.model.pooling import BNNeck, GeM

logger = logging.getLogger(__name__)


class PAENet(nn.Module):
    """The model. ``forward`` always returns a :class:`PAENetOutput`.

    Inputs everywhere: ``images`` (B, 3, H, W), H and W multiples of 16; ``modality``
    (B,) int64 holding ``Modality.model_index`` per image (0 = visible, 1 = infrared;
    :func:`paenet.model.modality_tensor` builds it from ``Modality`` values);
    ``attributes`` (B, n) with 0/1 labels, -1 for unknown (``LabelValue``), or
    probabilities in [0, 1].

    ``forward`` = backbone + :meth:`forward_head`, which works on a backbone feature map
    (B, C, h, w) and is what diagnostics run on synthetic maps.

    Parameter initialisation draws from torch's global generator (as every torch
    module does): seed it, e.g. ``torch.manual_seed``, before building for a repeatable
    model.
    """

    def __init__(self, config: PAENetConfig):
        super().__init__()
        self.config = config
        self.backbone = TwoStreamResNet(
            config.backbone, config.modality_specific_stages, config.pretrained
        )
        channels = self.backbone.out_channels
        self.pool = GeM(config.gem_p)
        self.pae: PAEHead | None = None
        if config.pae:
            self.pae = PAEHead(
                channels,
                config.num_attributes,
                d_model=config.d_model,
                num_heads=config.num_heads,
                ffn_dim=config.ffn_dim,
                emb1=config.emb1,
                emb2=config.emb2,
                emb3=config.emb3,
                attention_dropout=config.attention_dropout,
            )
        self.aal = (
            AttributeAuxiliaryLearning(channels, config.num_attributes, config.aal_dim)
            if config.aal
            else None
        )
        self.attribute_head = (
            AttributeRecognitionHead(
                channels,
                config.num_attributes,
                config.attribute_head_dim,
                normalize_input=config.attribute_head_norm,
            )
            if config.attribute_head
            else None
        )
        self.neck = BNNeck(channels)
        self.classifier = nn.Linear(channels, config.num_classes, bias=False)
        nn.init.normal_(self.classifier.weight, std=0.001)
        # Running statistics only (no parameters): normalises f^m for attribute_source
        # "backbone" when the identity path runs through PAE. Not trained for retrieval.
        self.backbone_neck = nn.BatchNorm1d(channels, affine=False) if config.pae else None
        self.feature_dim: int = channels

    # ------------------------------------------------------------------ training path
    def forward(
        self, images: Tensor, modality: Tensor, attributes: Tensor | None = None
    ) -> PAENetOutput:
        """Everything the losses need.

        With PAE, ``attributes`` are the ground-truth labels fed to the head (the
        paper's training); ``None`` feeds the attribute head's detached probabilities
        instead (the attribute losses then still need labels: see
        :func:`paenet.losses.paenet_losses`). Without PAE, ``attributes`` are ignored.
        """
        return self.forward_head(self.backbone(images, modality), attributes)

    def forward_head(self, feature_map: Tensor, attributes: Tensor | None = None) -> PAENetOutput:
        """Everything after the backbone, from its feature map (B, C, h, w)."""
        f_m = self.pool(feature_map)
        predicted = self.attribute_head(f_m) if self.attribute_head is not None else None
        gates = None
        if self.pae is not None:
            values = self._attribute_values(attributes, predicted, feature_map.shape[0])
            result = self.pae(feature_map, values)
            gates = result.gates
            pooled = self.pool(result.identity_map)
        else:
            pooled = f_m
        retrieval = self.neck(pooled)
        backbone_retrieval = retrieval
        if self.backbone_neck is not None:
            backbone_retrieval = self.backbone_neck(f_m.detach())
        return PAENetOutput(
            retrieval=retrieval,
            pooled=pooled,
            identity_logits=self.classifier(retrieval),
            backbone_pooled=f_m,
            backbone_retrieval=backbone_retrieval,
            attribute_logits=self._aal_logits(feature_map, f_m, gates),
            predicted_attribute_logits=predicted,
            feature_map=feature_map,
        )

    def _aal_logits(self, feature_map: Tensor, f_m: Tensor, gates: Tensor | None) -> Tensor | None:
        if self.aal is None:
            return None
        if self.pae is not None and self.config.aal_gates == "label_free":
            unknown = torch.full(
                (feature_map.shape[0], self.config.num_attributes),
                float(LabelValue.UNKNOWN),
                device=feature_map.device,
            )
            gates = self.pae.gates(feature_map, unknown)
        return self.aal(f_m, gates)

    # ---------------------------------------------------------------- evaluation path
    def infer(
        self,
        images: Tensor,
        modality: Tensor,
        attribute_source: AttributeSource = "predicted",
        attributes: Tensor | None = None,
    ) -> Inference:
        """The retrieval feature and the attribute head's logits, computing only what they
        need (no AAL, no identity logits): the one way evaluation, validation and
        ``paenet-predict`` read the model.

        ``attribute_source``: ``"gt"`` feeds ``attributes`` (required; the paper's
        protocol), ``"predicted"`` feeds the attribute head's probabilities (needs
        ``config.attribute_head``), ``"backbone"`` (alias ``"none"``) ignores attributes
        and returns the pooled backbone feature through a statistics-only batch norm: with
        PAE this feature is not what the model trained for retrieval, so it is a
        diagnostic, not the baseline (the baseline is a model built with ``pae=False``).
        A model without PAE has only its one path and returns it for every source. Call
        under ``torch.no_grad()``/``inference_mode()`` and ``eval()`` for evaluation.
        """
        source = resolve_attribute_source(attribute_source)
        feature_map = self.backbone(images, modality)
        f_m = self.pool(feature_map)
        logits = self.attribute_head(f_m) if self.attribute_head is not None else None
        if self.pae is None:
            return Inference(self.neck(f_m), logits)
        if source == "backbone":
            assert self.backbone_neck is not None
            return Inference(self.backbone_neck(f_m), logits)
        if source == "gt":
            if attributes is None:
                raise ValueError("attribute_source='gt' needs the attributes tensor")
            values = attributes
        else:
            if logits is None:
                raise ValueError(
                    "attribute_source='predicted' needs a model built with attribute_head=True"
                )
            values = torch.sigmoid(logits)
        return Inference(self.neck(self.pool(self.pae(feature_map, values).identity_map)), logits)

    def _attribute_values(
        self, attributes: Tensor | None, predicted: Tensor | None, batch: int
    ) -> Tensor:
        if attributes is not None:
            if attributes.shape != (batch, self.config.num_attributes):
                raise ValueError(
                    f"attributes must be ({batch}, {self.config.num_attributes}), "
                    f"got {tuple(attributes.shape)}"
                )
            return attributes
        if predicted is None:
            raise ValueError(
                "PAE needs attributes: pass them, or build the model with attribute_head=True"
            )
        return torch.sigmoid(predicted).detach()

    # ---------------------------------------------------------------- optimiser groups
    def backbone_parameters(self) -> list[nn.Parameter]:
        """ImageNet-initialised parameters (the paper trains them at 0.1× the base lr)."""
        return [p for p in self.backbone.parameters() if p.requires_grad]

    def new_parameters(self) -> list[nn.Parameter]:
        """Every trainable parameter outside the backbone (trained at the base lr)."""
        backbone = {id(p) for p in self.backbone.parameters()}
        return [p for p in self.parameters() if p.requires_grad and id(p) not in backbone]
