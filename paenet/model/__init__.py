"""PAENet: two-stream ResNet, the PAE head, AAL, the attribute head, the identity neck."""

from paenet.model.attribute_heads import AttributeAuxiliaryLearning, AttributeRecognitionHead
from paenet.model.backbone import (
    PretrainedWeightsNotFoundError,
    TwoStreamResNet,
    modality_tensor,
)
from paenet.model.config import (
    AAL_GATES,
    ABLATION_ROWS,
    ATTRIBUTE_SOURCE_ALIASES,
    ATTRIBUTE_SOURCES,
    STAGES,
    AALGates,
    AttributeSource,
    PAENetConfig,
    resolve_attribute_source,
)
from paenet.model.diagnostics import LeakReport, aal_leak, aal_leak_on_maps
from paenet.model.output import Inference, PAENetOutput
from paenet.model.pae import PAEHead, PAEResult
from paenet.model.paenet import PAENet
from paenet.model.pooling import BNNeck, GeM

__all__ = [
    "AAL_GATES",
    "ABLATION_ROWS",
    "ATTRIBUTE_SOURCES",
    "ATTRIBUTE_SOURCE_ALIASES",
    "STAGES",
    "AALGates",
    "AttributeAuxiliaryLearning",
    "AttributeRecognitionHead",
    "AttributeSource",
    "BNNeck",
    "GeM",
    "Inference",
    "LeakReport",
    "PAEHead",
    "PAENet",
    "PAENetConfig",
    "PAENetOutput",
    "PAEResult",
    "PretrainedWeightsNotFoundError",
    "TwoStreamResNet",
    "aal_leak",
    "aal_leak_on_maps",
    "modality_tensor",
    "resolve_attribute_source",
]
