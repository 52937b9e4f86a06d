"""Naming rules: dataset and source names are slugs; annotators fold case and width."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from annotator.store.db import Store
from annotator.store.importers.common import LabelRow, write_import
from annotator.store.models import Annotator, Source
from annotator.store.services.annotators import canonical_annotator
from annotator.store.services.datasets import register_dataset
from annotator.store.services.label_reads import get_identity, history
from annotator.store.services.label_writes import set_label
from annotator.store.services.names import annotator_key, validate_slug
from tests.data.trees import small_sysu

BAD_SLUGS = [
    "x![t](http://host/p.png)",
    "<b>sysu</b>",
    "two words",
    "-leading-dash",
    ".hidden",
    "../up",
    "sysu/test",
    "ＳＹＳＵ",
    "é",
    "",
    "x" * 65,
]


@pytest.mark.parametrize("name", BAD_SLUGS)
def test_bad_slugs(name: str) -> None:
    with pytest.raises(ValueError, match="is not allowed"):
        validate_slug(name, "dataset name")


@pytest.mark.parametrize("name", ["sysu", "regdb-synthetic", "paenet-mat_v2.1", "x" * 64, "7"])
def test_good_slugs(name: str) -> None:
    assert validate_slug(name, "dataset name") == name


def test_register_refuses_a_markdown_name(store: Store, tmp_path: Path) -> None:
    root = small_sysu(tmp_path / "SYSU-MM01")
    with pytest.raises(ValueError, match=r"dataset name 'x!\[t\].*' is not allowed"):
        with store.write() as s:
            register_dataset(s, "x![t](http://host/p.png)", "sysu", root)
    with store.read() as s:
        assert s.execute(text("SELECT count(*) FROM datasets")).scalar() == 0


def test_a_name_stored_before_the_rule_still_rescans(store: Store, tmp_path: Path) -> None:
    root = small_sysu(tmp_path / "SYSU-MM01")
    with store.write() as s:
        register_dataset(s, "sysu", "sysu", root)
        s.execute(text("UPDATE datasets SET name = 'old name!' WHERE name = 'sysu'"))
    with store.write() as s:
        info = register_dataset(s, "old name!", "sysu", root)
    assert info.identities == 11


def test_import_source_name_is_a_slug(sysu_store: Store) -> None:
    rows = [LabelRow(1, "gender", 0, 1)]
    with pytest.raises(ValueError, match="source name '<img src=x>' is not allowed"):
        with sysu_store.write() as s:
            write_import(s, "sysu", "<img src=x>", "test", rows)
    with sysu_store.read() as s:
        assert s.scalar(select(func.count()).select_from(Source)) == 0


def test_case_and_width_fold_to_one_annotator(sysu_store: Store) -> None:
    assert annotator_key("ＡＤＡ") == annotator_key("ADA") == annotator_key(" ada ") == "ada"
    with sysu_store.write() as s:
        v = set_label(s, "sysu", 1, "gender", 1, "Ada", get_identity(s, "sysu", 1).version)
        v = set_label(s, "sysu", 1, "glasses", 0, "ADA", v)
        set_label(s, "sysu", 1, "backpack", 1, "ＡＤＡ", v)
    with sysu_store.read() as s:
        assert s.scalars(select(Annotator.name)).all() == ["Ada"]
        assert s.scalars(select(Source.name)).all() == ["annotator:Ada"]
        view = get_identity(s, "sysu", 1)
        assert view.labels == {"annotator:Ada": {("gender", 0): 1, ("glasses", 0): 0,
                                                 ("backpack", 0): 1}}  # fmt: skip
        assert {h.annotator for h in history(s, "sysu", 1)} == {"Ada"}
        assert canonical_annotator(s, "ａｄａ") == "Ada"
        assert canonical_annotator(s, "Grace") == "Grace"
        with pytest.raises(ValueError, match="annotator name"):
            canonical_annotator(s, "<script>")


def test_register_of_a_non_utf8_file_name_names_the_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    from annotator import cli_labels
    from tests.data.trees import write_regdb

    root = write_regdb(tmp_path / "RegDB")
    folder = root / "Thermal" / "4"
    with open(os.fsencode(folder) + b"/caf\xe9.bmp", "wb"):
        pass
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    assert (
        cli_labels.main(["--db", url, "register", "--name", "r", "--kind", "regdb", str(root)]) == 2
    )
    err = capsys.readouterr().err
    assert (
        err.count("\n") == 1 and f"{folder}: file name 'caf\\udce9.bmp' is not valid UTF-8" in err
    )
