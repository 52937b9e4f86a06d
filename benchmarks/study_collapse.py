"""Which loss term collapses the features, and does a fix hold? Short trainings, instruments.

Every variant is ``paenet-train`` (the ``smoke`` preset at 64×32, P = 8 identities ×
(2 visible + 2 infrared) images) on the training split of a synthetic stand-in, run for
``--steps`` steps with the instruments of :mod:`paenet.train.health` measured every
``--probe-every`` steps; each row reports them at the last probe, and the attribute head's
balanced accuracy and the rank-1 / mAP on the **val** identities (never trained on).

Variants (``--variants``): the loss terms one at a time and together, with the recipe
the project used before (SGD) and with AdamW, on the feature the paper uses (``pooled``)
and on the L2-normalised BN-neck output (``neck_normalized``, the smoke preset's default),
for PAENet and the baseline; and the paper's own recipe (SGD, backbone at 0.1× the rate,
``pooled``, per-identity MMD bandwidth) from a **simulated pretrained start**: a backbone
first trained for ``--pretrain-steps`` steps with the identity and attribute losses alone
(the nearest thing to ImageNet weights this machine has), saved as a torchvision state
dict and loaded through ``model.pretrained``.

The stand-in is synthetic: the numbers say which mechanism acts, not what SYSU-MM01 gives.

    python benchmarks/study_collapse.py --out runs/collapse                # every variant
    python benchmarks/study_collapse.py --variants paper-sgd fixed --steps 200 --out /tmp/c
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

import common  # noqa: F401  (puts the repository on sys.path)

log = logging.getLogger("study_collapse")

POOLED = ["loss.metric_feature=pooled", "loss.mmd_bandwidth=identity"]
#: The paper's losses and optimiser as the smoke preset ran them before the fix (SGD at
#: 0.01; the paper's 0.1 has a 10-epoch warm-up this budget does not have).
PAPER_LOSS = [*POOLED, "loss.attribute_balance=false", "loss.label_smoothing=0.0",
              "loss.attribute_head_to_backbone=false", "loss.pae_feed=gt",
              "loss.predicted_attribute_weight=1.0", "optim.optimizer=sgd",
              "optim.schedule=step", "optim.lr=0.01"]  # fmt: skip
OLD = [*PAPER_LOSS, "model.attribute_head_norm=false"]
NO_METRIC = ["loss.triplet_weight=0", "loss.mmd_weight=0"]
BASELINE = ["model.pae=false", "model.aal=false"]
PAPER_FROM_PRETRAINED = [*PAPER_LOSS, "optim.backbone_lr_mult=0.1"]

#: name -> (description, --set items, needs the simulated pretrained backbone)
VARIANTS: dict[str, tuple[str, list[str], bool]] = {
    "paper-sgd": ("the smoke recipe before this fix (SGD 0.01, pooled, raw head)", OLD, False),
    "id-only": ("id + attribute terms, AdamW (no triplet, no MMD)", NO_METRIC, False),
    "triplet-pooled": ("+ triplet on pooled, AdamW", [*POOLED, "loss.mmd_weight=0"], False),
    "mmd-pooled": ("+ MMD on pooled (per-id bandwidth), AdamW", [*POOLED, "loss.triplet_weight=0"], False),
    "paper-pooled": ("+ triplet + MMD on pooled, AdamW", POOLED, False),
    "fixed": ("+ triplet + MMD on the normalised neck, batch bandwidth (smoke)", [], False),
    "baseline-pooled": ("baseline (no PAE/AAL), triplet + MMD on pooled, AdamW", [*BASELINE, *POOLED], False),
    "baseline-fixed": ("baseline, the smoke preset", BASELINE, False),
    "paper-pretrained": ("the paper's recipe (SGD, backbone at 0.1x, pooled, per-id MMD "
                         "bandwidth, plain BCE, gt fed) from a simulated pretrained start",
                         PAPER_FROM_PRETRAINED, True),
}  # fmt: skip
SHOWN = ("health/backbone/relative_std", "health/backbone/effective_rank",
         "health/metric/relative_std", "health/metric/centre_distance",
         "health/attribute_logit_spread", "grad/id", "grad/triplet", "grad/mmd")  # fmt: skip


def stand_in(out: Path, scale: str, seed: int) -> Path:
    from paenet.data.manifest_build import manifest_from_synthetic
    from paenet.synth import SynthConfig, synthesize

    data, manifest = out / "data" / "SYSU-MM01", out / "manifest"
    if not (manifest / "manifest.json").is_file():
        if not (data / "synth_info.json").is_file():
            synthesize(SynthConfig(layout="sysu", out=data, scale=scale, seed=seed))
        manifest_from_synthetic(data, "sysu", manifest)
    return manifest


def budget(steps: int, probe_every: int, threads: int | None, seed: int) -> list[str]:
    out = ["data.input_size=[64, 32]", "data.num_ids=8", "data.per_modality=2",
           "data.batches_per_epoch=10", f"optim.epochs={max(1, steps // 10)}",
           "data.splits=[train]", "data.val_split=val", "data.val_every=100000",
           f"runtime.probe_every={probe_every}", "runtime.log_every=10",
           "runtime.progress=false", f"runtime.seed={seed}"]  # fmt: skip
    if threads:
        out.append(f"runtime.threads={threads}")
    return out


def train(manifest: Path, run: Path, sets: list[str]) -> list[dict[str, Any]]:
    from paenet.train.engine import train as run_training
    from paenet.train.presets import resolve

    config = resolve("smoke", None, sets)
    run_training(manifest, run, config)
    return [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines() if x]


def pretrained_backbone(manifest: Path, out: Path, steps: int, base: list[str]) -> Path:
    """Train the baseline with the identity and attribute losses only; save its backbone
    as a torchvision ResNet-18 state dict (the visible stem, the shared layers)."""
    import torch

    path = out / "pretrained-resnet18.pth"
    if path.is_file():
        return path
    run = out / "pretrain"
    sets = [*base, *BASELINE, *NO_METRIC, f"optim.epochs={max(1, steps // 10)}"]
    train(manifest, run, sets)
    from paenet.model.loading import read_checkpoint

    state = read_checkpoint(run / "checkpoints" / "final.pt")
    model = state["model"]
    tv: dict[str, torch.Tensor] = {}
    for key, value in model.items():
        if key.startswith("backbone.visible.0.0."):
            tv["conv1." + key.rsplit(".", 1)[1]] = value
        elif key.startswith("backbone.visible.0.1."):
            tv["bn1." + key.rsplit(".", 1)[1]] = value
        elif key.startswith("backbone.shared."):
            layer, rest = key[len("backbone.shared.") :].split(".", 1)
            tv[f"layer{int(layer) + 1}.{rest}"] = value
    torch.save(tv, path)
    return path


def markdown(rows: list[dict[str, Any]], steps: int, probe_every: int, seed: int) -> str:
    """The table of ``rows`` (as written to collapse.json)."""
    lines = [
        "Synthetic stand-in (`small`, SYSU-MM01 layout), 64×32, P=8 × (2+2) images, "
        f"{steps} steps, seed {seed}. Instruments at the last probe (step "
        f"{(steps // probe_every) * probe_every}); val = the 33 val identities "
        "(never trained on), IR→visible all images, `predicted` features (chance rank-1 1/33 "
        "= 3.0 %); chance balanced "
        "accuracy 50 %.",
        "",
        "| variant | f^m relative spread | f^m eff. rank | metric feature relative spread | "
        "metric centre dist. | head logit spread | grad id / triplet / mmd | first "
        "collapsed step | val R1 / mAP | head bal. acc. |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]

    def f(x: Any, fmt: str = ".3f") -> str:
        return "–" if x is None else format(x, fmt)

    for r in rows:
        last, val = r["last"], r["val"]
        lines.append(
            f"| {r['variant']}: {r['description']} | "
            f"{f(last.get('health/backbone/relative_std'))} | "
            f"{f(last.get('health/backbone/effective_rank'), '.1f')} | "
            f"{f(last.get('health/metric/relative_std'))} | "
            f"{f(last.get('health/metric/centre_distance'), '.2f')} | "
            f"{f(last.get('health/attribute_logit_spread'))} | "
            f"{f(last.get('grad/id'), '.2g')} / {f(last.get('grad/triplet'), '.2g')} / "
            f"{f(last.get('grad/mmd'), '.2g')} | {r['collapsed_at'] or 'never'} | "
            f"{f(100 * val['val/rank1'] if val.get('val/rank1') is not None else None, '.1f')} / "
            f"{f(100 * val['val/mAP'] if val.get('val/mAP') is not None else None, '.1f')} | "
            f"{f(100 * val['val/attribute_balanced_accuracy'] if val.get('val/attribute_balanced_accuracy') is not None else None, '.1f')} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--pretrain-steps", type=int, default=600)
    parser.add_argument("--probe-every", type=int, default=50)
    parser.add_argument("--scale", default="small")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--from-json",
        type=Path,
        nargs="+",
        default=None,
        help="print one table from earlier runs' collapse.json files (no training)",
    )
    args = parser.parse_args()
    if args.from_json:
        rows = [r for path in args.from_json for r in json.loads(path.read_text())]
        order = {name: k for k, name in enumerate(VARIANTS)}
        rows.sort(key=lambda r: order.get(r["variant"], len(order)))
        print(markdown(rows, args.steps, args.probe_every, args.seed))
        return 0
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)
    args.out.mkdir(parents=True, exist_ok=True)
    manifest = stand_in(args.out, args.scale, 0)
    base = budget(args.steps, args.probe_every, args.threads, args.seed)
    rows = []
    for name in args.variants:
        description, sets, needs_start = VARIANTS[name]
        extra = list(sets)
        if needs_start:
            start = pretrained_backbone(manifest, args.out, args.pretrain_steps, base)
            extra.append(f"model.pretrained={start}")
        t0 = time.perf_counter()
        records = train(manifest, args.out / name, [*base, *extra])
        probes = [r for r in records if r.get("kind") == "step" and "health/collapsed" in r]
        epochs = [r for r in records if r.get("kind") == "epoch" and "val/mAP" in r]
        row = {
            "variant": name,
            "description": description,
            "sets": extra,
            "first": {k: probes[0].get(k) for k in SHOWN} if probes else {},
            "last": {k: probes[-1].get(k) for k in SHOWN} if probes else {},
            "collapsed_at": next((r["step"] for r in probes if r.get("health/collapsed")), None),
            "val": {
                k: epochs[-1].get(k)
                for k in ("val/rank1", "val/mAP", "val/attribute_balanced_accuracy")
            }
            if epochs
            else {},
            "seconds": time.perf_counter() - t0,
        }
        rows.append(row)
        log.info("%s: %s", name, json.dumps(row))
    (args.out / "collapse.json").write_text(json.dumps(rows, indent=2) + "\n")
    text = markdown(rows, args.steps, args.probe_every, args.seed)
    (args.out / "collapse.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
