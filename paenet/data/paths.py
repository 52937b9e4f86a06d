"""Paths inside a dataset root: the one relative-path check and the one folder listing
(shared by the SYSU-MM01 and RegDB readers and the thumbnails)."""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

from paenet.data.errors import DatasetError

SYNTHETIC_MARKER = "synth_info.json"
"""The file ``paenet.synth`` writes at a stand-in's root: a root holding it is synthetic
(``paenet-export`` records that in the manifest, and every reported number says so)."""

ASCII_DIGITS = re.compile(r"^[0-9]+$")
"""Person-id folders and split tokens: ASCII digits only (``str.isdigit`` accepts ``²``)."""


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


def check_inside(root: Path, path: Path) -> None:
    """:class:`DatasetError` when ``path`` (a link, or a folder reached through one) resolves
    outside ``root``: a reader must not index what the app's thumbnails would refuse."""
    target = path.resolve()
    if not target.is_relative_to(root.resolve()):
        raise DatasetError(
            path, f"is a symbolic link to {target}, outside the dataset root {root}; refused"
        )


def scan_dir(folder: Path | str, root: Path) -> list[os.DirEntry[str]]:
    """The entries of ``folder`` inside the dataset ``root`` (in the file system's order;
    callers sort what they keep). Raises :class:`DatasetError` naming the folder when it
    cannot be listed, when an entry's name is not valid UTF-8 (it could not be stored,
    shown or exported) or when an entry is a symbolic link leading outside ``root``."""
    try:
        with os.scandir(folder) as it:
            entries = list(it)
    except OSError as exc:
        raise DatasetError(folder, f"cannot list folder ({exc.strerror or exc})") from None
    for entry in entries:
        try:
            entry.name.encode("utf-8")
        except UnicodeEncodeError:
            raise DatasetError(
                folder,
                f"file name {entry.name!r} is not valid UTF-8; rename it (e.g. with convmv)",
            ) from None
        if entry.is_symlink():
            check_inside(root, Path(entry.path))
    return entries
