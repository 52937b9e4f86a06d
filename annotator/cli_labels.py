"""``paenet-labels``: register datasets, import/export labels, agreement, from the shell.

Every command opens the database (``--db URL``, else ``PAENET_DB_URL``, else
``sqlite:///datasets/annotations.sqlite3``) and migrates it to the code's schema first.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from annotator.store.db import SchemaError, open_store
from annotator.store.errors import StoreError
from paenet.attributes import ATTRIBUTE_KEYS
from paenet.cli._common import setup_logging
from paenet.data.errors import DatasetError

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="paenet-labels", description=__doc__.splitlines()[0])
    p.add_argument("--db", default=None, help="SQLAlchemy database URL")
    p.add_argument("-v", "--verbose", action="count", default=0)
    sub = p.add_subparsers(dest="command", required=True)

    reg = sub.add_parser("register", help="register (or rescan) a dataset root")
    reg.add_argument("--name", required=True, help="dataset name used in links, e.g. sysu")
    reg.add_argument("--kind", choices=("sysu", "regdb"), required=True)
    reg.add_argument("root", type=Path)

    imp = sub.add_parser("import", help="import labels as a named source")
    imp.add_argument("format", choices=("paenet-mat", "paenet-xlsx", "synth", "csv"))
    imp.add_argument("path", type=Path, help="mat folder, xlsx file, synth root or CSV file")
    imp.add_argument("--dataset", default="sysu", help="registered dataset name")
    imp.add_argument("--source", default=None, help="source name (default: the format)")
    imp.add_argument(
        "--flip", action="append", default=[], choices=ATTRIBUTE_KEYS,
        help="paenet-mat: invert this attribute's polarity (repeatable)",
    )  # fmt: skip
    imp.add_argument(
        "--middle-trousers", type=int, choices=(-1, 0, 1), default=0,
        help="paenet-xlsx: value of 'middle' trousers length (0 short, 1 long, -1 unknown)",
    )  # fmt: skip
    imp.add_argument("--skip-unknown-ids", action="store_true")

    exp = sub.add_parser("export", help="write every label and decision to CSV")
    exp.add_argument("out", type=Path)
    exp.add_argument("--dataset", default=None)

    agr = sub.add_parser("agreement", help="Cohen's / Fleiss' kappa per attribute")
    agr.add_argument("sources", nargs="+", help="two or more source names")
    agr.add_argument("--dataset", default="sysu")
    agr.add_argument("--per-camera", action="store_true", help="compare per-camera labels")
    agr.add_argument(
        "--show-conflicts", action="store_true", help="list the disagreeing ids per attribute"
    )
    return p


def _run(args: argparse.Namespace) -> int:
    from annotator.store.importers.csvio import export_csv, import_csv, import_synth
    from annotator.store.importers.paenet import import_paenet_mat, import_paenet_xlsx
    from annotator.store.services.agreement import agreement
    from annotator.store.services.datasets import register_dataset

    store = open_store(args.db)
    out = sys.stdout
    if args.command == "register":
        with store.write() as s:
            info = register_dataset(s, args.name, args.kind, args.root)
        out.write(
            f"{info.name} ({info.kind}) at {info.root}: {info.identities} identities, {info.images} images\n"
        )
    elif args.command == "import":
        with store.write() as s:
            if args.format == "paenet-mat":
                rep = import_paenet_mat(
                    s,
                    args.dataset,
                    args.path,
                    args.source or "paenet-mat",
                    args.flip,
                    args.skip_unknown_ids,
                )
            elif args.format == "paenet-xlsx":
                rep = import_paenet_xlsx(
                    s,
                    args.dataset,
                    args.path,
                    args.source or "paenet-xlsx",
                    args.middle_trousers,
                    args.skip_unknown_ids,
                )
            elif args.format == "synth":
                rep = import_synth(s, args.dataset, args.path, args.source or "synth-gt")
            else:
                rep = import_csv(s, args.path)
        out.write(f"imported {rep.labels} labels of {rep.identities} identities as {rep.source}\n")
        for what, n in rep.skipped.items():
            out.write(f"  skipped {n}: {what}\n")
        if rep.notes:
            out.write(f"  {len(rep.notes)} identities disagree across cameras, e.g.:\n")
            for note in rep.notes[:10]:
                out.write(f"    {note}\n")
    elif args.command == "export":
        with store.read() as s:
            n = export_csv(s, args.out, args.dataset)
        out.write(f"wrote {n} rows to {args.out}\n")
    else:
        with store.read() as s:
            rows = agreement(s, args.dataset, args.sources, per_camera=args.per_camera)
        out.write(
            f"{'attribute':<18} {'method':<7} {'items':>6} {'raw':>6} {'kappa':>6} conflicts\n"
        )
        for r in rows:
            out.write(
                f"{r.attribute:<18} {r.method:<7} {r.items:>6} {r.raw:>6.3f} {r.kappa:>6.3f} {len(r.conflicts)}\n"
            )
        if args.show_conflicts:
            for r in rows:
                if r.conflicts:
                    out.write(f"{r.attribute}: {' '.join(map(str, r.conflicts))}\n")
    store.dispose()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    try:
        return _run(args)
    except (StoreError, SchemaError, DatasetError, ValueError, OSError) as exc:
        sys.stderr.write(f"paenet-labels: error: {exc}\n")
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
