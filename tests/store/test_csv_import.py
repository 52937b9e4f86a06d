"""Our labels CSV is validated line by line like the other importers, writes history and
moves identity versions on; a file that is not ours is never quoted back."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from annotator import cli_labels
from annotator.store.db import Store
from annotator.store.errors import ImportFormatError, StaleVersionError
from annotator.store.importers.csv_labels import CSV_COLUMNS, import_csv
from annotator.store.models import Annotator, HistoryEntry, Label, Source
from annotator.store.services.label_reads import get_identity, history
from annotator.store.services.label_writes import set_label

HEADER = ",".join(CSV_COLUMNS)
GOOD = [
    "label,sysu,1,gender,0,paenet-mat,import,1,,2024-01-02T03:04:05+00:00",
    "label,sysu,1,backpack,3,paenet-mat,import,0,,",
    "label,sysu,2,glasses,0,annotator:ADA,annotator,1,ＡＤＡ,",
    "decision,sysu,2,glasses,0,,,1,Grace,",
]


def _write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def _counts(store: Store) -> tuple[int, int, int]:
    with store.read() as s:
        return (
            s.scalar(select(func.count()).select_from(Label)) or 0,
            s.scalar(select(func.count()).select_from(Source)) or 0,
            s.scalar(select(func.count()).select_from(HistoryEntry)) or 0,
        )


def test_import_writes_history_and_bumps_versions(sysu_store: Store, tmp_path: Path) -> None:
    with sysu_store.read() as s:
        seen = get_identity(s, "sysu", 1).version  # an annotator has id 1 open
    with sysu_store.write() as s:
        report = import_csv(s, _write(tmp_path / "l.csv", *GOOD))
    assert (report.identities, report.labels) == (2, 4)
    with sysu_store.read() as s:
        one, two = get_identity(s, "sysu", 1), get_identity(s, "sysu", 2)
        h1, h2 = history(s, "sysu", 1), history(s, "sysu", 2)
        people = s.scalars(select(Annotator.name).order_by(Annotator.name)).all()
    assert (one.version, two.version) == (seen + 1, 1)
    assert one.label("paenet-mat", "gender") == 1 and one.label("paenet-mat", "backpack", 3) == 0
    assert two.label("annotator:ADA", "glasses") == 1  # ＡＤＡ and ADA: one person
    assert two.decisions == {("glasses", 0): 1}
    assert [(h.version, h.kind, h.attribute, h.camera, h.source, h.new_value) for h in h1] == [
        (1, "label", "gender", 0, "paenet-mat", 1),
        (1, "label", "backpack", 3, "paenet-mat", 0),
    ]
    assert [(h.kind, h.annotator, h.new_value) for h in h2] == [
        ("label", "ADA", 1),
        ("decision", "Grace", 1),
    ]
    assert people == ["ADA", "Grace"]
    with pytest.raises(StaleVersionError, match="changed meanwhile"):  # the import is seen
        with sysu_store.write() as s:
            set_label(s, "sysu", 1, "gender", 0, "Ada", seen)


@pytest.mark.parametrize(
    "line, message",
    [
        ("label,sysu,1,gender,9,paenet-mat,import,1,,", "camera 9 is not a sysu camera"),
        ("label,sysu,1,gender,-5,paenet-mat,import,1,,", "camera -5 is not a sysu camera"),
        ("label,sysu,1,gender,0,paenet-mat,import,1," + "x" * 10_000 + ",", "annotator name must"),
        ("label,sysu,1,gender,0,paenet-mat,import,1,<script>,", "annotator name must"),
        ("label,sysu,1,gender,0,paenet-mat,import,1,", "has 9 fields, expected 10"),
        ("label,sysu,1,gender,0,paenet-mat,import,1,,,", "has 11 fields, expected 10"),
        ("label,sysu,1,gender,0,x![t](http://h/p.png),import,1,,", "source name 'x!"),
        ("label,sysu,99,gender,0,paenet-mat,import,1,,", "dataset 'sysu' has no identity 99"),
        ("label,market,1,gender,0,paenet-mat,import,1,,", "no dataset named 'market'"),
        ("label,sysu,1,gender,0,paenet-mat,import,2,,", "label value must be 0, 1 or -1"),
        ("label,sysu,one,gender,0,paenet-mat,import,1,,", "column 'pid' must be an integer"),
        ("label,sysu,1,gender,0,paenet-mat,import,1,,yesterday", "column 'at' must be an ISO"),
        ("decision,sysu,1,gender,0,,,1,,", "a decision needs column 'by'"),
        ("label,sysu,1,gender,0,annotator:Ada,import,1,,", "source name 'annotator:Ada'"),
    ],
)
def test_bad_line_is_reported_by_number_and_nothing_written(
    sysu_store: Store, tmp_path: Path, line: str, message: str
) -> None:
    path = _write(tmp_path / "l.csv", GOOD[0], line)
    with pytest.raises(ImportFormatError) as err, sysu_store.write() as s:
        import_csv(s, path)
    assert f"line 3: {message}" in str(err.value)
    assert "x" * 100 not in str(err.value)  # long fields are not echoed whole
    assert _counts(sysu_store) == (0, 0, 0)


def test_duplicates_and_several_bad_lines(sysu_store: Store, tmp_path: Path) -> None:
    path = _write(
        tmp_path / "l.csv",
        GOOD[0],
        GOOD[1],
        GOOD[0],  # the same label slot again
        "label,sysu,1,gender,7,paenet-mat,import,1,,",
        "decision,sysu,2,glasses,0,,,1,Grace,",
        "decision,sysu,2,glasses,0,,,0,Ada,",  # a second decision on the same slot
    )
    with pytest.raises(ImportFormatError) as err, sysu_store.write() as s:
        import_csv(s, path)
    text = str(err.value)
    assert "3 bad line(s), nothing imported" in text
    assert "line 4: repeats line 2" in text
    assert "line 5: camera 7 is not a sysu camera" in text
    assert "line 7: repeats line 6" in text
    assert _counts(sysu_store) == (0, 0, 0)


def test_a_file_that_is_not_ours_is_never_quoted(
    sysu_store: Store, tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    passwd = tmp_path / "passwd"
    passwd.write_text("root:x:0:0:root:/root:/bin/bash\nSECRET_KEY=hunter2\n")
    with pytest.raises(ImportFormatError) as err, sysu_store.write() as s:
        import_csv(s, passwd)
    assert f"expected the header line {HEADER}" in str(err.value)
    assert "root" not in str(err.value).replace(str(tmp_path), "")
    binary = tmp_path / "blob.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ImportFormatError, match="not UTF-8 text"), sysu_store.write() as s:
        import_csv(s, binary)
    sysu_store.dispose()
    code = cli_labels.main(["--db", db_url, "import", "csv", str(passwd)])
    err_text = capsys.readouterr().err
    assert code == 2 and err_text.count("\n") == 1
    assert "expected the header line" in err_text and "hunter2" not in err_text
    assert "root:x" not in err_text
