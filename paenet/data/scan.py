"""Listing dataset folders safely: shared by the SYSU-MM01 and RegDB readers.

Every folder listing goes through :func:`list_entries`, which

- turns an unreadable folder into a :class:`DatasetError` naming it (never a bare
  ``PermissionError``);
- refuses an entry that is a symbolic link leading outside the dataset root (the
  thumbnails refuse such links too; a reader must not index what the app would refuse);
- refuses a file name that is not valid UTF-8 (it could not be stored, shown or
  exported), naming the folder and the name as Python escapes it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from paenet.data.errors import DatasetError

ASCII_DIGITS = re.compile(r"^[0-9]+$")
"""Person-id folders and split tokens: ASCII digits only (``str.isdigit`` accepts ``²``)."""


def check_inside(root: Path, path: Path) -> None:
    """Raise when ``path`` (a link, or a folder reached through one) resolves outside ``root``."""
    target = path.resolve()
    if not target.is_relative_to(root.resolve()):
        raise DatasetError(
            path, f"is a symbolic link to {target}, outside the dataset root {root}; refused"
        )


def list_entries(folder: Path, root: Path) -> list[os.DirEntry[str]]:
    """The entries of ``folder`` (unsorted), each checked as the module docstring says."""
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
