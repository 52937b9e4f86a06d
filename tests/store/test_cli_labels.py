"""``paenet-labels`` end to end on files the test writes (nothing outside the repository)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from annotator.cli_labels import main
from annotator.store.db import Store
from tests.data.trees import small_sysu
from tests.store.fakes import write_mat_folder, write_xlsx


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_cli_register_import_agreement_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = small_sysu(tmp_path / "SYSU-MM01")
    db = ["--db", f"sqlite:///{tmp_path / 'db.sqlite3'}"]
    assert main([*db, "register", "--name", "sysu", "--kind", "sysu", str(root)]) == 0
    assert "sysu (sysu) at" in (out := capsys.readouterr().out)
    assert "11 identities, 306 images" in out  # 8 × 6 cams × 3 + 3 test ids × (4×12 + 2×3)

    # .mat: ids 2 and 5 labelled in every camera, the other 9 columns are placeholders
    mat = write_mat_folder(tmp_path / "mat", {2: [1, 0, 0, 1, 0, 1, 1, 0], 5: [0] * 8}, 11)
    assert main([*db, "import", "paenet-mat", str(mat)]) == 0
    out = capsys.readouterr().out
    # 2 ids × 8 attributes × (6 cameras + identity-wide)
    assert "imported 112 labels of 2 identities as paenet-mat" in out
    assert "skipped 9: placeholder columns cam6" in out

    # the same source twice: refused, in this command's words
    assert main([*db, "import", "paenet-mat", str(mat)]) == 2
    err = capsys.readouterr().err
    assert "'paenet-mat' already exists" in err and err.rstrip().endswith("(pass --source NAME)")

    # xlsx with the 'middle' trousers option (the Data page has it too)
    xlsx = write_xlsx(
        tmp_path / "label_finished.xlsx",
        {2: {"gender": "性别女", "lower_body_length": "裤子长度中"}, 5: {"gender": "性别男"}},
    )
    assert main([*db, "import", "paenet-xlsx", str(xlsx), "--middle-trousers", "1"]) == 0
    assert "imported 3 labels of 2 identities as paenet-xlsx" in capsys.readouterr().out
    assert (
        main([*db, "import", "paenet-xlsx", str(xlsx), "--source", "x2", "--flip", "gender"]) == 2
    )
    assert capsys.readouterr().err == (
        "paenet-labels: error: --flip applies to paenet-mat imports only, not to paenet-xlsx\n"
    )

    # unknown ids: refused with the flag that helps, then skipped with it
    extra = write_mat_folder(tmp_path / "mat12", {12: [0] * 8, 3: [1] * 7 + [0]}, 12)
    assert main([*db, "import", "paenet-mat", str(extra), "--source", "m12"]) == 2
    err = capsys.readouterr().err
    assert "1 id(s) are not in dataset 'sysu' (first: [12])" in err
    assert "(pass --skip-unknown-ids to import the ids it has)" in err
    args = ["import", "paenet-mat", str(extra), "--source", "m12", "--skip-unknown-ids"]
    assert main([*db, *args]) == 0
    assert "skipped 1: ids not in the dataset" in capsys.readouterr().out

    assert main([*db, "agreement", "paenet-mat", "paenet-xlsx"]) == 0
    table = capsys.readouterr().out.splitlines()
    gender = next(line for line in table if line.startswith("gender "))
    # ids 2 and 5: the .mat says 1 and 0, the xlsx 女 (1) and 男 (0): full agreement
    assert gender.split()[1:5] == ["cohen", "2", "1.000", "-"]  # no kappa from 2 items
    assert "kappa: - below 10 items" in table[-1]
    assert main([*db, "agreement", "paenet-mat", "nobody"]) == 2
    assert "no label source named 'nobody' (known sources: m12, paenet-mat, paenet-xlsx)" in (
        capsys.readouterr().err
    )

    out_csv = tmp_path / "labels.csv"
    assert main([*db, "export", str(out_csv), "--dataset", "sysu"]) == 0
    assert f"wrote 171 rows to {out_csv}" in capsys.readouterr().out  # 112 + 3 + 8 × 7 (m12)
    middle = [r for r in _rows(out_csv) if r["source"] == "paenet-xlsx" and r["pid"] == "2"]
    assert {(r["attribute"], r["value"]) for r in middle} == {
        ("gender", "1"),
        ("lower_body_length", "1"),
    }

    assert main([*db, "export", str(out_csv), "--dataset", "market"]) == 2
    err = capsys.readouterr().err
    assert "no dataset named 'market'" in err and "(register it first:" in err


def test_cli_disposes_the_store_also_on_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    disposed: list[str] = []
    real = Store.dispose

    def spy(self: Store) -> None:
        disposed.append(self.url)
        real(self)

    monkeypatch.setattr(Store, "dispose", spy)
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    assert main(["--db", url, "register", "--name", "x", "--kind", "sysu", str(tmp_path)]) == 2
    assert "missing the 'exp/' folder" in capsys.readouterr().err
    assert disposed == [url]
