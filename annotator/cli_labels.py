"""``paenet-labels``: register datasets, import/export labels, agreement, from the shell.

Every command opens the database (``--db URL``, else ``PAENET_DB_URL``, else
``sqlite:///datasets/annotations.sqlite3``) and migrates it to the code's schema first.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from annotator.store.db import SchemaError, Store, open_store
from annotator.store.errors import StoreError, UnknownDatasetError
from annotator.store.importers.common import SourceExistsError, UnknownIdsError
from annotator.store.importers.run import (
    MIDDLE_TROUSERS,
    ImportFormat,
    ImportOptions,
    OptionNotApplicableError,
)
from paenet.attributes import ATTRIBUTE_KEYS
from paenet.data.errors import DatasetError
from paenet.data.kinds import KINDS
from paenet.logs import setup_logging

_HINTS: tuple[tuple[type[Exception], str], ...] = (
    (SourceExistsError, "pass --source NAME"),
    (UnknownIdsError, "pass --skip-unknown-ids to import the ids it has"),
    (UnknownDatasetError, "register it first: paenet-labels register --name NAME --kind KIND ROOT"),
)
"""The store's errors in this command's words: which flag or command helps."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="paenet-labels",
        description="Register datasets, import and export labels, and measure agreement, "
        "from the shell.",
    )
    p.add_argument("--db", default=None, help="SQLAlchemy database URL")
    p.add_argument(
        "-v", "--verbose", action="count", default=0, help="more logging (-v info, -vv debug)"
    )
    sub = p.add_subparsers(dest="command", required=True)

    reg = sub.add_parser("register", help="register (or rescan) a dataset root")
    reg.add_argument("--name", required=True, help="dataset name used in links, e.g. sysu")
    reg.add_argument("--kind", choices=KINDS, required=True, help="the root's layout")
    reg.add_argument("root", type=Path, help="the dataset's root folder")
    reg.set_defaults(func=cmd_register)

    imp = sub.add_parser("import", help="import labels as a named source")
    imp.add_argument("format", choices=[f.value for f in ImportFormat], help="the file's format")
    imp.add_argument("path", type=Path, help="mat folder, xlsx file, synth root or CSV file")
    imp.add_argument("--dataset", default="sysu", help="registered dataset name")
    imp.add_argument("--source", default=None, help="source name (default: the format)")
    imp.add_argument(
        "--flip", action="append", default=[], choices=ATTRIBUTE_KEYS,
        help="paenet-mat: invert this attribute's polarity (repeatable)",
    )  # fmt: skip
    imp.add_argument(
        "--middle-trousers", type=int, choices=MIDDLE_TROUSERS, default=0,
        help="paenet-xlsx: value of 'middle' trousers length (0 short, 1 long, -1 unknown)",
    )  # fmt: skip
    imp.add_argument(
        "--skip-unknown-ids", action="store_true",
        help="import the ids the dataset has, count the others (default: refuse)",
    )  # fmt: skip
    imp.set_defaults(func=cmd_import)

    exp = sub.add_parser("export", help="write every label and decision to CSV")
    exp.add_argument("out", type=Path, help="CSV file to write")
    exp.add_argument("--dataset", default=None, help="only this dataset (default: all)")
    exp.set_defaults(func=cmd_export)

    agr = sub.add_parser("agreement", help="Cohen's / Fleiss' kappa per attribute")
    agr.add_argument("sources", nargs="+", help="two or more source names")
    agr.add_argument("--dataset", default="sysu", help="registered dataset name")
    agr.add_argument("--per-camera", action="store_true", help="compare per-camera labels")
    agr.add_argument(
        "--show-conflicts", action="store_true", help="list the disagreeing ids per attribute"
    )
    agr.set_defaults(func=cmd_agreement)
    return p


def cmd_register(store: Store, args: argparse.Namespace, out: TextIO) -> int:
    from annotator.store.services.datasets import register_dataset

    with store.write() as s:
        info = register_dataset(s, args.name, args.kind, args.root)
    out.write(
        f"{info.name} ({info.kind}) at {info.root}: {info.identities} identities, {info.images} images\n"
    )
    return 0


def cmd_import(store: Store, args: argparse.Namespace, out: TextIO) -> int:
    from annotator.store.importers.run import run_import

    fmt = ImportFormat(args.format)
    # the parser's defaults are the options' defaults; a flag given for another format is
    # refused by run_import, in this command's words below
    options = ImportOptions(
        source=args.source,
        flip=tuple(args.flip),
        middle_trousers=args.middle_trousers,
        skip_unknown_ids=args.skip_unknown_ids,
    )
    with store.write() as s:
        rep = run_import(s, fmt, args.path, args.dataset, options)
    out.write(f"imported {rep.labels} labels of {rep.identities} identities as {rep.source}\n")
    for what, n in rep.skipped.items():
        out.write(f"  skipped {n}: {what}\n")
    if rep.notes:
        out.write(f"  {len(rep.notes)} identities disagree across cameras, e.g.:\n")
        for note in rep.notes[:10]:
            out.write(f"    {note}\n")
    return 0


def cmd_export(store: Store, args: argparse.Namespace, out: TextIO) -> int:
    from annotator.export.csv_labels import export_csv

    with store.read() as s:
        n = export_csv(s, args.out, args.dataset)
    out.write(f"wrote {n} rows to {args.out}\n")
    return 0


def cmd_agreement(store: Store, args: argparse.Namespace, out: TextIO) -> int:
    import math

    from annotator.store.services.agreement import MIN_KAPPA_ITEMS, agreement

    with store.read() as s:
        rows = agreement(s, args.dataset, args.sources, per_camera=args.per_camera)
    out.write(f"{'attribute':<18} {'method':<7} {'items':>6} {'raw':>6} {'kappa':>6} conflicts\n")
    for r in rows:
        kappa = "-" if math.isnan(r.kappa) else f"{r.kappa:.3f}"
        out.write(
            f"{r.attribute:<18} {r.method:<7} {r.items:>6} {r.raw:>6.3f} {kappa:>6} {len(r.conflicts)}\n"
        )
    if any(math.isnan(r.kappa) for r in rows):
        out.write(f"kappa: - below {MIN_KAPPA_ITEMS} items (too few to mean anything)\n")
    if args.show_conflicts:
        for r in rows:
            if r.conflicts:
                out.write(f"{r.attribute}: {' '.join(map(str, r.conflicts))}\n")
    return 0


def describe_error(exc: Exception) -> str:
    """An error of the store or the library, in this command's words."""
    if isinstance(exc, OptionNotApplicableError):
        flag = "--" + exc.option.replace("_", "-")
        formats = ", ".join(f.value for f in exc.applies_to)
        return f"{flag} applies to {formats} imports only, not to {exc.format}"
    message = str(exc)
    for kind, hint in _HINTS:
        if isinstance(exc, kind):
            return f"{message} ({hint})"
    return message


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    try:
        store = open_store(args.db)
    except (SchemaError, StoreError, ValueError, OSError) as exc:
        sys.stderr.write(f"paenet-labels: error: {describe_error(exc)}\n")
        return 2
    try:
        return args.func(store, args, sys.stdout)
    except (StoreError, SchemaError, DatasetError, ValueError, OSError) as exc:
        sys.stderr.write(f"paenet-labels: error: {describe_error(exc)}\n")
        return 2
    finally:
        store.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
