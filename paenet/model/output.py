"""The one typed structure that :meth:`PAENet.forward` returns."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor


@dataclass(frozen=True, eq=False)
class PAENetOutput:
    """Everything the losses and the trainer need from one forward pass.

    B images, C backbone channels, n attributes. Optional fields are ``None`` exactly
    when the config switches the producing module off, never depending on the mode.

    Attributes:
        retrieval: (B, C) the retrieval feature: the BN-neck output of the identity
            feature (f_id with PAE, the pooled backbone feature without).
        pooled: (B, C) the identity feature before the neck (triplet and MMD use it).
        identity_logits: (B, num_classes).
        backbone_pooled: (B, C) f^m, GeM of the backbone map (AAL and the attribute
            head use it).
        backbone_retrieval: (B, C) f^m through a statistics-only batch norm
            (``attribute_source="backbone"``): ignores attributes, and with PAE is not
            trained for retrieval (not the baseline model); ``retrieval`` itself without
            PAE.
        attribute_logits: (B, n) AAL's logits, or ``None`` without AAL (training only:
            computed from gates that, by default, saw the fed attributes).
        predicted_attribute_logits: (B, n) the recognition head's logits, or ``None``
            without the head.
        feature_map: (B, C, h, w) the backbone's output map that every head read
            (:meth:`PAENet.forward` fills it; the trainer's instruments measure each loss
            term's gradient there). ``None`` when the output was built without it.
    """

    retrieval: Tensor
    pooled: Tensor
    identity_logits: Tensor
    backbone_pooled: Tensor
    backbone_retrieval: Tensor
    attribute_logits: Tensor | None
    predicted_attribute_logits: Tensor | None
    feature_map: Tensor | None = None


@dataclass(frozen=True, eq=False)
class Inference:
    """What :meth:`PAENet.infer` returns for B images.

    Attributes:
        retrieval: (B, C) the retrieval feature of the chosen attribute source.
        attribute_logits: (B, n) the attribute-recognition head's logits, or ``None``
            without the head.
    """

    retrieval: Tensor
    attribute_logits: Tensor | None
