"""``paenet-train``: train PAENet from an exported manifest.

    paenet-train --manifest DIR --out RUN_DIR [--preset paper|official-code|smoke]
                 [--config FILE.yaml] [--set section.key=value ...] [--trial k]
                 [--resume [--force] | --overwrite]
    torchrun --nproc_per_node N -m paenet.train --manifest DIR --out RUN_DIR ...

Configuration precedence: preset < YAML file < ``--set`` (``--trial k`` is
``--set data.trial=k``). ``--resume`` continues ``RUN_DIR/checkpoints/last.pt`` with
the run's saved configuration; only ``runtime.*`` keys may be changed then
(``runtime.stop_after_steps`` is cleared unless given again). A RUN_DIR that already
holds a run is refused without ``--resume`` (continue it) or ``--overwrite`` (delete
what it wrote, then start again); other files in RUN_DIR are never touched.
``--resume`` of a run whose epochs are all done writes a missing ``final.pt`` from
``last.pt``, or says the run is already finished. A write that fails (a full disk)
stops with one line; the checkpoints written before it stay, so the run resumes.
Exit codes: 0 done (or stopped by ``runtime.stop_after_steps``, or already finished),
2 bad input or setup, or a write that failed, 3 non-finite loss.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from paenet.logs import setup_logging

if TYPE_CHECKING:
    from paenet.train.config import RunConfig

log = logging.getLogger(__name__)

PRESET_NAMES = ("paper", "official-code", "smoke")
"""``paenet.train.presets.PRESETS``' names, spelled out: importing the presets imports
torch (through the loss configuration), and ``--help`` must not wait for it."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paenet-train",
        description="Train PAENet (or its baseline) from a paenet-export manifest.",
    )
    parser.add_argument("--manifest", type=Path, required=True, help="manifest directory")
    parser.add_argument("--out", type=Path, required=True, help="run directory (RUN_DIR)")
    parser.add_argument(
        "--preset", choices=PRESET_NAMES, default=None, help="defaults (default: paper)"
    )
    parser.add_argument("--config", type=Path, default=None, help="YAML file of overrides")
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override one key (repeatable), e.g. --set optim.lr=0.05",
    )
    parser.add_argument("--trial", type=int, default=None, help="RegDB trial 1-10")
    parser.add_argument("--resume", action="store_true", help="continue RUN_DIR's last.pt")
    parser.add_argument(
        "--force", action="store_true", help="with --resume: accept a different manifest"
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="RUN_DIR holds a run: delete what that run wrote, then start a new one",
    )
    parser.add_argument("-v", "--verbose", action="count", default=1, help="more logging")
    return parser


def resolve_config(args: argparse.Namespace) -> RunConfig:
    from paenet.train.config import ConfigError, RunConfig
    from paenet.train.presets import apply, parse_set, resolve

    sets = list(args.sets)
    if args.trial is not None:
        sets.append(f"data.trial={args.trial}")
    if not args.resume:
        return resolve(args.preset, args.config, sets)
    from paenet.model.loading import read_checkpoint

    if args.preset is not None or args.config is not None:
        raise ConfigError("--resume uses the run's saved configuration: drop --preset/--config")
    saved = read_checkpoint(args.out / "checkpoints" / "last.pt")["config"]
    config = apply(RunConfig(preset=saved.get("preset", "paper")), saved, "saved configuration")
    # An interruption is not part of the recipe: a resumed run goes to the end unless told.
    config = replace(config, runtime=replace(config.runtime, stop_after_steps=None))
    updates = parse_set(sets)
    if args.trial is not None and args.trial == config.data.trial:
        updates.get("data", {}).pop("trial", None)
        updates = {k: v for k, v in updates.items() if v}
    bad = [f"{s}.{k}" for s, values in updates.items() if s != "runtime" for k in values]
    if bad:
        raise ConfigError(f"--resume: only runtime.* keys may be changed, not {bad}")
    return apply(config, updates, "--set")


#: What a run writes into RUN_DIR (docs/training.md); ``--overwrite`` removes these only.
RUN_ENTRIES = ("config.yaml", "run.json", "metrics.jsonl", "checkpoints", "tb", "plots", "cache")


def check_run_dir(out: Path, resume: bool, overwrite: bool) -> None:
    """Refuse to start a new run over an existing one (its metrics.jsonl, config.yaml and
    checkpoints would be replaced and an old ``final.pt`` left beside them) unless
    ``--overwrite`` removes that run first; ``--resume`` continues it instead. Only the
    main process (``RANK`` unset or 0) checks and removes, before any rank writes."""
    from paenet.train.config import ConfigError

    if os.environ.get("RANK", "0") != "0":
        return
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file, not a run directory")
    blocking = next((p for p in out.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise ConfigError(f"--out {out} cannot be a run directory: {blocking} is a file")
    if resume:
        if overwrite:
            raise ConfigError("--resume continues a run, --overwrite deletes it: choose one")
        return
    found = [name for name in RUN_ENTRIES if (out / name).exists()]
    if not found:
        return
    if not overwrite:
        raise ConfigError(
            f"{out} already holds a run ({', '.join(found)}); pass --resume to continue "
            "it, or --overwrite to delete it and start again, or choose another --out"
        )
    for name in found:
        path = out / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    log.warning("--overwrite: removed the earlier run's %s from %s", ", ".join(found), out)


def _resume_hint(out: Path) -> str:
    """What to do after a failed write: resume from the last complete checkpoint."""
    last = out / "checkpoints" / "last.pt"
    if last.is_file():
        return f"once it can be written again, the run continues from {last} with --resume"
    return "no checkpoint was saved yet: once it can be written again, start anew with --overwrite"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    from paenet.data.images import ImageDecodeError
    from paenet.data.manifest import ManifestError
    from paenet.model.loading import CheckpointError
    from paenet.train.checkpoint import CheckpointWriteError
    from paenet.train.config import ConfigError
    from paenet.train.engine import TrainSetupError, train
    from paenet.train.sampler import SamplerError
    from paenet.train.steps import NonFiniteLossError

    try:
        config = resolve_config(args)
        check_run_dir(args.out, args.resume, args.overwrite)
        result = train(args.manifest, args.out, config, resume=args.resume, force=args.force)
    except NonFiniteLossError as exc:
        sys.stderr.write(f"paenet-train: stopped: {exc}\n")
        return 3
    except CheckpointWriteError as exc:
        sys.stderr.write(f"paenet-train: error: {exc}; {_resume_hint(args.out)}\n")
        return 2
    except ImageDecodeError as exc:  # passed the header scan, fails to decode (truncated)
        last = args.out / "checkpoints" / "last.pt"
        then = (
            f"continue from {last} with --resume"
            if last.is_file()
            else "start again with --overwrite"
        )
        sys.stderr.write(
            f"paenet-train: error: {exc}; fix or remove it (paenet-export --check --deep "
            f"finds every such file), then {then}\n"
        )
        return 2
    except (
        ConfigError,
        TrainSetupError,
        CheckpointError,
        SamplerError,
        ManifestError,
        FileNotFoundError,
    ) as exc:
        sys.stderr.write(f"paenet-train: error: {exc}\n")
        return 2
    except OSError as exc:  # a full disk or a refused write outside the checkpoints
        hint = _resume_hint(args.out)
        sys.stderr.write(f"paenet-train: error: cannot write the run: {exc}; {hint}\n")
        return 2
    if result.already_finished:
        return 0
    state = "finished" if result.finished else "stopped"
    log.info(
        "%s after %d epochs, %d steps; checkpoint %s",
        state,
        result.epochs_done,
        result.steps,
        result.checkpoint,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
