"""Run logs: ``metrics.jsonl``, TensorBoard events in ``tb/``, PNG plots in ``plots/``.

``metrics.jsonl`` has one JSON object per line: ``{"kind": "step", "epoch", "step",
"lr", "images_per_s", "loss/<term>": value, …}`` every ``runtime.log_every`` steps, and
``{"kind": "epoch", "epoch", "step", "lr", "seconds", "loss/<term>": mean, …}`` at each
epoch's end. ``step`` counts optimiser steps from 1. Only rank 0 creates a
:class:`RunLog`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class RunLog:
    """Append-only metrics (JSON lines + TensorBoard). On resume, lines after the
    checkpoint's step are dropped first (they belong to the interrupted run's lost tail)."""

    def __init__(self, run_dir: Path, resume_step: int | None = None, tensorboard: bool = True):
        self.path = Path(run_dir) / "metrics.jsonl"
        if resume_step is not None and self.path.is_file():
            kept = [
                line
                for line in self.path.read_text().splitlines()
                if line.strip() and json.loads(line).get("step", 0) <= resume_step
            ]
            self.path.write_text("".join(line + "\n" for line in kept))
        elif resume_step is None:
            self.path.write_text("")
        self._file = open(self.path, "a")  # noqa: SIM115  (closed in close())
        self._tb = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(log_dir=str(Path(run_dir) / "tb"), purge_step=resume_step)

    def write(self, record: Mapping[str, Any]) -> None:
        self._file.write(json.dumps(dict(record), sort_keys=False) + "\n")
        self._file.flush()
        if self._tb is not None:
            prefix = "epoch/" if record.get("kind") == "epoch" else ""
            step = int(record.get("step", 0))
            for key, value in record.items():
                if key in ("kind", "step", "epoch") or not isinstance(value, int | float):
                    continue
                self._tb.add_scalar(prefix + key, value, step)

    def close(self) -> None:
        self._file.close()
        if self._tb is not None:
            self._tb.close()


def read_metrics(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def plot_metrics(metrics_path: Path, out_dir: Path) -> list[Path]:
    """``losses.png`` (every loss term against the step), ``lr.png``, ``health.png`` (the
    ``grad/*`` and ``health/*`` instruments, :mod:`paenet.train.health`) and, with
    validation scores, ``validation.png`` (rank-1, mAP, the attribute head's balanced
    accuracy against the epoch); returns the paths written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [r for r in read_metrics(metrics_path) if r.get("kind") == "step"]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not records:
        log.warning("no step records in %s: no plots", metrics_path)
        return []
    steps = [r["step"] for r in records]
    terms = sorted({k for r in records for k in r if k.startswith("loss/")})
    written = []
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for term in terms:
        ax.plot(steps, [r.get(term, float("nan")) for r in records], label=term[5:])
    ax.set_xlabel("step")
    ax.set_ylabel("loss (weighted)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_dir / "losses.png", dpi=100)
    plt.close(fig)
    written.append(out_dir / "losses.png")
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.plot(steps, [r["lr"] for r in records])
    ax.set_xlabel("step")
    ax.set_ylabel("base learning rate")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_dir / "lr.png", dpi=100)
    plt.close(fig)
    written.append(out_dir / "lr.png")
    health = _panels(plt, steps, records, ("grad/", "health/"), "step", out_dir / "health.png")
    written.extend(health)
    epochs = [r for r in read_metrics(metrics_path) if r.get("kind") == "epoch" and "val/mAP" in r]
    if epochs:
        written.extend(
            _panels(
                plt,
                [r["epoch"] + 1 for r in epochs],
                epochs,
                ("val/",),
                "epoch",
                out_dir / "validation.png",
                keys=("val/rank1", "val/mAP", "val/attribute_balanced_accuracy"),
            )
        )
    return written


def _panels(
    plt: Any,
    xs: list[int],
    records: list[dict[str, Any]],
    prefixes: tuple[str, ...],
    xlabel: str,
    path: Path,
    keys: tuple[str, ...] | None = None,
) -> list[Path]:
    """One small panel per metric whose name starts with one of ``prefixes`` (or each of
    ``keys`` present); nothing when no record has one."""
    names = (
        [k for k in keys if any(k in r for r in records)]
        if keys
        else sorted({k for r in records for k in r if k.startswith(prefixes)})
    )
    if not names:
        return []
    cols = min(3, len(names))
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.6 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        points = [(x, r[name]) for x, r in zip(xs, records) if name in r]
        ax.plot(
            [p[0] for p in points], [p[1] for p in points], marker="." if len(points) < 30 else None
        )
        ax.set_title(name, fontsize=9)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.grid(alpha=0.3)
        if name.startswith("grad/"):
            ax.set_yscale("symlog", linthresh=1e-6)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return [path]
