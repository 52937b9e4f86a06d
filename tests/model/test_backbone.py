"""Two-stream ResNet: shapes, modality routing, last stride, weight loading (offline)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torchvision.models import resnet18

from paenet.data.records import Modality
from paenet.model import STAGES, PretrainedWeightsNotFoundError, TwoStreamResNet
from paenet.model.backbone import build_resnet, imagenet_weight_candidates, modality_tensor

VISIBLE = Modality.VISIBLE.model_index
INFRARED = Modality.INFRARED.model_index


@pytest.mark.parametrize(
    ("depth", "channels", "size"),
    [("resnet18", 512, (64, 32)), ("resnet18", 512, (96, 48)), ("resnet50", 2048, (64, 32))],
)
def test_feature_map_shape_is_input_over_16(depth: str, channels: int, size: tuple[int, int]):
    net = TwoStreamResNet(depth, specific_stages=1, pretrained="none").eval()
    images = torch.randn(3, 3, *size)
    with torch.no_grad():
        fmap = net(images, torch.tensor([VISIBLE, INFRARED, VISIBLE]))
    assert net.out_channels == channels
    assert fmap.shape == (3, channels, size[0] // 16, size[1] // 16)
    assert fmap.dtype == torch.float32


def test_last_stride_is_one():
    net = build_resnet("resnet18", "none")
    strides = [m.stride for m in net.layer4[0].modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(s == (1, 1) for s in strides)


@pytest.mark.parametrize("specific", range(len(STAGES) + 1))
def test_specific_stage_count(specific: int):
    net = TwoStreamResNet("resnet18", specific_stages=specific)
    assert len(net.visible) == specific
    assert len(net.infrared) == specific
    assert len(net.shared) == len(STAGES) - specific
    shared_ids = {id(p) for p in net.shared.parameters()}
    assert not shared_ids & {id(p) for p in net.visible.parameters()}
    assert not {id(p) for p in net.visible.parameters()} & {
        id(p) for p in net.infrared.parameters()
    }


def test_each_image_goes_through_its_own_stream_in_any_order():
    torch.manual_seed(0)
    net = TwoStreamResNet("resnet18", specific_stages=2).eval()
    with torch.no_grad():  # make the streams differ
        for p in net.infrared.parameters():
            p.add_(0.05 * torch.randn_like(p))
    images = torch.randn(4, 3, 64, 32)
    modality = torch.tensor([INFRARED, VISIBLE, INFRARED, VISIBLE])
    with torch.no_grad():
        mixed = net(images, modality)
        alone_v = net(images[[1, 3]], torch.tensor([VISIBLE, VISIBLE]))
        alone_t = net(images[[0, 2]], torch.tensor([INFRARED, INFRARED]))
        as_visible = net(images[[0]], torch.tensor([VISIBLE]))
    torch.testing.assert_close(mixed[[1, 3]], alone_v)
    torch.testing.assert_close(mixed[[0, 2]], alone_t)
    assert not torch.allclose(mixed[[0]], as_visible)


def test_bad_inputs_raise_clear_errors():
    net = TwoStreamResNet("resnet18")
    with pytest.raises(ValueError, match="multiples of 16"):
        net(torch.randn(2, 3, 60, 32), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="modality must have shape"):
        net(torch.randn(2, 3, 64, 32), torch.tensor([0, 1, 1]))
    with pytest.raises(ValueError, match="modality values"):
        net(torch.randn(2, 3, 64, 32), torch.tensor([0, 2]))


@pytest.mark.parametrize(
    ("depth", "url"),
    [
        ("resnet50", "https://download.pytorch.org/models/resnet50-0676ba61.pth"),
        ("resnet18", "https://download.pytorch.org/models/resnet18-f37072fd.pth"),
    ],
)
def test_missing_imagenet_weights_explain_how_to_provide_them(tmp_path, monkeypatch, depth, url):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(PretrainedWeightsNotFoundError) as err:
        build_resnet(depth, "imagenet")
    message = str(err.value)
    # Where it looked (the torch hub checkpoints folder under TORCH_HOME) and what to fetch.
    assert str(tmp_path / "hub" / "checkpoints") in message
    assert url.rsplit("/", 1)[-1] in message
    assert url in message
    assert "never downloads" in message
    assert "TORCH_HOME" in message
    # The paenet-train command-line forms, not Python keyword arguments.
    assert f"--set model.pretrained=/path/to/{depth}.pth" in message
    assert "--set model.pretrained=none" in message
    assert "pretrained='" not in message


def test_missing_weights_path_says_how_to_give_one(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(PretrainedWeightsNotFoundError, match="does not exist") as err:
        build_resnet("resnet18", str(tmp_path / "missing.pth"))
    message = str(err.value)
    assert str(tmp_path / "missing.pth") in message
    assert "--set model.pretrained=/path/to/resnet18.pth" in message
    assert "--set model.pretrained=none" in message
    assert "https://download.pytorch.org/models/resnet18-f37072fd.pth" in message
    assert "pretrained='" not in message


def _reference_state(path: Path) -> dict[str, torch.Tensor]:
    torch.manual_seed(1)
    state = resnet18(weights=None).state_dict()
    torch.save(state, path)
    return state


def test_weights_load_from_a_path_and_from_the_torch_cache(tmp_path, monkeypatch):
    state = _reference_state(tmp_path / "mine.pth")
    net = build_resnet("resnet18", str(tmp_path / "mine.pth"))
    torch.testing.assert_close(net.conv1.weight, state["conv1.weight"])
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "home"))
    cached = imagenet_weight_candidates("resnet18")[0]
    cached.parent.mkdir(parents=True)
    (tmp_path / "mine.pth").rename(cached)
    two = TwoStreamResNet("resnet18", specific_stages=1, pretrained="imagenet")
    torch.testing.assert_close(two.visible[0][0].weight, state["conv1.weight"])
    torch.testing.assert_close(two.infrared[0][0].weight, state["conv1.weight"])
    torch.testing.assert_close(two.shared[-1][-1].bn2.weight, state["layer4.1.bn2.weight"])


def test_foreign_state_dict_is_rejected(tmp_path):
    torch.save({"not.a.resnet": torch.zeros(1)}, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match="do not fit"):
        build_resnet("resnet18", str(tmp_path / "bad.pth"))


def test_nothing_is_ever_downloaded(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(PretrainedWeightsNotFoundError):
        TwoStreamResNet("resnet18", pretrained="imagenet")
    TwoStreamResNet("resnet18", pretrained="none")


def test_modality_mapping_is_the_one_the_backbone_routes_by():
    assert (Modality.VISIBLE.model_index, Modality.INFRARED.model_index) == (0, 1)
    for m in Modality:
        assert Modality.from_model_index(m.model_index) is m
    with pytest.raises(ValueError, match="modality index must be one of"):
        Modality.from_model_index(2)
    codes = modality_tensor([Modality.INFRARED, "visible", Modality.VISIBLE])
    assert codes.dtype == torch.long and codes.tolist() == [1, 0, 0]
    torch.manual_seed(0)
    net = TwoStreamResNet("resnet18", specific_stages=1).eval()
    with torch.no_grad():
        for p in net.infrared.parameters():
            p.add_(0.05 * torch.randn_like(p))
        images = torch.randn(3, 3, 64, 32)
        mixed = net(images, codes)
        close = {"rtol": 1e-3, "atol": 1e-4}  # batch size changes the conv kernels' rounding
        torch.testing.assert_close(mixed[1:], net.shared(net.visible(images[1:])), **close)
        torch.testing.assert_close(mixed[:1], net.shared(net.infrared(images[:1])), **close)
        assert not torch.allclose(mixed[:1], net.shared(net.visible(images[:1])), **close)
