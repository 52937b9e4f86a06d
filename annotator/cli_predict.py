"""``paenet-predict``: suggest every identity's eight attributes with a trained model.

    paenet-predict --checkpoint CKPT --dataset NAME [--source NAME] [--calibrate-on SOURCE]
                   [--batch-size N] [--device auto|cpu|cuda] [--db URL]

Runs the checkpoint's attribute-recognition head over every image of a registered
dataset, pools the logits per identity and per camera (mean of logits), calibrates one
temperature per attribute on labelled identities the model did not train on, and stores
the result as the model source NAME (default ``model-<dataset>``): suggestions that the
Annotate page shows and a labeller accepts with Enter. They never count as labels.
Re-running replaces that source's suggestions in one transaction.
Exit codes: 0 done, 2 bad input (unknown dataset, unreadable image, unusable checkpoint).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from paenet.logs import setup_logging


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="paenet-predict",
        description="Suggest every identity's attributes with a trained attribute head.",
    )
    p.add_argument("--checkpoint", type=Path, required=True, help="paenet-train .pt file")
    p.add_argument("--dataset", required=True, help="registered dataset name")
    p.add_argument("--source", default=None, help="model source name (default model-DATASET)")
    p.add_argument(
        "--calibrate-on",
        default=None,
        metavar="SOURCE",
        help="label source of this dataset to fit the temperatures on (default: the "
        "training manifest's identities the model did not train on)",
    )
    p.add_argument(
        "--batch-size", type=int, default=64, metavar="N",
        help="images per forward pass (default 64; lower it when the GPU runs out of memory)",
    )  # fmt: skip
    p.add_argument("--workers", type=int, default=0, help="image decoding processes")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--no-amp", action="store_true", help="full precision on CUDA")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--db", default=None, help="SQLAlchemy database URL")
    p.add_argument(
        "-v", "--verbose", action="count", default=0, help="more logging (-v info, -vv debug)"
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    if args.batch_size < 1:
        sys.stderr.write("paenet-predict: error: --batch-size must be at least 1\n")
        return 2
    from annotator.predict import PredictOptions, run_predict
    from annotator.store.db import SchemaError, open_store
    from annotator.store.errors import StoreError
    from paenet.data.errors import DatasetError
    from paenet.data.images import ImageDecodeError
    from paenet.model.loading import CheckpointError

    options = PredictOptions(
        checkpoint=args.checkpoint,
        dataset=args.dataset,
        source=args.source,
        calibrate_on=args.calibrate_on,
        batch_size=args.batch_size,
        device=args.device,
        workers=args.workers,
        amp=not args.no_amp,
        progress=not args.no_progress,
    )
    try:
        store = open_store(args.db)
    except (SchemaError, StoreError, ValueError, OSError) as exc:
        sys.stderr.write(f"paenet-predict: error: {exc}\n")
        return 2
    try:
        report = run_predict(store, options)
    except (
        CheckpointError, DatasetError, ImageDecodeError, StoreError, SchemaError, ValueError,
        RuntimeError, OSError,
    ) as exc:  # fmt: skip
        sys.stderr.write(f"paenet-predict: error: {exc}\n")
        return 2
    finally:
        store.dispose()
    sys.stdout.write("\n".join(report.lines()) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
