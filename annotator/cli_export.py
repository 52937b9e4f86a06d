"""``paenet-export``: write an attribute-augmented manifest, or check one.

    paenet-export --dataset NAME [--out DIR] [--sources A,B] [--unknown fail|drop|0|1]
                  [--format manifest|paenet-official] [--rand-perm rand_perm_cam.mat]
    paenet-export --check DIR [--root DATASET_ROOT] [--deep]

Database: ``--db URL``, else ``PAENET_DB_URL``, else ``sqlite:///datasets/annotations.sqlite3``
(like ``paenet-labels``); it must exist. Default ``--out``: ``<data root>/manifests/<dataset>``
(data root: ``--data-root``, else ``PAENET_DATA_ROOT``, else ``datasets``). ``--out`` must be
absent, empty or a manifest, outside the dataset root; two exports to one folder take turns
(``docs/manifest.md``, "Output folders, overwrite and locking").
Exit codes: 0 done / manifest valid; 1 unknown labels stopped the export, or ``--check``
found problems; 2 bad input (named in the message).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from annotator.export.check import check_manifest
from annotator.export.official import OFFICIAL_FORMAT, OfficialFormatError
from annotator.export.run import (
    FORMATS,
    UNKNOWN_POLICIES,
    ExportOptions,
    UnknownLabelsError,
    public_url,
    run_export,
)
from annotator.store.db import SchemaError, open_store, resolve_url
from annotator.store.errors import StoreError
from paenet.data.errors import DatasetError
from paenet.data.manifest import ManifestError
from paenet.data.outdir import MANIFEST, check_output
from paenet.logs import setup_logging

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="paenet-export", description="Write an attribute-augmented manifest, or check one."
    )
    p.add_argument("--dataset", help="registered dataset name, e.g. sysu-synthetic")
    p.add_argument("--out", type=Path, default=None, help="manifest directory to write")
    p.add_argument("--db", default=None, help="SQLAlchemy database URL")
    p.add_argument("--data-root", type=Path, default=None, help="for the default --out")
    p.add_argument(
        "--sources", default=None,
        help="label sources in priority order, comma-separated (default: the annotators' "
        "agreed value; imported sources count only when named)",
    )  # fmt: skip
    p.add_argument(
        "--unknown", choices=UNKNOWN_POLICIES, default="fail",
        help="unknown or undecided values of training identities: fail (stop and list "
        "them, the default), drop (leave those identities out), 0 or 1 (fill)",
    )  # fmt: skip
    p.add_argument(
        "--format", choices=FORMATS, default="manifest",
        help=f"{OFFICIAL_FORMAT}: also write cam1_att.mat … cam6_att.mat (SYSU)",
    )  # fmt: skip
    p.add_argument(
        "--rand-perm", type=Path, default=os.environ.get("PAENET_RAND_PERM") or None,
        help="SYSU rand_perm_cam.mat for the official gallery sampling (default: seeded)",
    )  # fmt: skip
    p.add_argument("--check", type=Path, metavar="DIR", help="verify an existing manifest")
    p.add_argument("--root", type=Path, default=None, help="--check: the dataset root, if moved")
    p.add_argument(
        "--deep", action="store_true",
        help="--check: also decode every image in full (finds truncated files; slower)",
    )  # fmt: skip
    p.add_argument(
        "-v", "--verbose", action="count", default=0, help="more logging (-v info, -vv debug)"
    )
    return p


def _check(args: argparse.Namespace) -> int:
    report = check_manifest(args.check, args.root, deep=args.deep)
    if report.ok:
        sys.stdout.write(f"{args.check}: valid ({report.images} images, all present)\n")
        return 0
    sys.stderr.write(f"{args.check}: {len(report.problems)} problem(s)\n")
    for problem in report.problems:
        sys.stderr.write(f"  {problem}\n")
    return 1


def _export(args: argparse.Namespace) -> int:
    url = resolve_url(args.db)
    if url.startswith("sqlite") and ":memory:" not in url:
        db_file = Path(url.split("///", 1)[-1])
        if not db_file.is_file():
            raise StoreError(
                f"database {db_file} does not exist; register and label a dataset first "
                "(paenet-labels or the app), or pass --db"
            )
    data_root = args.data_root or Path(os.environ.get("PAENET_DATA_ROOT", "datasets"))
    out = args.out or data_root / "manifests" / args.dataset
    sources = None
    if args.sources is not None:
        sources = tuple(s.strip() for s in args.sources.split(",") if s.strip())
        if not sources:
            raise ValueError("--sources needs at least one source name")
    formats = ("manifest", OFFICIAL_FORMAT) if args.format == OFFICIAL_FORMAT else ("manifest",)
    options = ExportOptions(args.dataset, out, sources, args.unknown, formats, args.rand_perm)
    check_output(out, MANIFEST, label="--out")  # before the database is opened (migrated)
    store = open_store(url)
    try:
        result = run_export(store, options, label="--out")
    finally:
        store.dispose()
    sys.stdout.write(
        f"wrote {result.directory}: {result.images} images of {result.identities} identities, "
        f"{result.protocols} protocols (database {public_url(url)})\n"
    )
    if result.dropped:
        sys.stdout.write(f"  dropped {len(result.dropped)} training identities (--unknown drop)\n")
    if result.filled:
        sys.stdout.write(f"  filled {result.filled} unknown values with {args.unknown}\n")
    if result.test_unknowns:
        sys.stdout.write(f"  {result.test_unknowns} unknown values of test identities kept\n")
    for name in result.files:
        sys.stdout.write(f"  {name}\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    if (args.check is None) == (args.dataset is None):
        parser.error("give either --dataset NAME (export) or --check DIR")
    try:
        return _check(args) if args.check is not None else _export(args)
    except UnknownLabelsError as exc:
        sys.stderr.write(f"paenet-export: stopped: {exc}\n")
        return 1
    except (StoreError, SchemaError, DatasetError, ManifestError, OfficialFormatError,
            ValueError, OSError) as exc:  # fmt: skip
        sys.stderr.write(f"paenet-export: error: {exc}\n")
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
