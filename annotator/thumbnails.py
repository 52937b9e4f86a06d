"""Thumbnails made once and kept on disk, so an Annotate rerun never re-encodes full images.

Images are only ever read through :func:`resolve_inside`, which refuses any path that
leaves the dataset root it is given (``..``, absolute paths, symlinks pointing out).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path, PurePosixPath

from PIL import Image, ImageOps

from paenet.data.paths import PathEscapeError, resolve_inside

__all__ = ["ThumbnailCache", "UnsafePathError", "resolve_inside"]

THUMB_HEIGHT = 160
"""Thumbnails keep the aspect ratio of person crops (about 1:2) at this height."""


UnsafePathError = PathEscapeError
"""A requested image path is not inside its dataset root (the one check:
:func:`paenet.data.paths.resolve_inside`)."""


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
