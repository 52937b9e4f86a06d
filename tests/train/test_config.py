"""Configuration: presets, precedence preset < YAML < --set, errors that list valid keys."""

from __future__ import annotations

from dataclasses import fields

import pytest
import yaml

from paenet.model import PAENetConfig
from paenet.train.config import ConfigError, ModelConfig, RunConfig, to_dict, valid_keys
from paenet.train.presets import PRESETS, preset_config, resolve


def test_paper_preset_is_the_papers_recipe():
    c = resolve()
    assert c.preset == "paper"
    assert c.data.input_size == (288, 144) and c.data.pad == 10 and c.data.flip
    assert (c.data.num_ids, c.data.per_modality) == (8, 4)
    o = c.optim
    assert (o.lr, o.momentum, o.nesterov, o.weight_decay) == (0.1, 0.9, True, 5e-4)
    assert (o.warmup_epochs, o.milestones, o.gamma, o.epochs) == (10, (30, 50), 0.1, 80)
    assert o.backbone_lr_mult == 0.1
    assert c.model.backbone == "resnet50" and c.model.pretrained == "imagenet"
    assert not c.loss.attribute_head_to_backbone and c.loss.pae_feed == "gt"


def test_official_code_and_smoke_differ_where_documented():
    official = preset_config("official-code")
    assert official.optim.milestones == (20, 50) and official.optim.epochs == 61
    assert to_dict(official)["data"] == to_dict(RunConfig())["data"]
    smoke = preset_config("smoke")
    assert smoke.model.backbone == "resnet18" and smoke.model.pretrained == "none"
    assert smoke.optim.epochs == 1 and smoke.data.batches_per_epoch == 4
    assert smoke.optim.backbone_lr_mult == 1.0  # random init: no reduced backbone rate
    # random init: the collapse-proof metric feature, batch MMD bandwidth, balanced BCE
    assert (smoke.optim.optimizer, smoke.optim.schedule, smoke.optim.lr) == (
        "adamw",
        "cosine",
        1e-3,
    )
    loss = smoke.loss
    assert (loss.metric_feature, loss.mmd_bandwidth) == ("neck_normalized", "batch")
    assert loss.attribute_balance and loss.attribute_head_to_backbone
    assert loss.label_smoothing == 0.1 and loss.predicted_attribute_weight == 2.0
    assert (loss.pae_feed, loss.mix_start, loss.mix_end) == ("mix", 0.0, 1.0)
    # the paper's recipe stays the default
    paper = RunConfig()
    assert (paper.optim.optimizer, paper.optim.schedule) == ("sgd", "step")
    assert (paper.loss.metric_feature, paper.loss.mmd_bandwidth) == ("pooled", "identity")
    assert not paper.loss.attribute_balance and paper.loss.metric_start == 0.0
    assert paper.loss.label_smoothing == 0.0 and paper.model.attribute_head_norm
    assert set(PRESETS) == {"paper", "official-code", "smoke"}


def test_precedence_preset_then_yaml_then_set(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"optim": {"lr": 0.05, "epochs": 3}, "data": {"pad": 2}}))
    c = resolve("smoke", path, ["optim.lr=0.2", "data.input_size=[64, 32]"])
    assert c.optim.lr == 0.2  # --set beats the file
    assert c.optim.epochs == 3 and c.data.pad == 2  # the file beats the preset
    assert c.model.backbone == "resnet18"  # the preset beats the defaults
    assert c.data.input_size == (64, 32)
    # The file's own preset is used when --preset is absent.
    path.write_text(yaml.safe_dump({"preset": "official-code"}))
    assert resolve(None, path).optim.epochs == 61


def test_resolved_config_round_trips_through_yaml(tmp_path):
    c = resolve("smoke", None, ["loss.pae_feed=mix", "data.trial=3", "runtime.threads=1"])
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(to_dict(c)))
    assert resolve(None, path) == c


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["optim.learning_rate=0.1"], "unknown configuration key 'optim.learning_rate'"),
        (["nosection.x=1"], "valid keys: data.splits"),
        (["optim.lr"], "section.key=value"),
        (["optim.epochs=1.5"], "optim.epochs must be an integer"),
        (["data.flip=yes please"], "data.flip must be true or false"),
        (["loss.pae_feed=sometimes"], "loss.pae_feed must be one of"),
        (["data.input_size=[100, 50]"], "multiples of 16"),
        (["data.splits=[train, test]"], "must not contain 'test'"),
        (["data.val_split=test"], "never be 'test'"),
        (["model.backbone=vgg"], "model.backbone must be one of"),
    ],
)
def test_bad_values_and_keys_are_named(sets, message):
    with pytest.raises(ConfigError, match=message):
        resolve("paper", None, sets)


def test_unknown_key_in_a_file_lists_the_valid_keys(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("optim:\n  lrr: 0.1\n")
    with pytest.raises(ConfigError) as err:
        resolve(None, path)
    for key in ("optim.lr", "data.num_ids", "loss.pae_feed", "runtime.amp"):
        assert key in str(err.value)
    assert len(valid_keys()) == len(set(valid_keys()))


def test_model_section_mirrors_the_model_config():
    model = {f.name for f in fields(ModelConfig)}
    # num_classes and num_attributes come from the training set, everything else from here
    assert model == {f.name for f in fields(PAENetConfig)} - {"num_classes", "num_attributes"}


def test_mirrored_sections_keep_the_library_defaults():
    """The run config repeats the model's and the losses' fields; a default changed on one
    side only would make `paenet-train` train something other than the library's recipe."""
    from paenet.losses import LossConfig
    from paenet.train.config import LossSettings

    for mirror, source, own in (
        (ModelConfig, PAENetConfig, {"num_classes", "num_attributes"}),
        (LossSettings, LossConfig, set()),
    ):
        ours = {f.name: f.default for f in fields(mirror)}
        for f in fields(source):
            if f.name in own:
                continue
            assert f.name in ours, f"{mirror.__name__} lacks {f.name}"
            assert ours[f.name] == f.default, (
                f"{mirror.__name__}.{f.name} defaults to {ours[f.name]!r}, "
                f"{source.__name__} to {f.default!r}"
            )


def test_a_loss_weight_the_losses_refuse_is_a_config_error():
    with pytest.raises(ConfigError, match=r"loss\.triplet_weight must be >= 0"):
        resolve("smoke", None, ["loss.triplet_weight=-1"])
