"""``paenet-eval``: evaluate a paenet-train checkpoint on a manifest's test protocols.

    paenet-eval --checkpoint CKPT --manifest DIR [--attributes predicted|gt|backbone]
                [--out DIR] [--trial K ...] [--force] [--batch-size N] [--device auto]

SYSU-MM01: all/indoor search × single/multi-shot × 10 trials; RegDB: the checkpoint's
trial, visible→thermal and thermal→visible (another trial only with ``--force``, and
marked). Each test image is run through the model once. Prints a table of mean ± std
over trials; with ``--out``, writes results.json, results.md and CMC PNGs (the folder
is created and checked writable before the evaluation starts).

``--attributes``: ``predicted`` (default; the attribute head's output, what a
deployment can use), ``gt`` (the manifest's labels; the paper's protocol; refused when
a test image's attributes are unknown), ``backbone`` (alias ``none``: the backbone
feature without attributes; a diagnostic, not the baseline model).
Every test image's header is checked first: an unreadable one (missing, empty, not an
image, a link outside the dataset root, over the pixel limit) is listed and refused
(exit 2) unless ``--skip-unreadable`` leaves it out, which the result then notes.
Exit codes: 0 done, 2 bad input or refused evaluation.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from paenet.logs import setup_logging


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paenet-eval", description="Evaluate a checkpoint on a manifest's test protocols."
    )
    parser.add_argument("--checkpoint", type=Path, required=True, help="paenet-train .pt file")
    parser.add_argument("--manifest", type=Path, required=True, help="manifest directory")
    parser.add_argument(
        "--attributes",
        choices=("predicted", "gt", "backbone", "none"),
        default="predicted",
        help="attribute source of the retrieval feature (default: predicted)",
    )
    parser.add_argument("--out", type=Path, default=None, help="write JSON/Markdown/PNGs here")
    parser.add_argument(
        "--trial",
        type=int,
        action="append",
        default=None,
        help="trial to evaluate (repeatable; SYSU 0-9, default all; RegDB default: "
        "the checkpoint's)",
    )
    parser.add_argument(
        "--force", action="store_true", help="evaluate a RegDB trial the model was not trained for"
    )
    parser.add_argument(
        "--batch-size", type=int, default=64, help="test images per forward pass (default 64)"
    )
    parser.add_argument("--workers", type=int, default=0, help="image decoding processes")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--no-amp", action="store_true", help="full precision on CUDA")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--skip-unreadable",
        action="store_true",
        help="leave unreadable test images out (noted on the result) instead of refusing",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    from paenet.data.images import ImageDecodeError
    from paenet.data.manifest import ManifestError
    from paenet.evaluation.report import format_table, write_outputs
    from paenet.evaluation.session import (
        EvalOptions,
        EvaluationError,
        check_output_dir,
        run_evaluation,
    )
    from paenet.model.loading import CheckpointError

    options = EvalOptions(
        source=args.attributes,
        trials=tuple(args.trial) if args.trial else None,
        force=args.force,
        batch_size=args.batch_size,
        workers=args.workers,
        device=args.device,
        amp=not args.no_amp,
        progress=not args.no_progress,
        skip_unreadable=args.skip_unreadable,
    )
    try:
        if args.out is not None:
            check_output_dir(args.out)
        report = run_evaluation(args.checkpoint, args.manifest, options)
    except (
        EvaluationError,
        CheckpointError,
        ManifestError,
        ImageDecodeError,
        FileNotFoundError,
        ValueError,
    ) as exc:
        sys.stderr.write(f"paenet-eval: error: {exc}\n")
        return 2
    # The table first: a write that still fails (a full disk) does not lose the numbers.
    sys.stdout.write(format_table(report) + "\n")
    if args.out is not None:
        try:
            written = write_outputs(report, args.out)
        except OSError as exc:
            sys.stderr.write(
                f"paenet-eval: error: cannot write the results to {args.out}: {exc} "
                "(the table above is the evaluation's result)\n"
            )
            return 2
        for path in written:
            sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
