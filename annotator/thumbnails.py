"""Thumbnails made once and kept on disk, so an Annotate rerun never re-encodes full images.

Images are only ever read through :func:`resolve_inside`, which refuses any path that
leaves the dataset root it is given (``..``, absolute paths, symlinks pointing out).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path, PurePosixPath

from PIL import Image, ImageOps

log = logging.getLogger(__name__)

THUMB_HEIGHT = 160
"""Thumbnails keep the aspect ratio of person crops (about 1:2) at this height."""


class UnsafePathError(ValueError):
    """A requested image path is not inside a registered dataset root."""


def resolve_inside(root: Path, relative: str | PurePosixPath) -> Path:
    """``root / relative``, resolved, guaranteed to be inside ``root``."""
    rel = PurePosixPath(str(relative))
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise UnsafePathError(f"image path {str(relative)!r} is not inside dataset root {root}")
    root_resolved = root.resolve()
    path = (root_resolved / rel).resolve()
    if not path.is_relative_to(root_resolved):
        raise UnsafePathError(f"image path {str(relative)!r} leaves dataset root {root}")
    return path


class ThumbnailCache:
    """A folder of JPEG thumbnails keyed by source path, size and modification time."""

    def __init__(self, folder: Path, height: int = THUMB_HEIGHT) -> None:
        self.folder = folder
        self.height = height

    def _key(self, source: Path) -> Path:
        st = source.stat()
        digest = hashlib.sha1(
            f"{source}|{st.st_mtime_ns}|{st.st_size}|{self.height}".encode()
        ).hexdigest()
        return self.folder / digest[:2] / f"{digest}.jpg"

    def get(self, root: Path, relative: str | PurePosixPath) -> Path:
        """Path of the thumbnail of ``root/relative``, making it on first use (atomically)."""
        source = resolve_inside(root, relative)
        target = self._key(source)
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        with Image.open(source) as im:
            im = ImageOps.exif_transpose(im).convert("RGB")
            width = max(1, round(im.width * self.height / max(1, im.height)))
            thumb = im.resize((width, self.height), Image.Resampling.BILINEAR)
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                thumb.save(fh, format="JPEG", quality=85)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target
