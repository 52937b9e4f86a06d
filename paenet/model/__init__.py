"""PAENet: two-stream ResNet, the PAE head, AAL, the attribute head, the identity neck."""

from paenet.model.attribute_heads import AttributeAuxiliaryLearning, AttributeRecognitionHead
from paenet.model.backbone import (
    INFRARED,
    VISIBLE,
    PretrainedWeightsNotFoundError,
    TwoStreamResNet,
)
from paenet.model.config import ATTRIBUTE_SOURCES, STAGES, AttributeSource, PAENetConfig
from paenet.model.output import PAENetOutput
from paenet.model.pae import PAEHead, PAEResult
from paenet.model.paenet import PAENet
from paenet.model.pooling import BNNeck, GeM

__all__ = [
    "ATTRIBUTE_SOURCES",
    "INFRARED",
    "STAGES",
    "VISIBLE",
    "AttributeAuxiliaryLearning",
    "AttributeRecognitionHead",
    "AttributeSource",
    "BNNeck",
    "GeM",
    "PAEHead",
    "PAENet",
    "PAENetConfig",
    "PAENetOutput",
    "PAEResult",
    "PretrainedWeightsNotFoundError",
    "TwoStreamResNet",
]
