"""The scan before the work: every image a run will read, checked before the first step.

``paenet-train`` (training and validation images) and ``paenet-eval`` (test images)
call :func:`scan_images` before they decode anything: a header check of every file
(:func:`paenet.data.images.verify_images` with ``deep=False``: missing, empty,
undecodable header, a link outside the dataset root, over the pixel limit), in threads,
with a progress bar. Real SYSU-MM01 and RegDB copies do hold broken files; one of them
found at step 40,000 would end the run, so the policy is:

- by default, every unreadable file is listed (one log line each, the first
  :data:`LIST_LIMIT`, then how many more) and :class:`UnreadableImagesError` stops the
  command before it starts (exit 2);
- when asked (``data.skip_unreadable=true``, ``paenet-eval --skip-unreadable``), they
  are left out with the same listing as a warning, and the caller records them.

A truncated JPEG has a valid header and passes the scan; the decoder then names it
(``paenet-export --check --deep`` finds those before training).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import replace
from pathlib import Path, PurePosixPath

from paenet.data.images import BadImage, verify_images
from paenet.data.manifest import ManifestError
from paenet.data.protocol import TestProtocol
from paenet.data.records import Sample

log = logging.getLogger(__name__)

LIST_LIMIT = 20
"""Unreadable files named one per log line; the rest are counted."""


class UnreadableImagesError(ManifestError):
    """Images the manifest names cannot be read (listed in the log, and in ``bad``)."""

    def __init__(self, root: Path, bad: Sequence[BadImage], total: int, what: str, hint: str):
        self.bad = tuple(bad)
        first = self.bad[0]
        super().__init__(
            root,
            f"{len(self.bad)} of {total} {what} images are unreadable (e.g. "
            f"{relative(first.path, root)}: {first.problem}); fix or remove them and export "
            f"the manifest again, or {hint}",
        )


def relative(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` when it is under it (as the manifest names it)."""
    try:
        return str(PurePosixPath(path.relative_to(root)))
    except ValueError:
        return str(path)


def list_bad(bad: Sequence[BadImage], root: Path, what: str, level: int) -> None:
    """One log line per unreadable file, the first :data:`LIST_LIMIT`, then the count."""
    for item in bad[:LIST_LIMIT]:
        log.log(level, "unreadable %s image %s: %s", what, item.path, item.problem)
    if len(bad) > LIST_LIMIT:
        log.log(level, "... and %d more unreadable %s images", len(bad) - LIST_LIMIT, what)


def scan_images(
    root: Path,
    samples: Sequence[Sample],
    *,
    what: str,
    skip: bool,
    hint: str,
    progress: bool = True,
    workers: int = 4,
) -> list[BadImage]:
    """Header-check every sample's file under ``root``; return the unreadable ones.

    Args:
        what: the images' role in messages (``"training"``, ``"test"``).
        skip: leave unreadable files out (a warning) instead of raising.
        hint: the option that skips them, for the error (``"set data.skip_unreadable=true
            to train without them"``).

    Raises:
        UnreadableImagesError: some file is unreadable and ``skip`` is False.
    """
    bad = verify_images(root, samples, progress=progress, workers=workers, deep=False)
    if not bad:
        return []
    list_bad(bad, root, what, logging.WARNING if skip else logging.ERROR)
    if not skip:
        raise UnreadableImagesError(root, bad, len(samples), what, hint)
    log.warning(
        "left out %d of %d %s images that cannot be read (listed above)",
        len(bad),
        len(samples),
        what,
    )
    return bad


def bad_paths(bad: Sequence[BadImage], root: Path) -> frozenset[PurePosixPath]:
    """The manifest paths (relative to ``root``) of unreadable images."""
    return frozenset(PurePosixPath(relative(b.path, root)) for b in bad)


def protocols_without(
    protocols: Sequence[TestProtocol], paths: Collection[PurePosixPath]
) -> list[TestProtocol]:
    """The protocols with the images at ``paths`` removed from queries and galleries (a
    query whose identity is then absent from the gallery is skipped by the metrics)."""
    if not paths:
        return list(protocols)
    return [
        replace(
            p,
            query=tuple(s for s in p.query if s.path not in paths),
            gallery=tuple(s for s in p.gallery if s.path not in paths),
        )
        for p in protocols
    ]


def scan_protocols(
    root: Path,
    protocols: Sequence[TestProtocol],
    *,
    skip: bool,
    hint: str,
    progress: bool = True,
) -> tuple[list[TestProtocol], list[BadImage]]:
    """:func:`scan_images` of every test image of ``protocols`` (each once), and the
    protocols without the unreadable ones when ``skip``."""
    seen = {s.path: s for p in protocols for s in (*p.query, *p.gallery)}
    samples = [seen[k] for k in sorted(seen)]
    bad = scan_images(root, samples, what="test", skip=skip, hint=hint, progress=progress)
    return protocols_without(protocols, bad_paths(bad, root)), bad


def skipped_note(bad: Sequence[BadImage], root: Path) -> str:
    """The line a result carries when unreadable test images were left out."""
    names = [relative(b.path, root) for b in bad[:LIST_LIMIT]]
    more = f" and {len(bad) - LIST_LIMIT} more" if len(bad) > LIST_LIMIT else ""
    return (
        f"SKIPPED: {len(bad)} unreadable test images left out (--skip-unreadable); "
        f"the protocols are not the standard ones: "
        f"{', '.join(names)}{more}"
    )
