"""Training throughput: images per second of the baseline (no PAE) and PAENet.

Both models (ResNet-50, random init, 288×144 by default) run the trainer's own step
(:func:`paenet.train.steps.train_step`: forward, every loss, backward, SGD step) on a
fixed P×K batch already on the device (the input pipeline is measured by
``bench_input.py``), interleaved so that both see the same machine state; the median
step time gives images/s and the PAENet/baseline ratio. On CUDA each model runs with
AMP off and on (bf16 where supported, else fp16 + GradScaler), channels-last, and the
peak GPU memory of each is reported.

    .venv/bin/python benchmarks/bench_train.py                       # CPU here
    .venv/bin/python benchmarks/bench_train.py --ids 8 --k 4 --steps 20   # on a GPU
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from paenet.data.images import normalize_batch  # noqa: E402
from paenet.losses import LossConfig  # noqa: E402
from paenet.model import PAENet, PAENetConfig  # noqa: E402
from paenet.train.config import OptimConfig, RuntimeConfig  # noqa: E402
from paenet.train.steps import (  # noqa: E402
    amp_dtype,
    build_optimizer,
    detach_attribute_head_input,
    train_step,
)

NUM_CLASSES = 395


def build(name: str, backbone: str, device: torch.device, channels_last: bool) -> PAENet:
    flags = {"pae": False, "aal": False, "attribute_head": False} if name == "baseline" else {}
    torch.manual_seed(0)
    model = PAENet(
        PAENetConfig(num_classes=NUM_CLASSES, backbone=backbone, pretrained="none", **flags)
    )
    detach_attribute_head_input(model)
    model.to(device).train()
    return model.to(memory_format=torch.channels_last) if channels_last else model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backbone", default="resnet50")
    parser.add_argument("--size", type=int, nargs=2, default=(288, 144), metavar=("H", "W"))
    parser.add_argument("--ids", type=int, default=2, help="P identities per batch")
    parser.add_argument("--k", type=int, default=2, help="K images per identity and modality")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per model and mode")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    cuda = device.type == "cuda"
    p, k = args.ids, args.k
    n = 2 * p * k
    g = torch.Generator().manual_seed(0)
    images_u8 = torch.randint(0, 256, (n, *args.size, 3), dtype=torch.uint8, generator=g)
    labels = torch.arange(p).repeat_interleave(k).repeat(2).to(device)
    modality = torch.cat([torch.zeros(p * k), torch.ones(p * k)]).long().to(device)
    attributes = torch.randint(-1, 2, (n, 8), generator=g, dtype=torch.int8).to(device)
    modes = [("fp32", RuntimeConfig(amp="off"))]
    if cuda:
        modes.append(("amp", RuntimeConfig(amp="auto")))
    results = {}
    for mode, runtime in modes:
        dtype = amp_dtype(device, runtime)
        models = {m: build(m, args.backbone, device, cuda) for m in ("baseline", "paenet")}
        opts = {m: build_optimizer(models[m], OptimConfig(lr=1e-4)) for m in models}
        scalers = {
            m: torch.amp.GradScaler(device.type, enabled=dtype == torch.float16) for m in models
        }
        images = normalize_batch(images_u8, device, channels_last=cuda)
        times: dict[str, list[float]] = {m: [] for m in models}
        peak: dict[str, float] = {}
        for i in range(args.warmup + args.steps):
            for m, model in models.items():
                if cuda:
                    torch.cuda.synchronize()
                    torch.cuda.reset_peak_memory_stats()
                t0 = time.perf_counter()
                train_step(
                    model, images, labels, modality, attributes, optimizer=opts[m],
                    scaler=scalers[m], losses=LossConfig(), feed_predicted=False,
                    dtype=dtype, step=i + 1,
                )  # fmt: skip
                if cuda:
                    torch.cuda.synchronize()
                    peak[m] = torch.cuda.max_memory_allocated() / 2**30
                if i >= args.warmup:
                    times[m].append(time.perf_counter() - t0)
        for m in models:
            results[(m, mode)] = (n / statistics.median(times[m]), peak.get(m))
        del models, opts
        if cuda:
            torch.cuda.empty_cache()
    where = (
        torch.cuda.get_device_name(device) if cuda else f"CPU, {torch.get_num_threads()} threads"
    )
    print(
        f"training step, {args.backbone}, {args.size[0]}x{args.size[1]}, batch {n} "
        f"(P={p}, K={k}), {where}, median of {args.steps} steps after {args.warmup} warm-up"
    )
    for (m, mode), (rate, mem) in results.items():
        extra = f"  peak {mem:5.2f} GiB" if mem is not None else ""
        print(f"  {m:8s} {mode:4s} {rate:8.2f} images/s{extra}")
    for mode, _ in modes:
        ratio = results[("baseline", mode)][0] / results[("paenet", mode)][0]
        print(f"  {mode}: PAENet step time = {ratio:.2f}x the baseline's")
    if not cuda:
        print("  (no CUDA device: GPU figures not measured)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
