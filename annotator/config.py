"""Annotator settings: defaults, then environment variables, then command-line flags.

``streamlit run annotator/app.py -- --db URL --data-root PATH --rand-perm FILE``

| setting | env var | default |
| --- | --- | --- |
| database URL | ``PAENET_DB_URL`` | ``sqlite:///<data root>/annotations.sqlite3`` |
| data root | ``PAENET_DATA_ROOT`` | ``datasets`` (relative to the working directory) |
| rand_perm_cam.mat | ``PAENET_RAND_PERM`` | none |
| thumbnail cache | ``PAENET_THUMB_DIR`` | ``<data root>/.thumbnails`` |
| extra folders the web page may register or import from | ``PAENET_ALLOWED_ROOTS`` (``os.pathsep``-separated) | none |

The web page registers dataset roots and imports label files only inside the data root
or a folder listed in ``PAENET_ALLOWED_ROOTS`` (:func:`allowed_path`); ``paenet-labels``
on the shell has no such limit.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from paenet.data.kinds import FOLDERS, DatasetKind

ALLOWED_ROOTS_ENV = "PAENET_ALLOWED_ROOTS"


class PathNotAllowedError(ValueError):
    """A path given on the web page lies outside the data root and the allowed roots."""


@dataclass(frozen=True)
class AppConfig:
    db_url: str
    data_root: Path
    rand_perm: Path | None
    thumb_dir: Path
    extra_roots: tuple[Path, ...] = ()
    """Resolved folders of ``PAENET_ALLOWED_ROOTS``, besides the data root."""

    @property
    def allowed_roots(self) -> tuple[Path, ...]:
        return (self.data_root, *self.extra_roots)

    def dataset_root(self, kind: DatasetKind | str) -> Path:
        """Where a real dataset of ``kind`` lives under the data root."""
        return self.data_root / FOLDERS[DatasetKind(kind)]

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
    args = parser.parse_args(list(argv or []))
    data_root = args.data_root.resolve()
    return AppConfig(
        db_url=args.db or default_db_url(data_root),
        data_root=data_root,
        rand_perm=Path(args.rand_perm).resolve() if args.rand_perm else None,
        thumb_dir=(args.thumb_dir or data_root / ".thumbnails").resolve(),
        extra_roots=tuple(
            Path(p).expanduser().resolve()
            for p in env.get(ALLOWED_ROOTS_ENV, "").split(os.pathsep)
            if p.strip()
        ),
    )


def allowed_path(cfg: AppConfig, path: Path | str) -> Path:
    """``path`` resolved (``..`` and symlinks followed), if it lies inside the data root or
    a folder of ``PAENET_ALLOWED_ROOTS``; :class:`PathNotAllowedError` otherwise.

    The one rule for every path the web page accepts (dataset roots, label files).
    """
    text = str(path).strip()
    if not text:
        raise PathNotAllowedError("no path given")
    resolved = Path(text).expanduser().resolve()
    if any(resolved.is_relative_to(root.resolve()) for root in cfg.allowed_roots):
        return resolved
    extra = ", ".join(str(r) for r in cfg.extra_roots) or "none set"
    raise PathNotAllowedError(
        f"{text} (resolved: {resolved}) is outside the data root {cfg.data_root} and the "
        f"folders of {ALLOWED_ROOTS_ENV} ({extra}); the web page only registers and imports "
        f"inside them. Add its folder to {ALLOWED_ROOTS_ENV} (separated by {os.pathsep!r}) "
        "or use paenet-labels on the shell."
    )
