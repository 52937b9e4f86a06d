"""Output folders that a command writes as a whole: which may be replaced, the writers'
lock, leftovers of killed writers, and the atomic swap.

Rules (``docs/manifest.md``, "Output folders, overwrite and locking"):

- A target may be created when absent and replaced when it is empty or holds only what
  the writer itself writes (:data:`MANIFEST`: a ``manifest.json`` of our format and the
  files it names). Anything else is refused with :class:`OutputFolderError`, naming the
  folder and a few of the entries that are not ours; nothing is touched.
- A target equal to or inside a protected folder (``outside``: the dataset root) is refused.
- Writers of one target take an advisory ``flock`` on ``.<name>.lock`` beside it; a second
  writer waits up to :data:`LOCK_TIMEOUT_S`, then refuses naming the holder's pid. The
  holder removes the lock file when it is done.
- The new content is written into ``.<name>.tmp-<pid>-<random>`` beside the target and
  swapped in (``renameat2(RENAME_EXCHANGE)`` on Linux, else two renames through
  ``.<name>.old-<pid>``). A temporary or old folder is removed (or restored) only when
  the process named by its pid no longer runs: a live writer's folder is left alone.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import fcntl
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from paenet.atomic import process_alive
from paenet.data.manifest import (
    IMAGES_CSV,
    IMAGES_PARQUET,
    MANIFEST_FILE,
    MANIFEST_FORMAT,
    PROTOCOLS_CSV,
    PROTOCOLS_PARQUET,
)

log = logging.getLogger(__name__)

LOCK_TIMEOUT_S = 300.0
"""How long a second writer of one target waits for the first before refusing."""
SHOWN_NAMES = 5
"""Entries named in a refusal before "and N more"."""


class OutputFolderError(ValueError):
    """The output folder may not be written (not ours, inside the dataset root, busy)."""


@dataclass(frozen=True)
class FolderKind:
    """What a writer puts in its output folder, to tell its own folder from a user's."""

    what: str
    """How a refusal names it: "a manifest"."""
    foreign: Callable[[Path], list[str]]
    """The entries of an existing folder that are not of this kind (``name`` or ``name/``
    for a folder), sorted; empty when the folder may be replaced."""

    @classmethod
    def marked(cls, what: str, markers: Sequence[str]) -> FolderKind:
        """A kind recognised by any of its ``markers`` files (a synthetic stand-in)."""

        def foreign(folder: Path) -> list[str]:
            if any((folder / m).is_file() for m in markers):
                return []
            return _entries(folder)

        return cls(what, foreign)


def _entries(folder: Path, skip: frozenset[str] = frozenset()) -> list[str]:
    return sorted(
        p.name + ("/" if p.is_dir() and not p.is_symlink() else "")
        for p in folder.iterdir()
        if p.name not in skip or not p.is_file() or p.is_symlink()
    )


def manifest_foreign(folder: Path) -> list[str]:
    """Entries that a manifest does not name: all of them unless ``manifest.json`` is of
    our format; else every entry but ``manifest.json``, its tables and the plain files
    its ``files`` lists (``cam1_att.mat`` …)."""
    try:
        doc = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        doc = None
    if not isinstance(doc, dict) or doc.get("format") != MANIFEST_FORMAT:
        return _entries(folder)
    files = doc.get("files")
    named = {n for n in files if isinstance(n, str)} if isinstance(files, dict) else set()
    ours = {MANIFEST_FILE, IMAGES_PARQUET, IMAGES_CSV, PROTOCOLS_PARQUET, PROTOCOLS_CSV} | {
        n for n in named if "/" not in n and n not in (".", "..")
    }
    return _entries(folder, frozenset(ours))


MANIFEST = FolderKind("a manifest", manifest_foreign)


def check_output(
    target: Path,
    kind: FolderKind,
    *,
    label: str = "output folder",
    outside: Path | None = None,
) -> None:
    """Raise :class:`OutputFolderError` unless ``target`` may be (re)written as ``kind``.

    Args:
        target: the folder to create or replace.
        kind: what the writer writes there (:data:`MANIFEST`).
        label: how the message names the target (``--out``).
        outside: a folder the target must not equal or lie in (the dataset root).
    """
    target = Path(target)
    if outside is not None:
        root = Path(outside).resolve()
        resolved = target.resolve()
        if resolved == root:
            raise OutputFolderError(
                f"{label} {target} is the dataset root {root} itself; choose a folder outside it"
            )
        if root in resolved.parents:
            raise OutputFolderError(
                f"{label} {target} is inside the dataset root {root}; choose a folder outside it"
            )
    if not target.exists():
        return
    if not target.is_dir():
        raise OutputFolderError(f"{label} {target} exists and is not a folder")
    foreign = kind.foreign(target)
    if foreign:
        shown = ", ".join(foreign[:SHOWN_NAMES])
        more = f", and {len(foreign) - SHOWN_NAMES} more" if len(foreign) > SHOWN_NAMES else ""
        raise OutputFolderError(
            f"{label} {target} holds files that are not {kind.what} ({shown}{more}); "
            "choose an empty folder or remove them"
        )


def lock_path(target: Path) -> Path:
    return target.parent / f".{target.name}.lock"


@contextlib.contextmanager
def target_lock(target: Path, timeout: float = LOCK_TIMEOUT_S) -> Iterator[Path]:
    """Hold the advisory lock of ``target`` (``.<name>.lock`` beside it, holding our pid).

    Waits up to ``timeout`` seconds for another holder, then raises
    :class:`OutputFolderError`. The lock file is removed on release; a waiter that locked
    a file removed meanwhile notices (other inode) and locks the new one.
    """
    target = Path(target)
    path = lock_path(target)
    deadline = time.monotonic() + timeout
    warned = False
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            busy = f"another process (pid {holder}) is writing {target}"
            if time.monotonic() >= deadline:
                raise OutputFolderError(
                    f"{busy}; waited {timeout:.0f} s. Let it finish, or choose another folder"
                ) from None
            if not warned:
                log.warning("%s; waiting up to %.0f s", busy, timeout)
                warned = True
            time.sleep(0.1)
            continue
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the holder before us removed this file: lock the current one
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        os.close(fd)


def _owner(folder: Path, target: Path, what: str) -> int | None:
    match = re.fullmatch(rf"\.{re.escape(target.name)}\.{what}-(\d+)(-.*)?", folder.name)
    return int(match.group(1)) if match else None


def clean_leftovers(target: Path) -> None:
    """Remove the temporaries of dead writers of ``target``; restore the previous folder
    of a writer killed between its two renames (``target`` missing, ``.old-PID`` there),
    else remove such old folders. Folders of live processes, or without a pid (written
    by an older version), are left alone."""
    target = Path(target)
    temps = sorted(target.parent.glob(f".{target.name}.tmp-*"))
    olds = sorted(  # newest first: the one to restore
        target.parent.glob(f".{target.name}.old-*"), key=lambda p: p.stat().st_mtime, reverse=True
    )
    for kind, found in (("tmp", temps), ("old", olds)):
        for folder in found:
            pid = _owner(folder, target, kind)
            if pid is None or process_alive(pid):
                who = f"pid {pid} still runs" if pid else "it names no writer pid"
                log.warning("leaving %s alone: %s (remove it if no export runs)", folder, who)
                continue
            if kind == "old" and not target.exists():
                log.warning("restoring %s from %s (a writer was killed mid-swap)", target, folder)
                os.replace(folder, target)
                continue
            log.info("removing %s, left by a killed writer (pid %d)", folder, pid)
            shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def atomic_directory(
    target: Path,
    kind: FolderKind,
    *,
    label: str = "output folder",
    outside: Path | None = None,
    timeout: float = LOCK_TIMEOUT_S,
) -> Iterator[Path]:
    """Yield a fresh temporary directory beside ``target``; on success it replaces
    ``target`` (an atomic exchange where the OS offers one), on error it is removed.

    ``target`` is checked with :func:`check_output` (``kind``, ``label``, ``outside``)
    before anything is written, again under the lock, and once more just before the swap.
    """
    target = Path(target)
    check_output(target, kind, label=label, outside=outside)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target_lock(target, timeout):
        clean_leftovers(target)
        check_output(target, kind, label=label, outside=outside)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-{os.getpid()}-", dir=target.parent))
        tmp.chmod(0o755)  # mkdtemp makes it private; the output is meant to be shared
        try:
            yield tmp
            for p in tmp.iterdir():
                with p.open("rb") as f:
                    os.fsync(f.fileno())
            check_output(target, kind, label=label, outside=outside)
            if not (target.is_dir() and _exchange(tmp, target)):  # else tmp holds the previous
                old = target.parent / f".{target.name}.old-{os.getpid()}"
                if target.exists():
                    os.replace(target, old)
                os.replace(tmp, target)
                shutil.rmtree(old, ignore_errors=True)
        finally:
            if tmp.is_symlink():  # a symlinked target, exchanged
                tmp.unlink()
            shutil.rmtree(tmp, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories atomically (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    if not hasattr(os, "uname") or os.uname().sysname != "Linux":
        return False
    libc_name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return rc == 0
