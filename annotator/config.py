"""Annotator settings: defaults, then environment variables, then command-line flags.

``streamlit run annotator/app.py -- --db URL --data-root PATH --rand-perm FILE``

| setting | env var | default |
| --- | --- | --- |
| database URL | ``PAENET_DB_URL`` | ``sqlite:///<data root>/annotations.sqlite3`` |
| data root | ``PAENET_DATA_ROOT`` | ``datasets`` (relative to the working directory) |
| rand_perm_cam.mat | ``PAENET_RAND_PERM`` | none |
| thumbnail cache | ``PAENET_THUMB_DIR`` | ``<data root>/.thumbnails`` |
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class AppConfig:
    db_url: str
    data_root: Path
    rand_perm: Path | None
    thumb_dir: Path
    annotator: str | None = None

    @property
    def sysu_root(self) -> Path:
        return self.data_root / "SYSU-MM01"

    @property
    def regdb_root(self) -> Path:
        return self.data_root / "RegDB"

    @property
    def synthetic_root(self) -> Path:
        return self.data_root / "synthetic"


def default_db_url(data_root: Path) -> str:
    return f"sqlite:///{(data_root / 'annotations.sqlite3').resolve()}"


def load_config(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> AppConfig:
    """Resolve the configuration; unknown flags are an error naming them."""
    env = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(prog="annotator/app.py", add_help=True)
    parser.add_argument("--db", default=env.get("PAENET_DB_URL"), help="SQLAlchemy URL")
    parser.add_argument(
        "--data-root", type=Path, default=Path(env.get("PAENET_DATA_ROOT", "datasets"))
    )
    parser.add_argument("--rand-perm", type=Path, default=env.get("PAENET_RAND_PERM") or None)
    parser.add_argument("--thumb-dir", type=Path, default=env.get("PAENET_THUMB_DIR") or None)
    parser.add_argument("--annotator", default=env.get("PAENET_ANNOTATOR") or None)
    args = parser.parse_args(list(argv or []))
    data_root = args.data_root.resolve()
    return AppConfig(
        db_url=args.db or default_db_url(data_root),
        data_root=data_root,
        rand_perm=Path(args.rand_perm).resolve() if args.rand_perm else None,
        thumb_dir=(args.thumb_dir or data_root / ".thumbnails").resolve(),
        annotator=args.annotator,
    )
