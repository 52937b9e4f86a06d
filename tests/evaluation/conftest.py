"""Tiny stand-ins, their manifests, and untrained checkpoints written in the real format."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from paenet.data.manifest import load_manifest
from paenet.data.manifest_build import manifest_from_synthetic
from paenet.model.loading import build_model
from paenet.synth import SynthConfig, synthesize
from paenet.train.checkpoint import save_checkpoint
from paenet.train.config import to_dict
from paenet.train.engine import model_config_for
from paenet.train.presets import resolve

#: The smoke preset at 64×32: fast on a busy CPU.
TINY = ["data.input_size=[64, 32]", "runtime.threads=1", "runtime.progress=false"]


def write_untrained_checkpoint(
    path: Path, manifest_dir: Path, *, trial: int | None = None, seed: int = 0, **model: object
) -> Path:
    """A ``paenet-train`` checkpoint of a freshly initialised smoke-preset model."""
    sets = [*TINY, *(f"model.{k}={str(v).lower()}" for k, v in model.items())]
    if trial is not None:
        sets.append(f"data.trial={trial}")
    config = resolve("smoke", None, sets)
    m = load_manifest(manifest_dir)
    train = m.training_set(trial=trial) if m.kind == "regdb" else m.training_set()
    model_config = model_config_for(config, train.num_classes, train.attributes.shape[1])
    net = build_model(model_config, seed=seed)
    # statistics-only batch norms get running statistics as training would give them
    net.train()
    with torch.no_grad():
        x = torch.randn(8, 3, *config.data.input_size)
        net(x, torch.tensor([0, 1] * 4), torch.randint(0, 2, (8, 8)).float())
    save_checkpoint(
        path,
        {
            "kind": "final",
            "model": net.state_dict(),
            "model_config": model_config.to_dict(),
            "config": to_dict(config),
            "manifest": {
                "hash": m.content_hash,
                "directory": str(m.directory),
                "dataset": m.dataset,
                "kind": m.kind,
            },
            "trial": trial,
            "train_splits": [] if m.kind == "regdb" else ["train", "val"],
            "pids": list(train.pids),
            "epoch": 0,
            "step": 0,
        },
    )
    return path


@pytest.fixture(scope="session")
def stand_ins(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Manifest directories of the tiny SYSU and RegDB stand-ins (ground-truth labels)."""
    base = tmp_path_factory.mktemp("eval-stand-in")
    out = {}
    for kind, folder in (("sysu", "SYSU-MM01"), ("regdb", "RegDB")):
        synthesize(SynthConfig(layout=kind, out=base / folder, scale="tiny", seed=0, workers=1))
        out[kind] = manifest_from_synthetic(base / folder, kind, base / f"manifest-{kind}")
    return out


@pytest.fixture(scope="session")
def checkpoints(stand_ins: dict[str, Path], tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("eval-ckpt")
    return {
        "sysu": write_untrained_checkpoint(base / "sysu.pt", stand_ins["sysu"]),
        "regdb": write_untrained_checkpoint(base / "regdb.pt", stand_ins["regdb"], trial=1),
        "baseline": write_untrained_checkpoint(
            base / "baseline.pt", stand_ins["sysu"], pae=False, aal=False
        ),
    }
