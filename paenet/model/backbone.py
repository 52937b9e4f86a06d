"""Two-stream ResNet: modality-specific early stages, shared later stages, last stride 1.

ImageNet weights come only from disk (the torch hub cache or a user-given file); this
module never downloads anything.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
from torch import Tensor, nn
from torchvision.models import ResNet, ResNet18_Weights, ResNet50_Weights, resnet18, resnet50

from paenet.data.records import Modality
from paenet.model.config import OUTPUT_STRIDE, STAGES

logger = logging.getLogger(__name__)


def modality_tensor(
    modalities: Iterable[Modality | str], device: torch.device | str | None = None
) -> Tensor:
    """The (B,) int64 ``modality`` tensor the model reads: ``Modality.model_index`` of each
    (visible = 0, infrared = 1). Accepts members or their string values."""
    return torch.tensor(
        [Modality(m).model_index for m in modalities], dtype=torch.long, device=device
    )


_FACTORIES: dict[str, tuple[Callable[..., ResNet], tuple[str, ...]]] = {
    # ImageNet weight URLs, most conventional first (V1 is what ReID baselines use).
    "resnet50": (
        resnet50,
        (ResNet50_Weights.IMAGENET1K_V1.url, ResNet50_Weights.IMAGENET1K_V2.url),
    ),
    "resnet18": (resnet18, (ResNet18_Weights.IMAGENET1K_V1.url,)),
}


class PretrainedWeightsNotFoundError(FileNotFoundError):
    """ImageNet weights were asked for but are not on this machine."""


def imagenet_weight_candidates(depth: str) -> list[Path]:
    """Where torchvision would have cached the ImageNet weights of ``depth``."""
    checkpoints = Path(torch.hub.get_dir()) / "checkpoints"
    return [checkpoints / url.rsplit("/", 1)[-1] for url in _FACTORIES[depth][1]]


def _how_to_provide(depth: str, verb: str = "pass its path") -> str:
    """The paenet-train command-line ways to give ``depth``'s weights (or to go without)."""
    return (
        f"{verb} with --set model.pretrained=/path/to/{depth}.pth, or train from "
        "random weights with --set model.pretrained=none"
    )


def _missing_weights_message(depth: str, candidates: list[Path]) -> str:
    urls = _FACTORIES[depth][1]
    return (
        f"ImageNet weights for {depth} not found; looked for "
        f"{', '.join(str(c) for c in candidates)}. This code never downloads. Either "
        f"copy the file (download {urls[0]} on a machine with internet access) into "
        f"{candidates[0].parent}/ (the torch hub checkpoints folder; TORCH_HOME moves "
        f"it), or {_how_to_provide(depth)}."
    )


def load_resnet_state(depth: str, pretrained: str) -> dict[str, Tensor] | None:
    """The torchvision state dict that ``pretrained`` names, or ``None`` for ``"none"``.

    Raises:
        PretrainedWeightsNotFoundError: ``"imagenet"`` without a cached file, or a path
            that does not exist; the message says how to provide the weights.
    """
    if pretrained == "none":
        return None
    if pretrained == "imagenet":
        candidates = imagenet_weight_candidates(depth)
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise PretrainedWeightsNotFoundError(_missing_weights_message(depth, candidates))
        path = found
    else:
        path = Path(pretrained).expanduser()
        if not path.is_file():
            how = _how_to_provide(depth, "give its right path")
            raise PretrainedWeightsNotFoundError(
                f"pretrained weights file {path} does not exist; it must be a torchvision "
                f"{depth} state dict (download {_FACTORIES[depth][1][0]} on a machine "
                f"with internet access). Either {how}, or use "
                "--set model.pretrained=imagenet to read it from "
                f"{imagenet_weight_candidates(depth)[0].parent}/ (TORCH_HOME moves it)."
            )
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ValueError(f"{path} does not hold a state dict")
    logger.info("loading %s weights from %s", depth, path)
    return state


def build_resnet(depth: str, pretrained: str) -> ResNet:
    """A torchvision ResNet with ``pretrained`` weights and last stride 1.

    Only the classifier (``fc``) may be missing from a given state dict; any other
    mismatch is an error.
    """
    if depth not in _FACTORIES:
        raise ValueError(f"backbone must be one of {tuple(_FACTORIES)}, got {depth!r}")
    net = _FACTORIES[depth][0](weights=None)
    state = load_resnet_state(depth, pretrained)
    if state is not None:
        result = net.load_state_dict(state, strict=False)
        bad = [k for k in result.missing_keys if not k.startswith("fc.")]
        if bad or result.unexpected_keys:
            raise ValueError(
                f"weights do not fit torchvision's {depth}: missing {bad[:5]}, "
                f"unexpected {result.unexpected_keys[:5]}"
            )
    # Last stride 1: the first block of layer4 keeps the resolution of layer3.
    for module in net.layer4[0].modules():
        if isinstance(module, nn.Conv2d) and module.stride == (2, 2):
            module.stride = (1, 1)
    return net


def resnet_stages(net: ResNet) -> list[nn.Module]:
    """The five stages named in ``STAGES`` (no average pooling, no classifier)."""
    stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
    return [stem, net.layer1, net.layer2, net.layer3, net.layer4]


class TwoStreamResNet(nn.Module):
    """ResNet whose first ``specific_stages`` stages exist once per modality.

    ``forward(images (B, 3, H, W), modality (B,))`` returns the shared feature map
    (B, C, H/16, W/16); ``modality`` holds ``Modality.model_index`` per image (0 =
    visible, 1 = infrared; see :func:`modality_tensor`) and may mix both in any order. Each stream only sees (and its batch norms only
    normalise) its own modality's images.
    """

    def __init__(self, depth: str = "resnet50", specific_stages: int = 1, pretrained: str = "none"):
        super().__init__()
        if not 0 <= specific_stages <= len(STAGES):
            raise ValueError(f"specific_stages must be in 0..{len(STAGES)}, got {specific_stages}")
        stages = resnet_stages(build_resnet(depth, pretrained))
        self.specific_stages = specific_stages
        self.visible = nn.Sequential(*stages[:specific_stages])
        self.infrared = copy.deepcopy(self.visible)
        self.shared = nn.Sequential(*stages[specific_stages:])
        self.out_channels: int = _channels(stages)

    def forward(self, images: Tensor, modality: Tensor) -> Tensor:
        check_images(images)
        if modality.shape != images.shape[:1]:
            raise ValueError(
                f"modality must have shape ({images.shape[0]},), got {tuple(modality.shape)}"
            )
        return self.shared(self._specific(images, modality))

    def _specific(self, images: Tensor, modality: Tensor) -> Tensor:
        if self.specific_stages == 0:
            return images
        visible, infrared = Modality.VISIBLE.model_index, Modality.INFRARED.model_index
        is_visible = modality == visible
        is_infrared = modality == infrared
        if not bool((is_visible | is_infrared).all()):
            raise ValueError(
                f"modality values must be {visible} (visible) or {infrared} (infrared), "
                f"the Modality.model_index of each image"
            )
        if bool(is_visible.all()):
            return self.visible(images)
        if bool(is_infrared.all()):
            return self.infrared(images)
        vis_idx = is_visible.nonzero().squeeze(1)
        ir_idx = is_infrared.nonzero().squeeze(1)
        out = torch.cat([self.visible(images[vis_idx]), self.infrared(images[ir_idx])])
        order = torch.cat([vis_idx, ir_idx])
        if bool((order == torch.arange(len(order), device=order.device)).all()):
            return out  # already in batch order (the usual [visible | infrared] layout)
        return out[torch.argsort(order)]


def _channels(stages: list[nn.Module]) -> int:
    last = stages[-1][-1]
    for name in ("bn3", "bn2"):  # Bottleneck ends in bn3, BasicBlock in bn2
        bn = getattr(last, name, None)
        if isinstance(bn, nn.BatchNorm2d):
            return bn.num_features
    raise TypeError(f"cannot tell the output channels of {type(last).__name__}")


def check_images(images: Tensor) -> None:
    """Images must be (B, 3, H, W) with H and W multiples of the output stride (16)."""
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"images must be (B, 3, H, W), got {tuple(images.shape)}")
    h, w = images.shape[-2:]
    if h % OUTPUT_STRIDE or w % OUTPUT_STRIDE:
        raise ValueError(
            f"image height and width must be multiples of {OUTPUT_STRIDE}, got {h}x{w}"
        )
