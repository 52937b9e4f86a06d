"""Paths inside a dataset root: the one relative-path check and the one folder listing."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from paenet.data.errors import DatasetError


class PathEscapeError(ValueError):
    """A path that would leave the root it is relative to."""


def relative_inside(text: str | PurePosixPath) -> PurePosixPath:
    """``text`` as a relative POSIX path that stays inside its root: not absolute, no
    ``..`` part, not empty. Symlinks are the caller's to check (it knows the root)."""
    rel = PurePosixPath(str(text))
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise PathEscapeError(f"path {str(text)!r} is not inside the root")
    return rel


def resolve_inside(root: Path, relative: str | PurePosixPath) -> Path:
    """``root / relative`` resolved, guaranteed inside ``root`` (also through symlinks)."""
    rel = relative_inside(relative)
    root_resolved = root.resolve()
    path = (root_resolved / rel).resolve()
    if not path.is_relative_to(root_resolved):
        raise PathEscapeError(f"path {str(relative)!r} leaves the root {root} (a symlink)")
    return path


def scan_dir(path: Path | str) -> list[os.DirEntry[str]]:
    """The entries of a folder (in the file system's order; callers sort what they keep);
    :class:`DatasetError` naming the folder when it cannot be listed."""
    try:
        with os.scandir(path) as it:
            return list(it)
    except OSError as exc:
        raise DatasetError(path, f"cannot list folder ({exc.strerror})") from None
