"""``paenet-export --check [--deep]`` against images changed, linked out of the root,
oversized or undecodable after the export, and against malformed values and fields."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from annotator.cli_export import main
from paenet.data.images import MAX_PIXELS
from paenet.data.manifest import (
    IMAGE_FILE_COLUMNS,
    IMAGES_CSV,
    IMAGES_PARQUET,
    MANIFEST_FILE,
    load_manifest,
)
from tests.export.conftest import rehash


def _check(directory: Path, *args: str) -> int:
    return main(["--check", str(directory), *args])


def _problems(err: str) -> list[str]:
    """The problem lines of ``--check``'s report (the progress bar aside)."""
    return [line.strip() for line in err.splitlines() if line.startswith("  ")]


def test_image_rewritten_with_another_size_is_named(exported: Path, capsys) -> None:
    m = load_manifest(exported)
    changed = [m.root / m.images[i].sample.path for i in (3, 11)]
    sizes = [p.stat().st_size for p in changed]
    for p in changed:
        with p.open("ab") as f:
            f.write(b"\0" * 7)  # still decodes: only the size tells
    assert _check(exported) == 1
    err = capsys.readouterr().err
    assert f"{exported}: 2 problem(s)" in err
    for p, size in zip(changed, sizes):
        assert f"{p}: {size + 7} bytes, the manifest records {size} (changed after export?" in err


def test_same_size_with_another_mtime_is_a_warning_only(exported: Path, capsys) -> None:
    m = load_manifest(exported)
    touched = m.root / m.images[5].sample.path
    st = touched.stat()
    os.utime(touched, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert _check(exported) == 0
    captured = capsys.readouterr()
    assert "valid" in captured.out
    assert "1 of" in captured.err and "another modification time" in captured.err
    assert str(m.images[5].sample.path) in captured.err


def test_manifest_without_sizes_says_so(exported: Path, capsys) -> None:
    table = pq.read_table(exported / IMAGES_PARQUET).drop_columns(list(IMAGE_FILE_COLUMNS))
    pq.write_table(table, exported / IMAGES_PARQUET)
    lines = (exported / IMAGES_CSV).read_text().splitlines()
    (exported / IMAGES_CSV).write_text("".join(line.rsplit(",", 2)[0] + "\n" for line in lines))
    doc = json.loads((exported / MANIFEST_FILE).read_text())
    doc["schema_version"] = 1
    (exported / MANIFEST_FILE).write_text(json.dumps(doc))
    for name in (IMAGES_PARQUET, IMAGES_CSV):
        rehash(exported, name)
    assert _check(exported) == 0
    captured = capsys.readouterr()
    assert "valid" in captured.out
    assert "records no image sizes" in captured.err and "export again" in captured.err


def test_symlink_out_of_the_root_and_oversized_image(exported: Path, tmp_path: Path, capsys):
    m = load_manifest(exported)
    linked, big = (m.root / m.images[i].sample.path for i in (2, 9))
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(linked.read_bytes())  # same bytes: the size cannot tell
    linked.unlink()
    linked.symlink_to(outside)
    Image.new("1", (5001, 5001)).save(big, format="PNG")  # a few KB, 25,010,001 pixels
    assert MAX_PIXELS < 5001 * 5001
    assert _check(exported) == 1
    problems = _problems(capsys.readouterr().err)
    assert any(
        p.startswith(f"{linked}: is a symbolic link to {outside}, outside the dataset root")
        for p in problems
    )
    assert any(p.startswith(f"{big}: image is 5001×5001 pixels, over the limit") for p in problems)


def test_random_bytes_found_by_the_header_check_truncated_by_deep(exported: Path, capsys):
    m = load_manifest(exported)
    noise, cut = (m.root / m.images[i].sample.path for i in (4, 6))
    noise.write_bytes(random.Random(0).randbytes(noise.stat().st_size))  # same size
    data = cut.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])  # a valid header, the pixels cut short
    assert _check(exported) == 1
    problems = _problems(capsys.readouterr().err)
    assert any(p.startswith(f"{noise}: not a decodable image") for p in problems)
    assert any(p.startswith(f"{cut}: {len(data) * 2 // 3} bytes") for p in problems)
    assert not any(p.startswith(f"{cut}: not a decodable image") for p in problems)

    assert _check(exported, "--deep") == 1
    problems = _problems(capsys.readouterr().err)
    assert any(p.startswith(f"{noise}: not a decodable image") for p in problems)
    assert any(p.startswith(f"{cut}: not a decodable image") for p in problems)
    assert any(p.startswith(f"{cut}: {len(data) * 2 // 3} bytes") for p in problems)


def test_deep_check_of_a_valid_manifest(exported: Path, capsys) -> None:
    assert _check(exported, "--deep") == 0
    assert "valid" in capsys.readouterr().out


def test_values_the_loader_refuses_fail_the_check(exported: Path, capsys) -> None:
    table = pq.read_table(exported / IMAGES_PARQUET)
    i = table.column_names.index("glasses")
    values = table.column("glasses").to_pylist()
    values[1] = 256  # int8 would wrap it to 0
    table = table.set_column(i, "glasses", pa.array(values, pa.int64()))
    pq.write_table(table, exported / IMAGES_PARQUET)
    rehash(exported, IMAGES_PARQUET)
    assert _check(exported) == 1
    err = capsys.readouterr().err
    assert "row 1 (" in err and "glasses = 256, expected 0, 1 or -1" in err


@pytest.mark.parametrize(
    "field, value", [("files", "oops"), ("attributes", [1, 2, 3]), ("protocols", 7)]
)
def test_malformed_manifest_json_field_is_one_line(exported: Path, capsys, field, value) -> None:
    doc = json.loads((exported / MANIFEST_FILE).read_text())
    doc[field] = value
    (exported / MANIFEST_FILE).write_text(json.dumps(doc))
    assert _check(exported) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert _problems(err) == [
        p for p in _problems(err) if p.startswith(f"{exported / MANIFEST_FILE}: '{field}")
    ]
    assert len(_problems(err)) == 1
