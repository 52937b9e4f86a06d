"""The Data page (AppTest): allowed roots for registering and importing, uploads, the
xlsx 'middle' option, and errors that never quote a foreign file's content."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from annotator.config import load_config
from annotator.defaults import ensure_registered
from annotator.store.db import open_store
from annotator.store.importers.run import ImportFormat
from annotator.store.services.datasets import list_datasets
from annotator.store.services.label_reads import get_identity
from tests.data.trees import write_regdb
from tests.store.fakes import write_xlsx

SYSU = "sysu-synthetic"


def _data_page() -> AppTest:
    at = AppTest.from_string(
        "from annotator.views import data\ndata.render()\n", default_timeout=60
    )
    return at.run()


def _labelled(widgets, label: str):  # type: ignore[no-untyped-def]
    return next(w for w in widgets if w.label == label)


def _register(at: AppTest, name: str, kind: str, root: str) -> AppTest:
    _labelled(at.text_input, "Name (used in links)").input(name)
    _labelled(at.selectbox, "Layout").set_value(kind)
    _labelled(at.text_input, "Root folder").input(root)
    _labelled(at.button, "Register / rescan").click()
    return at.run()


def _names(data_root: Path) -> set[str]:
    store = open_store(f"sqlite:///{data_root / 'annotations.sqlite3'}")
    try:
        with store.read() as s:
            return {d.name for d in list_datasets(s)}
    finally:
        store.dispose()


def _defaults(data_root: Path) -> None:
    store = open_store(f"sqlite:///{data_root / 'annotations.sqlite3'}")
    ensure_registered(store, load_config([]))
    store.dispose()


@pytest.mark.parametrize("how", ["outside", "dotdot", "symlink"])
def test_register_refuses_folders_outside_the_allowed_roots(
    data_root: Path, tmp_path: Path, how: str
) -> None:
    outside = write_regdb(tmp_path / "elsewhere" / "RegDB", num_ids=4)
    if how == "outside":
        typed = str(outside)
    elif how == "dotdot":
        typed = f"{data_root}/../elsewhere/RegDB"
    else:
        (data_root / "linked").symlink_to(outside, target_is_directory=True)
        typed = str(data_root / "linked")
    at = _register(_data_page(), "x", "regdb", typed)
    assert not at.exception
    (error,) = at.error
    assert f"{typed} (resolved: {outside.resolve()}) is outside the data root" in error.value
    assert "PAENET_ALLOWED_ROOTS" in error.value and "paenet-labels" in error.value
    assert "x" not in _names(data_root)


def test_register_inside_the_data_root_or_an_allowed_root(
    data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = write_regdb(tmp_path / "elsewhere" / "RegDB", num_ids=4)
    monkeypatch.setenv(
        "PAENET_ALLOWED_ROOTS", f"{tmp_path / 'nothing'}{os.pathsep}{outside.parent}"
    )
    at = _register(_data_page(), "x", "regdb", str(outside))
    assert not at.error and at.success[0].value == "x: 4 identities, 16 images"
    at = _register(at, "y", "regdb", str(data_root / "synthetic" / "RegDB"))
    assert not at.error and at.success[0].value.startswith("y: ")
    assert {"x", "y"} <= _names(data_root)


def _import(at: AppTest, fmt: ImportFormat, path: str = "") -> AppTest:
    at.selectbox(key="import_format").set_value(fmt).run()
    _labelled(at.selectbox, "Into dataset").set_value(SYSU)
    if path:
        _labelled(at.text_input, "Path (inside the data root or PAENET_ALLOWED_ROOTS)").input(path)
    return at


def _submit(at: AppTest) -> AppTest:
    _labelled(at.button, "Import").click()
    return at.run()


def test_csv_import_by_upload(data_root: Path) -> None:
    _defaults(data_root)
    at = _import(_data_page(), ImportFormat.CSV)
    text = (
        "kind,dataset,pid,attribute,camera,source,source_kind,value,by,at\n"
        f"label,{SYSU},6,glasses,0,annotator:Zed,annotator,1,Zed,2026-11-25T10:00:00+00:00\n"
    )
    at.file_uploader[0].set_value(("my labels.csv", text.encode(), "text/csv"))
    at = _submit(at)
    assert not at.error
    assert at.success[0].value == "Imported 1 labels of 1 identities as csv:my_labels.csv."
    store = open_store(f"sqlite:///{data_root / 'annotations.sqlite3'}")
    with store.read() as s:
        assert get_identity(s, SYSU, 6).label("annotator:Zed", "glasses") == 1
    store.dispose()


SECRET = "token=hunter2-do-not-show"


@pytest.mark.parametrize("fmt", [ImportFormat.CSV, ImportFormat.PAENET_XLSX])
def test_a_file_that_is_not_a_labels_file_is_never_quoted(
    data_root: Path, fmt: ImportFormat
) -> None:
    _defaults(data_root)
    notes = data_root / "notes.csv"
    notes.write_text(f"{SECRET},second\n1,2\n")
    at = _submit(_import(_data_page(), fmt, str(notes)))
    (error,) = at.error
    assert SECRET not in error.value and "hunter2" not in error.value
    assert error.value.startswith(f"{notes} is not a valid file for")
    assert error.value.endswith("Nothing was imported.")
    if fmt is ImportFormat.CSV:
        at = _import(at, fmt)
        at.file_uploader[0].set_value(("notes.csv", notes.read_bytes(), "text/csv"))
        (error,) = _submit(at).error
        assert "hunter2" not in error.value
        assert error.value.startswith("the uploaded file 'notes.csv' is not a valid file for")


def test_import_paths_outside_the_allowed_roots_are_refused(
    data_root: Path, tmp_path: Path
) -> None:
    _defaults(data_root)
    outside = tmp_path / "outside.csv"
    outside.write_text("kind,dataset\n")
    for typed in (str(outside), f"{data_root}/../outside.csv"):
        (error,) = _submit(_import(_data_page(), ImportFormat.CSV, typed)).error
        assert "is outside the data root" in error.value and "PAENET_ALLOWED_ROOTS" in error.value


def test_xlsx_middle_option_on_the_page(data_root: Path) -> None:
    _defaults(data_root)
    xlsx = write_xlsx(data_root / "label_finished.xlsx", {6: {"lower_body_length": "裤子长度中"}})
    at = _import(_data_page(), ImportFormat.PAENET_XLSX, str(xlsx))
    _labelled(at.radio, "Trousers length 'middle' counts as").set_value("long (1)")
    at = _submit(at)
    assert not at.error
    assert at.success[0].value == "Imported 1 labels of 1 identities as paenet-xlsx."
    # the same source again: the store's refusal in this page's words
    at = _submit(_import(at, ImportFormat.PAENET_XLSX, str(xlsx)))
    assert at.error[0].value.endswith("(type another name under “Source name”)")
    store = open_store(f"sqlite:///{data_root / 'annotations.sqlite3'}")
    with store.read() as s:
        assert get_identity(s, SYSU, 6).label("paenet-xlsx", "lower_body_length") == 1
    store.dispose()
