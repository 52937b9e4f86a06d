"""Input pipeline speed: images per second per core, decoded and augmented at 288×144.

Three pipelines run on the same files in the same process, one thread (one core), one
after the other, repeated and interleaved (median of the repeats):

- reference: the field's usual pipeline: PIL decode + resize, torchvision
  Pad(10) + RandomCrop + RandomHorizontalFlip + ToTensor + Normalize (float32 out);
- files: ours from files: OpenCV decode + resize, the albumentations pipeline
  (pad + crop + flip), uint8 CHW tensor out (normalised later on the device); and the
  same with ``normalize="worker"`` (float32 out), for a like-for-like comparison;
- cache: ours from the decoded uint8 memory-mapped cache (no decode, no resize).

The files are the tiny synthetic stand-in's images re-encoded as JPEG at
``--file-size`` (default 256×128, a typical person crop), so decoding costs what a
real crop costs. Targets: files >= 4× and cache >= 12× the reference.

    .venv/bin/python benchmarks/bench_input.py [--images 300] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402
from torchvision import transforms as T  # noqa: E402

from paenet.data.images import IMAGENET_MEAN, IMAGENET_STD, decode  # noqa: E402
from paenet.train.data import DecodedCache, TrainImages  # noqa: E402
from paenet.train.transforms import build_pipeline, prepare  # noqa: E402

SIZE = (288, 144)
PAD = 10


def make_files(out: Path, count: int, file_size: tuple[int, int]) -> list[Path]:
    from paenet.synth import SynthConfig, synthesize

    synthesize(SynthConfig(layout="sysu", out=out / "stand-in", scale="tiny", seed=0))
    sources = sorted((out / "stand-in").glob("cam*/*/*.jpg"))
    paths = []
    for i in range(count):
        image = cv2.imread(str(sources[i % len(sources)]))
        image = cv2.resize(image, (file_size[1], file_size[0]), interpolation=cv2.INTER_CUBIC)
        path = out / "files" / f"{i:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, 95])
        paths.append(path)
    return paths


def reference_pipeline() -> Callable[[Path], torch.Tensor]:
    tf = T.Compose(
        [
            T.Pad(10),
            T.RandomCrop(SIZE),
            T.RandomHorizontalFlip(),
            T.ToTensor(),
            T.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )

    def run(path: Path) -> torch.Tensor:
        with Image.open(path) as im:
            image = im.convert("RGB").resize((SIZE[1], SIZE[0]), Image.BILINEAR)
        return tf(image)

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--file-size", type=int, nargs=2, default=(256, 128), metavar=("H", "W"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_files(Path(tmp), args.images, tuple(args.file_size))
        images = TrainImages(
            paths=tuple(paths),
            labels=np.zeros(len(paths), np.int64),
            modality=np.zeros(len(paths), np.int64),
            attributes=np.zeros((len(paths), 8), np.int8),
            pids=(0,),
        )
        cache = DecodedCache.ensure(
            Path(tmp) / "cache", "0" * 64, images, SIZE, PAD, progress=False
        )
        pipe_u8, _ = build_pipeline(SIZE, pad=PAD, flip=True)
        pipe_f32, _ = build_pipeline(SIZE, pad=PAD, flip=True, normalize=True)
        reference = reference_pipeline()
        torch.manual_seed(0)

        candidates: dict[str, Callable[[int], object]] = {
            "reference (PIL + torchvision)": lambda i: reference(paths[i]),
            "ours, files, uint8 out": lambda i: torch.from_numpy(
                pipe_u8(prepare(decode(paths[i]), SIZE, PAD), i)
            ),
            "ours, files, float32 out": lambda i: torch.from_numpy(
                pipe_f32(prepare(decode(paths[i]), SIZE, PAD), i)
            ),
            "ours, decoded cache, uint8 out": lambda i: torch.from_numpy(pipe_u8(cache[i], i)),
        }
        times: dict[str, list[float]] = {name: [] for name in candidates}
        for fn in candidates.values():  # warm-up (file cache, lazy imports)
            for i in range(min(20, len(paths))):
                fn(i)
        for _ in range(args.repeat):
            for name, fn in candidates.items():
                t0 = time.perf_counter()
                for i in range(len(paths)):
                    fn(i)
                times[name].append(time.perf_counter() - t0)
    rates = {name: len(paths) / statistics.median(t) for name, t in times.items()}
    ref = rates["reference (PIL + torchvision)"]
    print(
        f"input pipeline at {SIZE[0]}x{SIZE[1]}, {len(paths)} JPEG files of "
        f"{args.file_size[0]}x{args.file_size[1]}, 1 thread, median of {args.repeat}"
    )
    for name, rate in rates.items():
        print(f"  {name:34s} {rate:8.0f} images/s/core   x{rate / ref:5.2f}")
    files = rates["ours, files, uint8 out"] / ref
    cached = rates["ours, decoded cache, uint8 out"] / ref
    print(f"target files >= 4x: {'PASS' if files >= 4 else 'FAIL'} ({files:.2f}x)")
    print(f"target cache >= 12x: {'PASS' if cached >= 12 else 'FAIL'} ({cached:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
