from __future__ import annotations

import json
from pathlib import Path

import pytest

from paenet.cli.data import main
from tests.data.trees import small_sysu, tiny_jpeg, write_regdb


def test_inspect_regdb_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_regdb(tmp_path, num_ids=6, per_modality=3)
    assert main(["inspect", "--dataset", "regdb", str(root), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["identities"] == 6 and summary["images"] == 36
    assert [t["trial"] for t in summary["trials"]] == list(range(1, 11))
    t1 = summary["trials"][0]
    assert t1["v2t"] == {"query": 9, "gallery": 9, "query_identities": 3, "gallery_identities": 3}
    assert t1["train_test_overlap"] == 0


def test_verify_images_reports_corrupt_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = small_sysu(tmp_path, content=tiny_jpeg())
    bad = root / "cam4" / "0010" / "0002.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    argv = ["inspect", "--dataset", "sysu", str(root), "--verify-images"]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert f"BAD IMAGE {bad}: not a decodable image" in captured.out
    assert "verifying images" in captured.err  # the progress bar
    bad.write_bytes(tiny_jpeg())
    assert main(argv) == 0


def test_errors_are_one_line_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["inspect", "--dataset", "sysu", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("paenet-data: error: ") and "does not exist" in err
    assert "Traceback" not in err


def test_help_lists_the_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "inspect" in out and "synth" in out


def test_inspect_refuses_overlapping_splits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = small_sysu(tmp_path)
    (root / "exp" / "train_id.txt").write_text("1,2,4,5,7,8,11")  # 11 is also a test id
    assert main(["inspect", "--dataset", "sysu", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("paenet-data: error: ")
    assert "test_id.txt" in err and "train_id.txt" in err and "[11]" in err


def test_synth_into_a_foreign_folder_names_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "busy"
    (out / "sub").mkdir(parents=True)
    (out / "notes.txt").write_text("mine")
    (out / "sub" / "thesis.tex").write_text("\\documentclass{article}\n")
    assert main(["synth", "--layout", "regdb", "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(  # the wording every output folder gets (paenet.data.outdir)
        f"paenet-data: error: --out {out} holds files that are not a synthetic stand-in "
        "(notes.txt, sub/); choose an empty folder or remove them"
    )
    assert sorted(p.name for p in out.rglob("*")) == ["notes.txt", "sub", "thesis.tex"]
    assert (out / "notes.txt").read_text() == "mine"
    (out / "notes.txt").unlink()
    (out / "sub" / "thesis.tex").unlink()
    (out / "sub").rmdir()  # now empty: written
    assert main(["synth", "--layout", "regdb", "--out", str(out), "--no-progress"]) == 0


def test_synth_into_a_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "a.txt"
    out.write_text("mine")
    assert main(["synth", "--layout", "regdb", "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err == f"paenet-data: error: --out {out} exists and is not a folder\n"
    assert out.read_text() == "mine"


def test_inspect_text_names_the_search_modes_in_one_word(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """#21.8: the protocol lines read ``all   -search``."""
    root = small_sysu(tmp_path, content=tiny_jpeg())
    assert main(["inspect", "--dataset", "sysu", str(root)]) == 0
    out = capsys.readouterr().out
    assert "all-search" in out and "indoor-search" in out
    assert " -search" not in out
