"""``paenet-data``: inspect a SYSU-MM01 or RegDB root, or write the synthetic stand-in."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from paenet.data.errors import DatasetError
from paenet.data.kinds import KINDS, kind_spec, kind_specs
from paenet.logs import setup_logging
from paenet.synth.config import SCALES


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paenet-data",
        description="Inspect SYSU-MM01 / RegDB roots and write the synthetic stand-in dataset.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    sub = parser.add_subparsers(dest="command", required=True)

    ins = sub.add_parser(
        "inspect",
        help="summarise a dataset root: identities, images per camera/modality/split, protocols",
    )
    ins.add_argument("--dataset", choices=KINDS, required=True, help="the root's layout")
    ins.add_argument("root", type=Path, help="dataset root (e.g. datasets/SYSU-MM01)")
    ins.add_argument("--json", action="store_true", help="print JSON with stable keys")
    ins.add_argument(
        "--rand-perm",
        type=Path,
        default=None,
        help="SYSU only: the authors' rand_perm_cam.mat; protocols then use the official "
        "gallery permutations (default: the seeded draw)",
    )
    ins.add_argument(
        "--verify-images", action="store_true", help="decode every image (progress bar)"
    )
    ins.set_defaults(func=cmd_inspect)

    syn = sub.add_parser("synth", help="write the synthetic stand-in dataset in the real layout")
    syn.add_argument("--layout", choices=KINDS, required=True, help="the layout to write")
    syn.add_argument("--out", type=Path, required=True, help="output folder (new or empty)")
    syn.add_argument(
        "--scale",
        choices=SCALES,
        default="tiny",
        help="tiny: 30 ids, seconds; small: 213 ids, about 4,000 images, enough identities "
        "for training to carry over to unseen ones; full: the real dataset's structure",
    )
    syn.add_argument("--seed", type=int, default=0, help="same seed, same images (default 0)")
    syn.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    syn.add_argument("--no-progress", action="store_true", help="no progress bar")
    syn.set_defaults(func=cmd_synth)
    return parser


def cmd_inspect(args: argparse.Namespace) -> int:
    from paenet.data.images import verify_images
    from paenet.data.summary import render_text

    kind = kind_spec(args.dataset)
    if args.rand_perm and not kind.official_permutations:
        able = " / ".join(k.title for k in kind_specs() if k.official_permutations)
        raise SystemExit(f"paenet-data: --rand-perm applies to {able} only")
    ds = kind.read(args.root)
    rand_perm = kind.load_permutations(args.rand_perm) if args.rand_perm else None
    summary = kind.summarize(ds, rand_perm)
    bad = []
    if args.verify_images:
        bad = verify_images(ds.root, ds.samples, progress=True)
        summary["bad_images"] = [{"path": str(b.path), "problem": b.problem} for b in bad]
    if args.json:
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    else:
        sys.stdout.write(render_text(summary) + "\n")
        for b in bad:
            sys.stdout.write(f"BAD IMAGE {b.path}: {b.problem}\n")
    return 1 if bad else 0


def cmd_synth(args: argparse.Namespace) -> int:
    from paenet.data.outdir import FolderKind, check_output
    from paenet.synth import SynthConfig, synthesize
    from paenet.synth.writer import INFO_FILE, PROGRESS_FILE

    # the rule every output folder follows (paenet.data.outdir): new, empty, or ours
    # (a stand-in, which synthesize resumes or refuses by its config)
    stand_in = FolderKind.marked("a synthetic stand-in", (INFO_FILE, PROGRESS_FILE))
    check_output(args.out, stand_in, label="--out")
    report = synthesize(
        SynthConfig(
            layout=args.layout,
            out=args.out,
            scale=args.scale,
            seed=args.seed,
            workers=args.workers,
        ),
        progress=not args.no_progress,
    )
    sys.stdout.write(f"{report}\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    try:
        return args.func(args)
    except FileExistsError as exc:
        sys.stderr.write(f"paenet-data: error: {exc} (pass another --out)\n")
        return 2
    except (DatasetError, ValueError) as exc:
        sys.stderr.write(f"paenet-data: error: {exc}\n")
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
