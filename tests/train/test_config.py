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


#: A valid value other than the default for every field of the network's structure.
OTHER_MODEL_VALUES = {
    "backbone": "resnet18",
    "pretrained": "none",
    "modality_specific_stages": 2,
    "gem_p": 4.0,
    "pae": False,
    "aal": False,
    "aal_gates": "label_free",
    "emb1": False,
    "emb2": False,
    "emb3": False,
    "attribute_head": False,
    "d_model": 128,
    "num_heads": 4,
    "ffn_dim": 512,
    "aal_dim": 128,
    "attribute_head_dim": 256,
    "attribute_head_norm": False,
    "attention_dropout": 0.1,
}


def test_every_network_field_is_a_model_key_that_reaches_the_network_and_round_trips():
    """The ``model`` section is the network's config without the two counts the training
    set gives: each field is settable as ``--set model.X``, survives the saved
    ``config.yaml`` (what ``--resume`` reads back) and reaches the built PAENetConfig,
    whose ``to_dict`` (a checkpoint's ``model_config``) reads back to the same config."""
    from paenet.model.loading import model_config_from_dict
    from paenet.train.engine import model_config_for
    from paenet.train.presets import apply

    network = [
        f.name for f in fields(PAENetConfig) if f.name not in ("num_classes", "num_attributes")
    ]
    assert [k.removeprefix("model.") for k in valid_keys() if k.startswith("model.")] == network
    assert sorted(OTHER_MODEL_VALUES) == sorted(network)
    for name, value in OTHER_MODEL_VALUES.items():
        text = value if isinstance(value, str) else yaml.safe_dump(value).split("\n")[0]
        config = resolve("smoke", None, [f"model.{name}={text}"])
        assert getattr(config.model, name) == value != getattr(ModelConfig(), name), name
        saved = yaml.safe_load(yaml.safe_dump(to_dict(config), sort_keys=False))
        assert saved["model"][name] == value
        assert apply(RunConfig(preset=saved["preset"]), saved, "saved") == config, name
        net = model_config_for(config, num_classes=7, num_attributes=5)
        assert (getattr(net, name), net.num_classes, net.num_attributes) == (value, 7, 5)
        assert model_config_from_dict(net.to_dict()) == net


def test_the_default_sections_build_the_library_defaults():
    """`paenet-train` with the default ``model`` and ``loss`` sections trains the
    library's own recipe (its network and its losses)."""
    from paenet.losses import LossConfig
    from paenet.train.engine import model_config_for
    from paenet.train.steps import loss_config

    built = model_config_for(RunConfig(), num_classes=3, num_attributes=8)
    assert built == PAENetConfig(num_classes=3, num_attributes=8)
    assert loss_config(RunConfig().loss) == LossConfig()


def test_a_checkpoints_model_config_keeps_its_key_order():
    """``model_config`` in a checkpoint is written in the order it always had."""
    assert list(PAENetConfig(num_classes=3).to_dict()) == [
        "num_classes", "backbone", "pretrained", "modality_specific_stages", "gem_p",
        "num_attributes", "pae", "aal", "aal_gates", "emb1", "emb2", "emb3",
        "attribute_head", "d_model", "num_heads", "ffn_dim", "aal_dim",
        "attribute_head_dim", "attribute_head_norm", "attention_dropout",
    ]  # fmt: skip


def test_an_invalid_network_value_is_a_config_error_naming_the_key():
    with pytest.raises(ConfigError, match=r"model\.gem_p must be > 0"):
        resolve("smoke", None, ["model.gem_p=0"])
    with pytest.raises(ConfigError, match=r"model\.d_model \(250\) must be divisible"):
        resolve("smoke", None, ["model.d_model=250"])


def test_a_loss_weight_the_losses_refuse_is_a_config_error():
    with pytest.raises(ConfigError, match=r"loss\.triplet_weight must be >= 0"):
        resolve("smoke", None, ["loss.triplet_weight=-1"])
