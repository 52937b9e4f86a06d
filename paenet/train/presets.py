"""Presets and resolution: preset < YAML file < ``--set section.key=value``.

``paper`` is the dataclass defaults; the other presets are differences from it
(``docs/training.md`` has the table). Values given as text (``--set``) are parsed as
YAML scalars/lists (``true``, ``0.1``, ``[256, 128]``, ``null``) and checked against the
field's type; an unknown key is an error that lists the valid ones.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import yaml

from paenet.train.config import SECTIONS, ConfigError, RunConfig, valid_keys

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "paper": {},
    "official-code": {
        # The authors' code decays at 20 and 50 and stops after 61 epochs (paper: 30/50/80).
        "optim": {"milestones": [20, 50], "epochs": 61},
    },
    "smoke": {
        "model": {
            "backbone": "resnet18",
            "pretrained": "none",
            "d_model": 64,
            "num_heads": 4,
            "ffn_dim": 128,
            "aal_dim": 32,
            "attribute_head_dim": 64,
        },
        "data": {
            "input_size": [128, 64],
            "pad": 4,
            "num_ids": 4,
            "per_modality": 2,
            "batches_per_epoch": 4,
            "workers": 0,
            "persistent_workers": False,
        },
        # From random weights the paper's recipe collapses the features (docs/training.md,
        # "Why a run collapses"): the metric terms measure the L2-normalised BN-neck output
        # with one MMD bandwidth per batch, the attribute head reads a normalised f^m with
        # a class-balanced BCE (weight 2) that also trains the backbone, and PAE is fed
        # the head's predictions on a share of batches rising from 0 to 1 (what it gets at
        # test time in the deployable `predicted` mode).
        "loss": {
            "metric_feature": "neck_normalized",
            "mmd_bandwidth": "batch",
            "label_smoothing": 0.1,
            "attribute_balance": True,
            "attribute_head_to_backbone": True,
            "predicted_attribute_weight": 2.0,
            "pae_feed": "mix",
        },
        # A random-init backbone learns at the base rate: the paper's 0.1x protects
        # ImageNet weights, which this preset does not load. AdamW with a cosine decay.
        "optim": {
            "optimizer": "adamw",
            "schedule": "cosine",
            "epochs": 1,
            "warmup_epochs": 0,
            "milestones": [],
            "lr": 0.001,
            "backbone_lr_mult": 1.0,
        },
        "runtime": {"log_every": 1, "amp": "off", "channels_last": False, "checkpoint_every": 10},
    },
}


def _coerce(key: str, value: Any, hint: Any) -> Any:
    """``value`` checked against the type ``hint`` of field ``key`` (lists -> tuples)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(key, value, arg)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{key}: invalid value {value!r}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{key} must be one of {list(args)}, got {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{key} must be a list, got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(key, v, args[0]) for v in value)
        if len(value) != len(args):
            raise ConfigError(f"{key} must be a list of {len(args)} values, got {value!r}")
        return tuple(_coerce(key, v, a) for v, a in zip(value, args))
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key} must be an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, str):  # YAML 1.1 reads "1e30" (no dot) as a string
            try:
                value = float(value)
            except ValueError:
                raise ConfigError(f"{key} must be a number, got {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{key} must be a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key} must be a string, got {value!r}")
        return value
    raise ConfigError(f"{key}: unsupported field type {hint!r}")  # pragma: no cover


def _unknown_key(key: str) -> ConfigError:
    return ConfigError(f"unknown configuration key {key!r}; valid keys: {', '.join(valid_keys())}")


def apply(config: RunConfig, updates: Mapping[str, Any], origin: str) -> RunConfig:
    """``config`` with the nested ``updates`` ({section: {field: value}}) applied."""
    sections: dict[str, Any] = {}
    for section, values in updates.items():
        if section == "preset":
            continue
        if section not in SECTIONS:
            raise _unknown_key(str(section))
        if not isinstance(values, Mapping):
            raise ConfigError(f"{origin}: section {section!r} must be a mapping, got {values!r}")
        current = getattr(config, section)
        hints = typing.get_type_hints(type(current))
        names = {f.name for f in fields(current)}
        changes = {}
        for name, value in values.items():
            if name not in names:
                raise _unknown_key(f"{section}.{name}")
            changes[name] = _coerce(f"{section}.{name}", value, hints[name])
        try:
            sections[section] = replace(current, **changes)
        except ValueError as exc:  # ConfigError, or a library config's own check
            prefix = "" if isinstance(exc, ConfigError) else f"{section}."
            raise ConfigError(f"{origin}: {prefix}{exc}") from None
    return replace(config, **sections)


def parse_set(items: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``["optim.lr=0.01", "data.input_size=[64, 32]"]`` -> nested updates."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or "." not in key:
            raise ConfigError(f"--set expects section.key=value, got {item!r}")
        section, name = key.split(".", 1)
        if f"{section}.{name}" not in valid_keys():
            raise _unknown_key(key)
        try:
            value = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError as exc:
            raise ConfigError(f"--set {key}: cannot parse {text!r} ({exc})") from None
        out.setdefault(section, {})[name] = value
    return out


def load_yaml(path: Path) -> dict[str, Any]:
    """A config file: a mapping of sections (``preset:`` allowed as a top-level key)."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of sections, got {data!r}")
    return data


def preset_config(name: str) -> RunConfig:
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; valid presets: {', '.join(PRESETS)}")
    return apply(RunConfig(preset=name), PRESETS[name], f"preset {name}")


def resolve(
    preset: str | None = None,
    config_file: Path | None = None,
    sets: Sequence[str] = (),
) -> RunConfig:
    """The run's configuration: ``preset`` (or the file's ``preset:``, else ``paper``),
    then the YAML file, then ``sets``. A resolved ``config.yaml`` fed back gives the
    same configuration."""
    file_data = load_yaml(config_file) if config_file is not None else {}
    file_preset = file_data.get("preset")
    if preset is None:
        preset = file_preset if isinstance(file_preset, str) else "paper"
    config = preset_config(preset)
    if file_data:
        config = apply(config, file_data, f"config file {config_file}")
    if sets:
        config = apply(config, parse_set(sets), "--set")
    return config
