"""Thumbnails made once and kept on disk, so an Annotate rerun never re-encodes full images.

Images are only ever read through :func:`resolve_inside`, which refuses any path that
leaves the dataset root it is given (``..``, absolute paths, symlinks pointing out).

One cache holds thumbnails of several heights (one per image size the pages offer,
:data:`IMAGE_SIZES`): the height is part of the key and names the sub-folder
(``<folder>/<height>px/…``), so choosing another size never overwrites or reuses a
thumbnail made for another.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from PIL import ExifTags, Image, ImageOps

from paenet.atomic import atomic_open
from paenet.data.paths import PathEscapeError, resolve_inside

__all__ = [
    "DEFAULT_IMAGE_SIZE",
    "IMAGE_SIZES",
    "ImageSize",
    "ThumbnailCache",
    "UnsafePathError",
    "resolve_inside",
]

THUMB_HEIGHT = 160
"""Thumbnails keep the aspect ratio of person crops (about 1:2) at this height, unless a
caller asks for another."""


@dataclass(frozen=True)
class ImageSize:
    """A size the camera strips can be shown at: ``width`` CSS pixels per image."""

    name: str
    width: int

    @property
    def thumb_height(self) -> int:
        """Thumbnail height in pixels: twice the shown height of a 1:2 person crop, so a
        thumbnail stays sharp on a 2x screen and when a click shows it twice as wide."""
        return 4 * self.width


IMAGE_SIZES = (ImageSize("small", 64), ImageSize("medium", 104), ImageSize("large", 216))
"""At 1400 px wide, Annotate's camera columns are about 220 px: small fits 3 images a row,
medium 2, large 1 (the column's width)."""
DEFAULT_IMAGE_SIZE = IMAGE_SIZES[1]


def image_size(name: str | None) -> ImageSize | None:
    """The size called ``name``, or ``None`` for anything else (an old or edited cookie)."""
    return next((s for s in IMAGE_SIZES if s.name == name), None)


UnsafePathError = PathEscapeError
"""A requested image path is not inside its dataset root (the one check:
:func:`paenet.data.paths.resolve_inside`)."""


class ThumbnailCache:
    """A folder of JPEG thumbnails keyed by source path, modification time, size and
    thumbnail height."""

    def __init__(self, folder: Path, height: int = THUMB_HEIGHT) -> None:
        self.folder = folder
        self.height = height

    def _key(self, source: Path, height: int) -> Path:
        st = source.stat()
        digest = hashlib.sha1(
            f"{source}|{st.st_mtime_ns}|{st.st_size}|{height}".encode()
        ).hexdigest()
        return self.folder / f"{height}px" / digest[:2] / f"{digest}.jpg"

    def get_many(
        self, root: Path, relatives: Sequence[str | PurePosixPath], height: int | None = None
    ) -> list[Path | Exception]:
        """:meth:`get` for each path, in order. An image that cannot be shown comes back as
        its exception (an :class:`OSError`, :class:`UnsafePathError` or Pillow's error) in
        its place, never raised: the strip shows a placeholder there."""
        out: list[Path | Exception] = []
        for rel in relatives:
            try:
                out.append(self.get(root, rel, height))
            except (OSError, UnsafePathError, Image.UnidentifiedImageError) as exc:
                out.append(exc)
        return out

    def get(self, root: Path, relative: str | PurePosixPath, height: int | None = None) -> Path:
        """Path of the thumbnail of ``root/relative`` at ``height`` pixels (the cache's
        default when ``None``), making it on first use (atomically). A source shorter
        than ``height`` keeps its own size: the browser scales it, the cache does not."""
        height = self.height if height is None else height
        if height < 1:
            raise ValueError(f"thumbnail height must be positive, not {height}")
        source = resolve_inside(root, relative)
        target = self._key(source, height)
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        with Image.open(source) as im:
            if im.format == "JPEG" and im.height > height and _upright(im):
                im.draft("RGB", (im.width * height // im.height, height))  # decode smaller
            im = ImageOps.exif_transpose(im).convert("RGB")
            if im.height > height:
                width = max(1, round(im.width * height / im.height))
                thumb = im.resize((width, height), Image.Resampling.BILINEAR)
            else:
                thumb = im
        # Streamlit's threads may make one thumbnail at once: one temporary per thread.
        with atomic_open(target, "wb", per_thread=True) as fh:
            thumb.save(fh, format="JPEG", quality=85)
        return target


def _upright(im: Image.Image) -> bool:
    """No EXIF rotation: the stored height is the shown height (JPEG draft may decode at
    a smaller scale)."""
    return im.getexif().get(ExifTags.Base.Orientation, 1) == 1
