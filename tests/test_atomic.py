"""The one atomic-write helper: the target holds the old file or the whole new one."""

from __future__ import annotations

import os
import threading

import pytest

from paenet.atomic import (
    atomic_open,
    atomic_path,
    temporary_path,
    temporary_pid,
    write_bytes_atomic,
    write_text_atomic,
)


def test_a_clean_write_replaces_the_target_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "a.json"
    target.write_text("old")
    write_text_atomic(target, "new ✓")
    assert target.read_text(encoding="utf-8") == "new ✓"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]
    write_bytes_atomic(target, b"\x00\x01", fsync=True)
    assert target.read_bytes() == b"\x00\x01"


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="half"):
        with atomic_open(target, "wb") as fh:
            fh.write(b"new but only ha")
            raise RuntimeError("half written")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin"]


def test_atomic_path_renames_only_on_success(tmp_path):
    target = tmp_path / "cache.npy"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name == f".cache.npy.{os.getpid()}.tmp"
        tmp.write_bytes(b"abc")
        assert not target.exists()
    assert target.read_bytes() == b"abc"
    with pytest.raises(KeyError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"xyz")
            raise KeyError("stop")
    assert target.read_bytes() == b"abc" and not tmp.exists()


def test_temporary_names_carry_the_pid_and_parse_back(tmp_path):
    path = tmp_path / "last.pt"
    tmp = temporary_path(path)
    assert tmp.name == f".last.pt.{os.getpid()}.tmp"
    assert temporary_pid(tmp.name) == ("last.pt", os.getpid())
    assert temporary_pid(".last.pt.123.part", suffix=".part") == ("last.pt", 123)
    assert temporary_pid(".last.pt.123.part") is None  # another suffix
    assert temporary_pid("last.pt") is None
    threaded = temporary_path(path, per_thread=True)
    assert threaded.name == f".last.pt.{os.getpid()}-{threading.get_ident()}.tmp"
    assert temporary_pid(threaded.name) == ("last.pt", os.getpid())


def test_process_alive_tells_a_running_writer_from_a_gone_one():
    import subprocess
    import sys

    from paenet.atomic import process_alive

    assert process_alive(os.getpid())
    assert not process_alive(0) and not process_alive(-5)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # reaped: its pid names no process now
    assert not process_alive(child.pid)
