"""Writing a file so that its final name only ever holds a complete file.

The one pattern every writer of this project uses: write to a temporary name beside the
target (same folder, so the rename stays on one file system), optionally ``fsync``, then
``os.replace`` it over the target; on any failure remove the temporary and re-raise, so
the target is exactly as it was.

Temporaries are named ``.NAME.PID<suffix>`` (``suffix`` ``.tmp`` by default): a later run
can tell from the pid whether the writer is still alive (:func:`temporary_pid`) and remove
what a killed writer left. With ``per_thread=True`` the thread id is added
(``.NAME.PID-TID<suffix>``) for writers that may race on one target inside one process
(the annotator's thumbnail cache under Streamlit's threads).
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal

_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)(?:-\d+)?(?P<suffix>\.[A-Za-z]+)$")


def temporary_path(path: Path, *, suffix: str = ".tmp", per_thread: bool = False) -> Path:
    """Where an atomic write of ``path`` goes first: ``.NAME.PID<suffix>`` beside it."""
    path = Path(path)
    tag = f"{os.getpid()}-{threading.get_ident()}" if per_thread else str(os.getpid())
    return path.with_name(f".{path.name}.{tag}{suffix}")


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (another user's process counts): a
    temporary whose writer is alive is not stale."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def temporary_pid(name: str, *, suffix: str = ".tmp") -> tuple[str, int] | None:
    """``(target name, writer pid)`` of a temporary's file name, or ``None`` if ``name`` is
    not one written with ``suffix``."""
    match = _TEMPORARY.match(name)
    if match is None or match["suffix"] != suffix:
        return None
    return match["name"], int(match["pid"])


@contextlib.contextmanager
def atomic_open(
    path: Path | str,
    mode: Literal["wb", "w"] = "wb",
    *,
    fsync: bool = False,
    suffix: str = ".tmp",
    per_thread: bool = False,
    **open_kwargs: Any,
) -> Iterator[IO[Any]]:
    """Open a temporary beside ``path`` for writing; on a clean exit flush (and with
    ``fsync`` sync) it and rename it to ``path``; on an exception remove it and re-raise.

    ``open_kwargs`` go to :func:`open` (``newline=""`` for CSV, ``encoding`` …).
    """
    path = Path(path)
    tmp = temporary_path(path, suffix=suffix, per_thread=per_thread)
    try:
        with open(tmp, mode, **open_kwargs) as fh:
            yield fh
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_path(
    path: Path | str, *, suffix: str = ".tmp", per_thread: bool = False
) -> Iterator[Path]:
    """The temporary path itself, for writers that open the file their own way (a numpy
    memmap): renamed to ``path`` on a clean exit, removed on an exception."""
    path = Path(path)
    tmp = temporary_path(path, suffix=suffix, per_thread=per_thread)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: Path | str, data: bytes, *, fsync: bool = False) -> None:
    """``path.write_bytes(data)``, atomically."""
    with atomic_open(path, "wb", fsync=fsync) as fh:
        fh.write(data)


def write_text_atomic(path: Path | str, text: str, *, fsync: bool = False) -> None:
    """``path.write_text(text)`` (UTF-8), atomically."""
    with atomic_open(path, "w", fsync=fsync, encoding="utf-8") as fh:
        fh.write(text)
