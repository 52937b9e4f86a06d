"""The Data page's export section through AppTest, on the tiny stand-in and a real SQLite file."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from annotator.config import load_config
from annotator.defaults import ensure_registered
from annotator.store.db import open_store
from paenet.data.manifest import load_manifest

SCRIPT = """
from annotator.views.common import datasets
from annotator.views.data_export import render_export
render_export(datasets())
"""


def _section(data_root: Path) -> AppTest:
    store = open_store(f"sqlite:///{data_root / 'annotations.sqlite3'}")
    ensure_registered(store, load_config([], None))
    store.dispose()
    at = AppTest.from_string(SCRIPT, default_timeout=60)
    return at.run()


def _submit(at: AppTest) -> AppTest:
    next(b for b in at.button if b.label == "Export").click()
    return at.run()


def test_export_with_a_source_writes_the_manifest(data_root: Path) -> None:
    at = _section(data_root)
    assert not at.exception
    assert any("paenet-export" in c.value for c in at.caption)
    at.selectbox(key="export_dataset").set_value("sysu-synthetic")
    at.multiselect(key="export_sources").set_value(["synth-gt-sysu"])
    at.checkbox(key="export_official").check()
    at = _submit(at)
    assert not at.exception and not at.error
    out = data_root / "manifests" / "sysu-synthetic"
    m = load_manifest(out)
    assert m.metadata["labels"]["sources"] == ["synth-gt-sysu"]
    assert {im.provenance for im in m.images} == {("source:synth-gt-sysu",) * 8}
    assert (out / "cam1_att.mat").is_file()
    assert f"to {out.resolve()}" in at.success[0].value
    # #21.7: no file:// link (browsers block it from an http page): the path, to copy
    assert not any("file://" in md.value for md in at.markdown)
    assert [c.value for c in at.code] == [str(out.resolve())]


def test_unknowns_stop_with_the_summary_and_a_policy_resolves_them(data_root: Path) -> None:
    at = _section(data_root)
    at.selectbox(key="export_dataset").set_value("regdb-synthetic")
    at = _submit(at)  # no source chosen: nobody labelled anything, every id is unknown
    assert not at.exception
    assert "Export stopped" in at.error[0].value
    assert "training identities have unknown or undecided attributes" in at.code[0].value
    # #21.7: the way out names the form control, not the command-line flag; nothing is cut
    assert "--unknown" not in at.code[0].value
    assert "Unknown or undecided values of training identities" in at.code[0].value
    assert at.code[0].proto.wrap_lines
    out = data_root / "manifests" / "regdb-synthetic"
    assert not out.exists()
    at.radio(key="export_unknown").set_value("1")
    at = _submit(at)
    assert not at.error
    m = load_manifest(out)
    assert m.metadata["labels"]["unknown_policy"] == "1"
    assert {im.attributes for im in m.images} == {(1,) * 8}
    assert any("filled" in md.value for md in at.markdown)


def test_official_format_on_regdb_is_refused(data_root: Path) -> None:
    at = _section(data_root)
    at.selectbox(key="export_dataset").set_value("regdb-synthetic")
    at.multiselect(key="export_sources").set_value(["synth-gt-regdb"])
    at.checkbox(key="export_official").check()
    at = _submit(at)
    assert "SYSU-MM01 only" in at.error[0].value
