"""The writer refuses folders it does not own and invalid configs."""

from __future__ import annotations

from pathlib import Path

import pytest

from paenet.synth import SynthConfig, SynthReport, synthesize


def test_refuses_a_non_empty_foreign_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty and is not a synthetic stand-in"):
        synthesize(SynthConfig(layout="sysu", out=tmp_path, scale="tiny"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_refuses_a_stand_in_of_another_config(tiny_sysu: SynthReport) -> None:
    before = sorted(tiny_sysu.out.rglob("*"))
    for kwargs in ({"seed": 1}, {"scale": "full"}, {"layout": "regdb"}):
        cfg = SynthConfig(**{"layout": "sysu", "out": tiny_sysu.out, "scale": "tiny", **kwargs})
        with pytest.raises(FileExistsError, match="different synthetic stand-in"):
            synthesize(cfg)
    assert sorted(tiny_sysu.out.rglob("*")) == before


def test_refuses_a_file_as_output(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(FileExistsError, match="not a folder"):
        synthesize(SynthConfig(layout="regdb", out=target))


def test_writes_into_an_empty_folder_and_reruns_the_same_config(tmp_path: Path) -> None:
    cfg = SynthConfig(layout="regdb", out=tmp_path, scale="tiny", seed=2, workers=1)
    assert synthesize(cfg).images_written == 160
    assert synthesize(cfg).images_written == 0  # complete: nothing left to draw


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"layout": "market"}, "layout"),
        ({"scale": "medium"}, "scale"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"workers": 0}, "workers"),
    ],
)
def test_config_validation(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SynthConfig(**{"layout": "sysu", "out": Path("x"), **kwargs})


def test_cli_synth_writes_and_refuses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from paenet.cli.data import main

    out = tmp_path / "RegDB"
    argv = ["synth", "--layout", "regdb", "--out", str(out), "--seed", "4", "--no-progress"]
    assert main(argv) == 0
    assert "160 images" in capsys.readouterr().out
    assert main([*argv[:-2], "5", "--no-progress"]) == 2
    assert "different synthetic stand-in" in capsys.readouterr().err
