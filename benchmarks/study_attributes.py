"""Do attributes help? Train every variant with the same data, budget and seeds; evaluate.

Variants (one training run per variant and seed, all from the ``smoke`` preset plus the
budget flags below, so the only difference between rows is the model flags):

- ``baseline``: no PAE, no AAL (the MMD-ReID baseline); the attribute head is trained
  and, as in the preset, its BCE reaches the backbone (multi-task attribute learning);
- ``image-only``: the baseline with the attribute head on a detached feature
  (``loss.attribute_head_to_backbone=false``): attributes never shape the features;
- ``paenet``: PAE + AAL, evaluated with ``gt``, ``predicted`` and ``backbone`` features
  (``backbone`` = the pooled backbone feature of the PAENet model, no attributes);
- ``pae-no-aal``: PAE without AAL (Table 3);
- ``no-emb1`` / ``no-emb2`` / ``no-emb3``: PAENet with one embedding off (Table 5's
  question asked one module at a time), evaluated with ``gt`` and ``predicted``.

Data: a synthetic stand-in (``paenet.synth``) labelled with its ground-truth attributes
(``manifest_from_synthetic``), SYSU-MM01 layout, evaluated on the 10 seeded trials of
all-search and indoor-search single-shot. Each number is the mean over trials; the
table gives mean ± std over seeds. Outputs in ``--out``: ``study.json`` (every run),
``study.md`` (the table, the configuration and the command) and ``study.png``.

    python benchmarks/study_attributes.py --out runs/study                  # defaults
    python benchmarks/study_attributes.py --scale tiny --epochs 4 --seeds 0 1 2 \\
        --variants baseline paenet --out runs/study-small                    # a quick one
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import common  # noqa: F401  (puts the repository on sys.path)

from paenet.synth.config import SCALES

VARIANTS: dict[str, tuple[list[str], tuple[str, ...]]] = {
    "baseline": (["model.pae=false", "model.aal=false"], ("predicted",)),
    "image-only": (
        ["model.pae=false", "model.aal=false", "loss.attribute_head_to_backbone=false"],
        ("predicted",),
    ),
    "paenet": ([], ("gt", "predicted", "backbone")),
    "pae-no-aal": (["model.aal=false"], ("gt", "predicted")),
    "no-emb1": (["model.emb1=false"], ("gt", "predicted")),
    "no-emb2": (["model.emb2=false"], ("gt", "predicted")),
    "no-emb3": (["model.emb3=false"], ("gt", "predicted")),
}
ROW_ORDER = [*VARIANTS, "attributes-only"]
SETTINGS = ("all-search single-shot", "indoor-search single-shot")
METRICS = ("rank1", "mAP", "mINP")


@dataclass(frozen=True)
class Budget:
    epochs: int
    batches_per_epoch: int
    lr: float | None
    """``None``: the smoke preset's rate."""
    input_size: tuple[int, int]
    backbone: str
    threads: int | None
    num_ids: int = 8
    per_modality: int = 2

    def sets(self) -> list[str]:
        h, w = self.input_size
        out = [
            f"optim.epochs={self.epochs}",
            f"data.batches_per_epoch={self.batches_per_epoch}",
            f"data.num_ids={self.num_ids}",
            f"data.per_modality={self.per_modality}",
            f"data.input_size=[{h}, {w}]",
            f"model.backbone={self.backbone}",
            "runtime.progress=false",
        ]
        if self.lr is not None:
            out.append(f"optim.lr={self.lr}")
        if self.threads:
            out.append(f"runtime.threads={self.threads}")
        return out


def stand_in(out: Path, scale: str, seed: int) -> Path:
    """The stand-in and its ground-truth manifest (reused when already there)."""
    from paenet.data.manifest_build import manifest_from_synthetic
    from paenet.synth import SynthConfig, synthesize

    root = out / "data" / "SYSU-MM01"
    manifest = out / "manifest"
    if not (root / "synth_info.json").is_file():
        synthesize(SynthConfig(layout="sysu", out=root, scale=scale, seed=seed))
    if not (manifest / "manifest.json").is_file():
        manifest_from_synthetic(root, "sysu", manifest, dataset=f"sysu-synthetic-{scale}")
    return manifest


def train_and_evaluate(
    manifest: Path, out: Path, variant: str, seed: int, budget: Budget
) -> list[dict[str, object]]:
    from paenet.evaluation.session import EvalOptions, run_evaluation
    from paenet.train.engine import train
    from paenet.train.presets import resolve

    flags, sources = VARIANTS[variant]
    run_dir = out / "runs" / f"{variant}-seed{seed}"
    ckpt = run_dir / "checkpoints" / "final.pt"
    train_s: float | None = None  # None: a finished run reused, not timed again
    if not ckpt.is_file():  # a rerun picks up finished runs
        t0 = time.perf_counter()
        config = resolve("smoke", None, [*budget.sets(), *flags, f"runtime.seed={seed}"])
        train(manifest, run_dir, config)
        train_s = round(time.perf_counter() - t0, 1)
    rows = []
    for source in sources:
        report = run_evaluation(ckpt, manifest, EvalOptions(source=source, progress=False))
        quality = report.attribute_quality
        head = None if quality is None else quality.mean_balanced_accuracy
        for s in report.settings:
            if s.setting in SETTINGS:
                rows.append(
                    {
                        "variant": variant,
                        "source": source,
                        "seed": seed,
                        "setting": s.setting,
                        **{m: s.mean[m] for m in METRICS},
                        "head_balanced_accuracy": head,
                        "train_seconds": train_s,
                    }
                )
    return rows


def attributes_only(manifest: Path, seed: int = 0) -> list[dict[str, object]]:
    """The reference row: retrieval by the manifest's attribute labels alone, no image
    (:mod:`paenet.evaluation.attribute_reference`), mean over the trials of each setting."""
    from paenet.data.manifest import load_manifest
    from paenet.evaluation.attribute_reference import evaluate_attributes_only
    from paenet.evaluation.runner import setting_of, summarize

    m = load_manifest(manifest)
    protocols = [p for p in m.protocols() if setting_of(p) in SETTINGS]
    return [
        {
            "variant": "attributes-only",
            "source": "gt",
            "seed": seed,
            "setting": s.setting,
            **{k: s.mean[k] for k in METRICS},
            "head_balanced_accuracy": None,
            "train_seconds": None,
        }
        for s in summarize(evaluate_attributes_only(protocols, m.attributes_of, seed))
    ]


def aggregate(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    groups: dict[tuple, list[dict[str, object]]] = {}
    for r in rows:
        groups.setdefault((r["variant"], r["source"], r["setting"]), []).append(r)
    out = []
    for (variant, source, setting), rs in groups.items():
        entry: dict[str, object] = {
            "variant": variant,
            "source": source,
            "setting": setting,
            "seeds": len(rs),
        }
        for m in METRICS:
            vals = [float(r[m]) for r in rs]  # type: ignore[arg-type]
            entry[m] = statistics.mean(vals)
            entry[m + "_std"] = statistics.stdev(vals) if len(vals) > 1 else 0.0
        heads = [
            float(r["head_balanced_accuracy"])
            for r in rs
            if r.get("head_balanced_accuracy") is not None
        ]  # type: ignore[arg-type]
        entry["head_balanced_accuracy"] = statistics.mean(heads) if heads else None
        out.append(entry)
    return out


def label(variant: object, source: object) -> str:
    if variant == "attributes-only":
        return "reference: gt attributes alone, no image"
    if variant == "baseline":
        return "baseline (no PAE, no AAL)"
    if variant == "image-only":
        return "image only (baseline, head detached)"
    names = {
        "gt": "gt attributes",
        "predicted": "predicted attributes",
        "backbone": "backbone feature",
    }
    return f"{variant}, {names[str(source)]}"


def markdown(summary: list[dict[str, object]], info: dict[str, object]) -> str:
    lines = [
        "# Do attributes help? (synthetic stand-in)",
        "",
        f"Command: `{info['command']}`",
        "",
        f"Data: {info['data']}. Budget: {info['budget']}. Seeds: {info['seeds']}. "
        "Each value: mean over the 10 seeded gallery trials, then mean ± std over seeds; "
        "percent. Last column: the attribute head's balanced accuracy on the test images "
        "(mean over attributes and seeds; 50 = chance).",
        "",
    ]
    head = ["row"] + [f"{s.split()[0]} {m}" for s in SETTINGS for m in ("R1", "mAP")]
    head.append("head bal. acc.")
    lines += ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    keyed = {(e["variant"], e["source"], e["setting"]): e for e in summary}
    order = sorted({(e["variant"], e["source"]) for e in summary}, key=lambda k: (
        ROW_ORDER.index(str(k[0])), str(k[1])))  # fmt: skip
    for variant, source in order:
        cells = [label(variant, source)]
        for s in SETTINGS:
            e = keyed.get((variant, source, s))
            for m in ("rank1", "mAP"):
                cells.append(
                    "–" if e is None else f"{100 * e[m]:.2f} ± {100 * e[m + '_std']:.2f}"  # type: ignore[operator]
                )
        e = keyed.get((variant, source, SETTINGS[0]))
        acc = None if e is None else e.get("head_balanced_accuracy")
        cells.append("–" if acc is None else f"{100 * float(acc):.1f}")  # type: ignore[arg-type]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"Total time: {info['seconds']:.0f} s.", ""]
    return "\n".join(lines)


def plot(summary: list[dict[str, object]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows = [e for e in summary if e["setting"] == SETTINGS[0]]
    rows.sort(key=lambda e: (ROW_ORDER.index(str(e["variant"])), str(e["source"])))
    names = [label(e["variant"], e["source"]) for e in rows]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(rows) + 2), 4))
    for k, m in enumerate(("rank1", "mAP")):
        ax.bar(
            x + (k - 0.5) * 0.38,
            [100 * float(e[m]) for e in rows],  # type: ignore[arg-type]
            0.38,
            yerr=[100 * float(e[m + "_std"]) for e in rows],  # type: ignore[arg-type]
            capsize=3,
            label={"rank1": "rank-1", "mAP": "mAP"}[m],
        )
    ax.set_xticks(x, names, rotation=30, ha="right", fontsize=7)
    ax.set_ylabel("%")
    ax.set_title(f"{SETTINGS[0]}: mean ± std over seeds", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/study"))
    parser.add_argument("--scale", choices=SCALES, default="small")
    parser.add_argument("--data-seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", choices=tuple(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--batches-per-epoch", type=int, default=10)
    parser.add_argument("--lr", type=float, default=None, help="default: the smoke preset's")
    parser.add_argument("--num-ids", type=int, default=8, help="P identities per batch")
    parser.add_argument("--per-modality", type=int, default=2, help="K images per modality")
    parser.add_argument("--input-size", type=int, nargs=2, default=[64, 32], metavar=("H", "W"))
    parser.add_argument("--backbone", choices=("resnet18", "resnet50"), default="resnet18")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args()
    if len(args.seeds) < 3:
        print("note: fewer than 3 seeds: the spread over seeds is not meaningful")
    budget = Budget(
        args.epochs, args.batches_per_epoch, args.lr, tuple(args.input_size), args.backbone,
        args.threads, args.num_ids, args.per_modality,
    )  # fmt: skip
    t0 = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    manifest = stand_in(args.out, args.scale, args.data_seed)
    rows: list[dict[str, object]] = []
    for seed in args.seeds:
        for variant in args.variants:
            print(f"[{time.perf_counter() - t0:7.0f} s] {variant} seed {seed}", flush=True)
            rows += train_and_evaluate(manifest, args.out, variant, seed, budget)
    rows += attributes_only(manifest)
    summary = aggregate(rows)
    info = {
        "command": "python " + " ".join(shlex.quote(a) for a in sys.argv),
        "data": f"{args.scale} SYSU-MM01 stand-in (data seed {args.data_seed}), ground-truth labels",
        "budget": (
            f"smoke preset, {budget.backbone}, {budget.input_size[0]}x{budget.input_size[1]}, "
            f"{budget.epochs} epochs x {budget.batches_per_epoch} batches of "
            f"{budget.num_ids} ids x ({budget.per_modality} + {budget.per_modality}) images, "
            f"lr {budget.lr if budget.lr is not None else 'of the preset'}"
        ),
        "seeds": args.seeds,
        "seconds": time.perf_counter() - t0,
    }
    (args.out / "study.json").write_text(
        json.dumps({"info": info, "summary": summary, "runs": rows}, indent=2) + "\n"
    )
    text = markdown(summary, info)
    (args.out / "study.md").write_text(text)
    plot(summary, args.out / "study.png")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
