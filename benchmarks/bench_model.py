"""Cost of PAENet against its baseline (two-stream ResNet-50 + GeM + BN neck), on the CPU.

Measures, for both models built in the same run with random weights (pretrained none):
parameters; FLOPs per 3×288×144 image (torch.utils.flop_counter.FlopCounterMode, which
counts a multiply-add as 2 FLOPs); the CPU time of one training step (forward, all
losses, backward) on a P×K batch (default 4 ids × 2 visible + 2 infrared), timed
interleaved so that both see the same machine state, and its ratio; the inference time
(``infer``, attribute source "predicted" and "gt") and its ratio; and the peak
resident memory of a fresh subprocess that builds each model and runs one training step
(``VmHWM`` from ``/proc/self/status``, which restarts at exec; ``ru_maxrss`` would
inherit the parent's peak), with the part the training step adds over the built model.

    .venv/bin/python benchmarks/bench_model.py                 # the reported figures
    .venv/bin/python benchmarks/bench_model.py --repeat 5 --threads 2
    .venv/bin/python benchmarks/bench_model.py --threads 1 --clock cpu   # on a busy machine

``--clock cpu`` times with the process's CPU time (``time.process_time``) instead of the
wall clock: with one thread it counts only this process's own work, so other processes
sharing the cores do not inflate it (with several threads it would also count their
spin-waits; use it with ``--threads 1``).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from paenet.losses import paenet_losses  # noqa: E402
from paenet.model import PAENet, PAENetConfig  # noqa: E402

NUM_CLASSES = 395  # SYSU-MM01 training identities


def configs(backbone: str) -> dict[str, PAENetConfig]:
    common = {"num_classes": NUM_CLASSES, "backbone": backbone, "pretrained": "none"}
    return {
        "baseline": PAENetConfig(**common, pae=False, aal=False, attribute_head=False),
        "paenet": PAENetConfig(**common),
    }


def make_batch(
    ids: int, k: int, height: int, width: int, num_attributes: int, seed: int
) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    n = 2 * ids * k
    images = torch.randn(n, 3, height, width, generator=g)
    labels = torch.arange(ids).repeat_interleave(k).repeat(2)
    modality = torch.cat([torch.zeros(ids * k), torch.ones(ids * k)]).long()
    attributes = torch.randint(-1, 2, (n, num_attributes), generator=g)
    return images, labels, modality, attributes


def train_step(model: PAENet, batch: tuple[torch.Tensor, ...]) -> None:
    images, labels, modality, attributes = batch
    model.train()
    model.zero_grad(set_to_none=True)
    out = model(images, modality, attributes)
    paenet_losses(out, labels, modality, attributes).total.backward()


def infer(model: PAENet, batch: tuple[torch.Tensor, ...], source: str) -> None:
    images, _, modality, attributes = batch
    model.eval()
    with torch.inference_mode():
        model.infer(images, modality, source, attributes)  # type: ignore[arg-type]


def count_flops(fn: Callable[[], None]) -> int:
    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return counter.get_total_flops()


CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}
_clock: Callable[[], float] = time.perf_counter


def timed(fn: Callable[[], None]) -> float:
    t0 = _clock()
    fn()
    return _clock() - t0


def memory_worker(name: str, args: argparse.Namespace) -> int:
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = PAENet(configs(args.backbone)[name])
    batch = make_batch(args.ids, args.k, args.height, args.width, model.config.num_attributes, 0)
    before = _proc_status_kib("VmRSS")
    train_step(model, batch)
    peak = _proc_status_kib("VmHWM")
    if peak is None or before is None:  # not Linux: ru_maxrss (KiB on Linux, bytes on macOS)
        peak, before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, 0
    print(json.dumps({"peak_rss_mib": peak / 1024, "step_mib": (peak - before) / 1024}))
    return 0


def _proc_status_kib(key: str) -> int | None:
    """A ``/proc/self/status`` memory line in KiB. VmHWM (peak RSS) restarts at exec,
    unlike ``ru_maxrss``, which a child inherits from the process that forked it."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_memory(name: str, args: argparse.Namespace) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--memory-worker", name, "--backbone", args.backbone]
    cmd += ["--ids", str(args.ids), "--k", str(args.k), "--threads", str(args.threads)]
    cmd += ["--height", str(args.height), "--width", str(args.width)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="resnet50", choices=("resnet50", "resnet18"))
    parser.add_argument("--ids", type=int, default=4, help="P identities per batch")
    parser.add_argument("--k", type=int, default=2, help="K images per identity and modality")
    parser.add_argument("--height", type=int, default=288)
    parser.add_argument("--width", type=int, default=144)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per model (median)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument(
        "--clock", choices=tuple(CLOCKS), default="wall", help="wall clock or process CPU time"
    )
    parser.add_argument("--memory-worker", choices=("baseline", "paenet"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_worker:
        return memory_worker(args.memory_worker, args)
    global _clock
    _clock = CLOCKS[args.clock]

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    models = {name: PAENet(cfg) for name, cfg in configs(args.backbone).items()}
    n_attr = models["paenet"].config.num_attributes
    batch = make_batch(args.ids, args.k, args.height, args.width, n_attr, 0)
    one = tuple(t[:1] for t in batch)
    n_images = batch[0].shape[0]

    params = {name: sum(p.numel() for p in m.parameters()) for name, m in models.items()}
    pae = models["paenet"]
    head_parts = {
        "pae": pae.pae,
        "aal": pae.aal,
        "attribute_head": pae.attribute_head,
    }
    flops_infer = {
        name: count_flops(lambda m=m: infer(m, one, "predicted")) for name, m in models.items()
    }
    flops_train_fwd = {}
    for name, m in models.items():
        m.train()
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            m(batch[0], batch[2], batch[3])
        flops_train_fwd[name] = counter.get_total_flops() / n_images

    for m in models.values():  # warm-up (allocator, kernels, lazy init)
        train_step(m, batch)
        infer(m, batch, "predicted")
    train_t: dict[str, list[float]] = {name: [] for name in models}
    infer_t: dict[str, list[float]] = {name: [] for name in models}
    infer_gt: list[float] = []
    for _ in range(args.repeat):
        for name, m in models.items():
            train_t[name].append(timed(lambda m=m: train_step(m, batch)))
            infer_t[name].append(timed(lambda m=m: infer(m, batch, "predicted")))
        infer_gt.append(timed(lambda: infer(pae, batch, "gt")))
    train_med = {k: statistics.median(v) for k, v in train_t.items()}
    train_min = {k: min(v) for k, v in train_t.items()}
    infer_med = {k: statistics.median(v) for k, v in infer_t.items()}
    memory = {name: peak_memory(name, args) for name in models}

    try:
        python = str(Path(sys.executable).relative_to(REPO))
    except ValueError:
        python = sys.executable
    cmd = " ".join([python, "benchmarks/bench_model.py", *(argv or sys.argv[1:])])
    print(
        f"# PAENet vs baseline, {args.backbone}, CPU, {args.threads} threads, "
        f"{args.clock} clock, torch {torch.__version__}"
    )
    print(
        f"# batch: {args.ids} ids x ({args.k} visible + {args.k} infrared) = {n_images} images "
        f"at 3x{args.height}x{args.width}; median of {args.repeat} runs"
    )
    print(f"params baseline            {params['baseline'] / 1e6:8.2f} M")
    print(f"params paenet              {params['paenet'] / 1e6:8.2f} M")
    head = params["paenet"] - params["baseline"]
    print(f"params head (difference)   {head / 1e6:8.2f} M  (target < 20 M)")
    for part, module in head_parts.items():
        count = sum(p.numel() for p in module.parameters()) if module is not None else 0
        print(f"  of which {part:16s} {count / 1e6:8.2f} M")
    print(f"GFLOPs/image inference baseline {flops_infer['baseline'] / 1e9:8.3f}")
    print(
        f"GFLOPs/image inference paenet   {flops_infer['paenet'] / 1e9:8.3f}  "
        f"(x{flops_infer['paenet'] / flops_infer['baseline']:.3f}; source=predicted)"
    )
    print(f"GFLOPs/image train fwd baseline {flops_train_fwd['baseline'] / 1e9:8.3f}")
    print(
        f"GFLOPs/image train fwd paenet   {flops_train_fwd['paenet'] / 1e9:8.3f}  "
        f"(x{flops_train_fwd['paenet'] / flops_train_fwd['baseline']:.3f}; with AAL and attribute head)"
    )
    print(f"train step baseline        {train_med['baseline']:8.3f} s")
    print(
        f"train step paenet          {train_med['paenet']:8.3f} s  "
        f"(x{train_med['paenet'] / train_med['baseline']:.3f}; target <= 1.30)"
    )
    print(
        f"train step ratio of the fastest runs x{train_min['paenet'] / train_min['baseline']:.3f}"
    )
    print(f"inference baseline         {infer_med['baseline']:8.3f} s / batch")
    print(
        f"inference paenet predicted {infer_med['paenet']:8.3f} s / batch  "
        f"(x{infer_med['paenet'] / infer_med['baseline']:.3f}; target <= 1.15)"
    )
    gt = statistics.median(infer_gt)
    print(f"inference paenet gt        {gt:8.3f} s / batch  (x{gt / infer_med['baseline']:.3f})")
    for name in models:
        mem = memory[name]
        print(
            f"peak RSS {name:8s} {mem['peak_rss_mib']:8.1f} MiB; training step adds "
            f"{mem['step_mib']:8.1f} MiB (VmHWM of a fresh subprocess: build + 1 step)"
        )
    ratio = memory["paenet"]["step_mib"] / memory["baseline"]["step_mib"]
    print(f"training-step memory ratio paenet/baseline x{ratio:.3f}")
    print(
        f"raw train times: {json.dumps({k: [round(t, 3) for t in v] for k, v in train_t.items()})}"
    )
    print(
        f"raw inference times: {json.dumps({k: [round(t, 3) for t in v] for k, v in infer_t.items()})}"
    )
    print(f"reproduce: {cmd}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
