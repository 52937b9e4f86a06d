"""paenet-export on bad input, --check, and an export killed while writing."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from annotator.cli_export import main
from paenet.data.manifest import (
    IMAGES_CSV,
    IMAGES_PARQUET,
    MANIFEST_FILE,
    MANIFEST_SCHEMA_VERSION,
    ManifestError,
    load_manifest,
)
from tests.export.conftest import Env, export, rehash

REPO = Path(__file__).resolve().parents[2]


def test_database_missing(tmp_path: Path, capsys) -> None:
    db = tmp_path / "none.sqlite3"
    assert main(["--db", f"sqlite:///{db}", "--dataset", "x", "--out", str(tmp_path / "m")]) == 2
    assert f"database {db} does not exist" in capsys.readouterr().err
    assert not db.exists()  # not created by the attempt


def test_unknown_dataset_and_source(env: Env, tmp_path: Path, capsys) -> None:
    assert export(env, tmp_path / "m", dataset="nope") == 2
    err = capsys.readouterr().err
    assert "no dataset named 'nope'" in err and "regdb-synthetic, sysu-synthetic" in err
    assert export(env, tmp_path / "m", "--sources", "paenet-mat") == 2
    assert "no label source 'paenet-mat'" in capsys.readouterr().err
    args = ("--sources", "synth-gt-regdb", "--format", "paenet-official")
    assert export(env, tmp_path / "m", *args, dataset="regdb-synthetic") == 2
    assert "SYSU-MM01 only" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_official_format_needs_resolved_unknowns(env: Env, tmp_path: Path, capsys) -> None:
    assert export(env, tmp_path / "m", "--unknown", "drop", "--format", "paenet-official") == 2
    err = capsys.readouterr().err
    assert "cannot hold unknown values" in err and "--unknown 0 or --unknown 1" in err
    assert export(env, tmp_path / "m", "--unknown", "0", "--format", "paenet-official") == 0


def test_dataset_root_moved(env: Env, exported: Path, tmp_path: Path, capsys) -> None:
    moved = tmp_path / "moved"
    env.sysu.rename(moved)
    with pytest.raises(ManifestError, match=r"dataset root .*SYSU-MM01 does not exist"):
        load_manifest(exported)
    assert main(["--check", str(exported)]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["--check", str(exported), "--root", str(moved)]) == 0
    assert export(env, tmp_path / "m2", "--sources", "synth-gt-sysu") == 2
    assert "SYSU-MM01 root folder does not exist" in capsys.readouterr().err


def test_check_valid_missing_image_and_tampered_tables(exported: Path, env: Env, capsys) -> None:
    assert main(["--check", str(exported)]) == 0
    assert "valid" in capsys.readouterr().out
    m = load_manifest(exported)
    gone = m.images[7].sample.path
    (m.root / gone).unlink()
    assert main(["--check", str(exported)]) == 1
    err = capsys.readouterr().err
    assert f"1 of {len(m.images)} images are missing, first: {gone}" in err

    lines = (exported / IMAGES_CSV).read_text().splitlines(keepends=True)
    lines[3] = lines[3].replace(",train,", ",test,", 1)
    (exported / IMAGES_CSV).write_text("".join(lines))
    assert main(["--check", str(exported)]) == 1
    err = capsys.readouterr().err
    assert f"{exported / IMAGES_CSV}: size" in err and "manifest.json records" in err
    rehash(exported, IMAGES_CSV)  # a consistent forgery: the CSV no longer equals the parquet
    assert main(["--check", str(exported)]) == 1
    assert f"{exported / IMAGES_CSV}: row 2 differs from images.parquet" in capsys.readouterr().err


def test_check_path_escaping_root_and_newer_schema(exported: Path, capsys) -> None:
    table = pq.read_table(exported / IMAGES_PARQUET)
    cols = {n: table.column(n).to_pylist() for n in table.column_names}
    cols["path"][0] = "../../etc/passwd"
    pq.write_table(pa.table(cols, schema=table.schema), exported / IMAGES_PARQUET)
    rehash(exported, IMAGES_PARQUET)
    assert main(["--check", str(exported)]) == 1
    assert "row 0: '../../etc/passwd': path escapes the dataset root" in capsys.readouterr().err

    doc = json.loads((exported / MANIFEST_FILE).read_text())
    newer = MANIFEST_SCHEMA_VERSION + 1
    doc["schema_version"] = newer
    (exported / MANIFEST_FILE).write_text(json.dumps(doc))
    assert main(["--check", str(exported)]) == 1
    err = capsys.readouterr().err
    assert f"schema_version {newer} is not supported" in err and "newer paenet" in err


def test_export_killed_mid_write_leaves_previous_export(env: Env, exported: Path) -> None:
    """A child process exports over ``exported`` and is killed (SIGKILL) after writing
    its tables, before the rename; the previous export must still load, unchanged."""
    before = {p.name: p.read_bytes() for p in exported.iterdir()}
    marker = exported.parent / "tables-written"
    child = (
        "import sys, time, pathlib\n"
        "import paenet.data.manifest_write as w\n"
        "orig = w._write_lists\n"
        "def slow(*a):\n"
        "    orig(*a)\n"
        f"    pathlib.Path({str(marker)!r}).touch()\n"
        "    time.sleep(120)\n"
        "w._write_lists = slow\n"
        "from annotator.cli_export import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    cmd = [sys.executable, "-c", child, "--db", env.db_url, "--dataset", "sysu-synthetic",
           "--out", str(exported), "--sources", "synth-gt-sysu", "--unknown", "1"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, "the export ended before it was killed"
            assert time.monotonic() < deadline, "the export never reached its tables"
            time.sleep(0.05)
        temps = [p for p in exported.parent.iterdir() if p.name.startswith(".m.tmp-")]
        assert len(temps) == 1 and (temps[0] / IMAGES_PARQUET).is_file()  # half-done, beside
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert {p.name: p.read_bytes() for p in exported.iterdir()} == before
    m = load_manifest(exported)
    assert m.metadata["labels"]["unknown_policy"] == "fail"
    # the next export removes the leftover and replaces the manifest
    assert export(env, exported, "--sources", "synth-gt-sysu", "--unknown", "1") == 0
    assert load_manifest(exported).metadata["labels"]["unknown_policy"] == "1"
    assert sorted(p.name for p in exported.parent.iterdir() if p.name.startswith(".m.")) == []
    shutil.rmtree(exported)
