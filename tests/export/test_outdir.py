"""paenet-export never destroys a folder that is not a manifest, never writes inside the
dataset root, serialises writers of one folder, and cleans only dead writers' leftovers;
a damaged database file ends in one line."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from annotator.cli_export import main
from paenet.data import outdir
from paenet.data.manifest import MANIFEST_FILE, load_manifest
from paenet.data.outdir import MANIFEST, OutputFolderError, atomic_directory, target_lock
from tests.export.conftest import Env, export

REPO = Path(__file__).resolve().parents[2]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path -> bytes)."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err  # one line, no traceback
    assert lines[0].startswith("paenet-export: error: ")
    return lines[0]


def test_a_users_folder_is_refused_and_left_byte_identical(
    env: Env, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "notes"
    (out / "sub").mkdir(parents=True)
    (out / "notes.txt").write_text("my notes\n")
    (out / "sub" / "thesis.tex").write_text("\\documentclass{article}\n")
    before = snapshot(out)
    assert export(env, out, "--sources", "synth-gt-sysu") == 2
    line = one_error_line(capsys)
    assert f"--out {out} holds files that are not a manifest" in line
    assert "notes.txt" in line and "sub/" in line and "choose an empty folder" in line
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["datasets", "notes"]  # no leftovers


def test_a_manifest_with_a_stray_file_is_refused(
    env: Env, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m"
    assert export(env, out, "--sources", "synth-gt-sysu") == 0
    (out / "README.txt").write_text("what I changed\n")
    for _ in range(6):  # a long listing is cut
        (out / f"plot{_}.png").write_bytes(b"png")
    before = snapshot(out)
    assert export(env, out, "--sources", "synth-gt-sysu", "--unknown", "1") == 2
    line = one_error_line(capsys)
    assert "README.txt" in line and "and 2 more" in line
    assert "images.parquet" not in line  # the manifest's own files are not foreign
    assert snapshot(out) == before


def test_a_manifest_and_an_empty_folder_are_replaced(env: Env, tmp_path: Path) -> None:
    out = tmp_path / "m"
    out.mkdir()
    assert export(env, out, "--sources", "synth-gt-sysu") == 0
    assert export(env, out, "--sources", "synth-gt-sysu", "--format", "paenet-official",
                  "--unknown", "1") == 0  # fmt: skip
    assert (out / "cam1_att.mat").is_file()  # a file the manifest names (official format)
    assert export(env, out, "--sources", "synth-gt-sysu") == 0
    assert not (out / "cam1_att.mat").exists()
    load_manifest(out)


@pytest.mark.parametrize("where", ["root", "inside", "inside-empty"])
def test_the_dataset_root_is_refused(
    env: Env, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    out = {"root": env.sysu, "inside": env.sysu / "manifest", "inside-empty": env.sysu / "exp"}
    target = out[where]
    if where == "inside-empty":
        target = env.sysu / "empty"
        target.mkdir()
    before = snapshot(env.sysu)
    assert export(env, target, "--sources", "synth-gt-sysu") == 2
    line = one_error_line(capsys)
    if where == "root":  # it holds the dataset: refused before the database is read
        assert f"--out {target} holds files that are not a manifest" in line
    else:
        assert f"--out {target} is inside the dataset root {env.sysu.resolve()}" in line
    assert snapshot(env.sysu) == before  # the dataset's file count and bytes unchanged
    assert not [p for p in env.sysu.parent.iterdir() if p.name.startswith(".")]


CHILD = """
import os, pathlib, sys, time
import paenet.data.manifest_write as w
hold = os.environ.get("HOLD_AFTER_TABLES")
if hold:
    orig = w._write_lists
    def slow(*a):
        orig(*a)
        pathlib.Path(hold).touch()
        go = pathlib.Path(hold + ".go")
        deadline = time.monotonic() + 60
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    w._write_lists = slow
from annotator.cli_export import main
sys.exit(main(sys.argv[1:]))
"""


def _export_process(env: Env, out: Path, log: Path, **extra_env: str) -> subprocess.Popen:
    cmd = [sys.executable, "-c", CHILD, "--db", env.db_url, "--dataset", "sysu-synthetic",
           "--out", str(out), "--sources", "synth-gt-sysu"]  # fmt: skip
    return subprocess.Popen(
        cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=log.open("w"),
        env={**os.environ, "PYTHONPATH": str(REPO), **extra_env},
    )  # fmt: skip


def _wait_for(condition, what: str, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_two_exports_to_one_folder_at_once(env: Env, tmp_path: Path) -> None:
    """The first export holds after writing its tables; the second, started then, must
    wait for it (not remove its temporary folder); both end with exit 0 and a valid
    manifest."""
    out = tmp_path / "m"
    held = tmp_path / "first-wrote-tables"
    first = _export_process(env, out, tmp_path / "first.log", HOLD_AFTER_TABLES=str(held))
    second = None
    try:
        _wait_for(lambda: held.exists() or first.poll() is not None, "the first export")
        assert first.poll() is None, (tmp_path / "first.log").read_text()
        second = _export_process(env, out, tmp_path / "second.log")
        log2 = tmp_path / "second.log"
        _wait_for(
            lambda: "is writing" in log2.read_text() or second.poll() is not None,
            "the second export to wait or end",
        )
        Path(f"{held}.go").touch()  # let the first one finish
        assert first.wait(60) == 0, (tmp_path / "first.log").read_text()
        assert second.wait(60) == 0, log2.read_text()
    finally:
        for proc in (first, second):
            if proc is not None:
                proc.kill()
                proc.wait()
    assert "waiting" in (tmp_path / "second.log").read_text()
    load_manifest(out)
    assert main(["--check", str(out)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_held_lock_makes_the_next_writer_wait_then_refuse(tmp_path: Path) -> None:
    target = tmp_path / "m"
    with target_lock(target):
        lock = tmp_path / ".m.lock"
        assert lock.read_text().strip() == str(os.getpid())
        t0 = time.monotonic()
        with pytest.raises(OutputFolderError, match=rf"pid {os.getpid()}\) is writing .*{target}"):
            with target_lock(target, timeout=0.3):
                pass
        assert time.monotonic() - t0 >= 0.3
    assert not lock.exists()  # the lock file goes with its holder
    with target_lock(target, timeout=0):  # free again
        pass


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_only_temporaries_of_dead_writers_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "m"
    target.mkdir()  # a previous output: an old folder beside it is a leftover, not restored
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead_tmp = tmp_path / f".m.tmp-{_dead_pid()}-abc"
        live_tmp = tmp_path / f".m.tmp-{live.pid}-def"
        dead_old = tmp_path / f".m.old-{_dead_pid()}"
        for folder in (dead_tmp, live_tmp, dead_old):
            folder.mkdir()
            (folder / "images.parquet").write_bytes(b"half")
        with atomic_directory(target, MANIFEST) as tmp:
            assert tmp.name.startswith(f".m.tmp-{os.getpid()}-")
            (tmp / MANIFEST_FILE).write_text("{}")
        assert not dead_tmp.exists() and not dead_old.exists()
        assert (live_tmp / "images.parquet").read_bytes() == b"half"  # a live writer's, kept
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["m", live_tmp.name])
    finally:
        live.kill()
        live.wait()


def test_a_dead_writers_previous_manifest_is_restored(tmp_path: Path) -> None:
    """A writer killed between its two renames left the previous folder as ``.old-PID``."""
    target = tmp_path / "m"
    old = tmp_path / f".m.old-{_dead_pid()}"
    old.mkdir()
    (old / MANIFEST_FILE).write_text('{"format": "paenet-manifest", "files": {}}')
    with pytest.raises(RuntimeError):
        with atomic_directory(target, MANIFEST):
            raise RuntimeError("the write failed")
    assert (target / MANIFEST_FILE).is_file() and not old.exists()


def test_output_rules_without_a_database(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_text("a file")
    with pytest.raises(OutputFolderError, match="exists and is not a folder"):
        outdir.check_output(target, MANIFEST, label="--out")
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / MANIFEST_FILE).write_text('{"format": "someone-else"}')
    (fake / "images.csv").write_text("x")
    with pytest.raises(OutputFolderError, match=r"not a manifest \(images.csv, manifest.json\)"):
        outdir.check_output(fake, MANIFEST, label="--out")
    outdir.check_output(tmp_path / "new", MANIFEST, label="--out", outside=tmp_path / "other")


def test_a_malformed_database_is_one_line(
    env: Env, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = Path(env.db_url.split("///", 1)[1])
    env.store.dispose()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=DELETE")  # everything in the main file
    conn.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    out = tmp_path / "m"
    assert export(env, out, "--sources", "synth-gt-sysu") == 2
    line = one_error_line(capsys)
    assert str(path) in line and "malformed" in line and f'sqlite3 {path} ".recover"' in line
    assert not out.exists()
