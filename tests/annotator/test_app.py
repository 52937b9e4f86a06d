"""Page logic through streamlit.testing.v1.AppTest, on a real migrated SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from annotator.store.db import open_store
from annotator.store.services.labels import get_identity, history, set_label
from tests.conftest import REPO_ROOT

APP = str(REPO_ROOT / "annotator" / "app.py")
SYSU = "sysu-synthetic"


def _app(**query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def _sign_in(at: AppTest, name: str = "Ada") -> AppTest:
    at.text_input(key="_annotator_input").input(name)
    return at.run()


def _button(at: AppTest, key: str):  # type: ignore[no-untyped-def]
    return next(b for b in at.button if b.key == key)


def _view(root: Path, pid: int, dataset: str = SYSU):  # type: ignore[no-untyped-def]
    store = open_store(f"sqlite:///{root / 'annotations.sqlite3'}")
    with store.read() as s:
        return get_identity(s, dataset, pid), history(s, dataset, pid)


def test_defaults_registered_and_deep_link(data_root: Path) -> None:
    at = _app(dataset=SYSU, pid="10")
    assert not at.exception
    assert at.title[0].value == f"{SYSU} · id 10"
    assert dict(at.query_params) == {"dataset": SYSU, "pid": "10"}
    view, _hist = _view(data_root, 10)
    assert view.label("synth-gt-sysu", "gender") in (0, 1)  # ground truth imported as a source


def test_label_by_click_undo_and_history(data_root: Path) -> None:
    at = _sign_in(_app(dataset=SYSU, pid="6"))
    _button(at, "set-backpack-1").click()
    at.run()
    view, hist = _view(data_root, 6)
    assert view.label("annotator:Ada", "backpack") == 1
    assert hist[-1].annotator == "Ada" and hist[-1].new_value == 1
    assert _button(at, "set-backpack-1").proto.type == "primary"  # the page shows the saved value
    _button(at, "set-gender--1").click()
    at.run()
    assert _view(data_root, 6)[0].label("annotator:Ada", "gender") == -1  # unknown stored as such
    next(b for b in at.button if b.label == "Undo my last change").click()
    at.run()
    view, hist = _view(data_root, 6)
    assert view.label("annotator:Ada", "gender") is None
    assert view.label("annotator:Ada", "backpack") == 1
    assert hist[-1].kind == "undo"


def test_navigation_next_needing_work_and_url(data_root: Path) -> None:
    at = _sign_in(_app(dataset=SYSU, pid="6"))
    next(b for b in at.button if b.label == "Next →").click()
    at.run()
    assert at.title[0].value == f"{SYSU} · id 7"
    assert dict(at.query_params) == {"dataset": SYSU, "pid": "7"}  # the URL follows
    next(b for b in at.button if b.label == "← Previous").click()
    at.run()
    assert at.title[0].value == f"{SYSU} · id 6"
    next(b for b in at.button if b.label == "Next needing work").click()
    at.run()
    assert at.title[0].value == f"{SYSU} · id 7"  # 6 is not done either, but "next" moves on


def test_concurrent_change_is_reported_not_overwritten(data_root: Path) -> None:
    at = _sign_in(_app(dataset=SYSU, pid="6"))
    view, _ = _view(data_root, 6)
    store = open_store(f"sqlite:///{data_root / 'annotations.sqlite3'}")
    with store.write() as s:
        set_label(s, SYSU, 6, "glasses", 1, "Bob", view.version)
    _button(at, "set-glasses-0").click()
    at.run()
    assert any("changed meanwhile" in e.value and "Bob set glasses" in e.value for e in at.error)
    view, _ = _view(data_root, 6)
    assert view.label("annotator:Ada", "glasses") is None
    _button(at, "set-glasses-0").click()  # after looking again, the save goes through
    at.run()
    assert _view(data_root, 6)[0].label("annotator:Ada", "glasses") == 0


@pytest.mark.parametrize(
    "query, message",
    [
        ({"dataset": "market1501"}, "unknown dataset 'market1501'"),
        ({"dataset": SYSU, "pid": "../../etc/passwd"}, "positive integer"),
    ],
)
def test_bad_link_parameters(data_root: Path, query: dict[str, str], message: str) -> None:
    at = _app(**query)
    assert not at.exception
    assert any(message in e.value for e in at.error)


def test_unknown_pid_in_link(data_root: Path) -> None:
    at = _app(dataset=SYSU, pid="4242")
    assert any("has no identity 4242" in e.value for e in at.error)


def test_labelling_needs_a_name(data_root: Path) -> None:
    at = _app(dataset=SYSU, pid="6")
    assert any("Enter your name" in w.value for w in at.warning)
    assert _button(at, "set-gender-1").disabled


def test_password_gate(data_root: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["lab_password"] = "open sesame"
    at.run()
    assert [t.value for t in at.title] == ["PAENet attribute studio"]
    assert not any(b.key and b.key.startswith("set-") for b in at.button)
    at.text_input(key="_password").input("wrong").run()
    assert any("Wrong password" in e.value for e in at.error)
    assert not any(b.key and b.key.startswith("set-") for b in at.button)
    at.text_input(key="_password").input("open sesame").run()
    assert at.title[0].value.startswith(SYSU) or at.title[0].value.startswith("regdb")


def test_newer_database_schema_stops_the_app(data_root: Path) -> None:
    from sqlalchemy import text

    store = open_store(f"sqlite:///{data_root / 'annotations.sqlite3'}")
    with store.write_engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'zz_future'"))
    store.dispose()
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    assert any("newer version" in e.value for e in at.error)


def _page(page: str, annotator: str | None = "Rev") -> AppTest:
    at = AppTest.from_string(
        f"from annotator.views import {page}\n{page}.render()\n", default_timeout=60
    )
    if annotator:
        at.session_state["annotator"] = annotator
    return at


def test_review_decision(data_root: Path) -> None:
    at = _app(dataset=SYSU, pid="6")  # registers the defaults
    view, _ = _view(data_root, 6)
    truth = view.label("synth-gt-sysu", "backpack")
    store = open_store(f"sqlite:///{data_root / 'annotations.sqlite3'}")
    with store.write() as s:
        set_label(s, SYSU, 6, "backpack", 1 - truth, "Ada", view.version)
    at = _page("review")
    at.session_state["dataset"] = SYSU
    at.run()
    assert not at.exception
    assert any("disagreements" in m.value for m in at.markdown)
    decide = next(b for b in at.button if b.key == f"decide-6-backpack-{truth}")
    decide.click()
    at.run()
    view, _ = _view(data_root, 6)
    assert view.decisions[("backpack", 0)] == truth
    assert any("No open disagreement" in s.value for s in at.success)


def test_stats_and_data_pages_render(data_root: Path) -> None:
    _app()
    at = _page("stats")
    at.session_state["dataset"] = SYSU
    at.run()
    assert not at.exception
    assert [h.value for h in at.header] == [
        "Agreement",
        "Attribute balance and co-occurrence",
        "Progress over time",
    ]
    at = _page("data")
    at.run()
    assert not at.exception
    assert any("paenet-export" in c.value for c in at.caption)


def test_my_own_newer_save_is_not_a_conflict(data_root: Path) -> None:
    """A shortcut pressed before the page re-rendered carries an older version; when every
    newer change is the same annotator's, the save builds on them instead of failing."""
    at = _sign_in(_app(dataset=SYSU, pid="6"))
    view, _ = _view(data_root, 6)
    store = open_store(f"sqlite:///{data_root / 'annotations.sqlite3'}")
    with store.write() as s:
        set_label(s, SYSU, 6, "backpack", 1, "Ada", view.version)  # the earlier keypress
    _button(at, "set-glasses-0").click()  # rendered before that save
    at.run()
    assert not at.error
    view, _ = _view(data_root, 6)
    assert (view.label("annotator:Ada", "backpack"), view.label("annotator:Ada", "glasses")) == (
        1,
        0,
    )


def test_identity_list_by_status_opens_one(data_root: Path) -> None:
    at = _sign_in(_app(dataset=SYSU, pid="6"))
    _button(at, "set-gender-1").click()
    at.run()
    jump = at.selectbox(key=f"jump-{SYSU}")
    assert "6 (partial)" in jump.options or "6 (conflict)" in jump.options
    assert "7 (unlabelled)" in jump.options and len(jump.options) == 30
    jump.set_value(21).run()
    assert at.title[0].value == f"{SYSU} · id 21"


def test_queued_keys_from_the_browser_are_applied_once_in_order(data_root: Path) -> None:
    """What the key component sends (its ``queue`` state) is applied before the page
    draws; the same queue sent again (a resend) applies nothing twice."""
    at = _sign_in(_app(dataset=SYSU, pid="6"))
    queue = {"client": "tab", "attempt": 1, "keys": [[1, "1"], [2, "Shift+1"], [3, "Right"],
                                                     [4, "Alt+3"]]}  # fmt: skip
    at.session_state["annotate_keys"] = {"queue": queue}
    at.run()
    assert not at.exception and not at.error
    assert at.title[0].value == f"{SYSU} · id 7"  # the Right key moved the page
    six, hist6 = _view(data_root, 6)
    assert six.label("annotator:Ada", "gender") == 0
    assert [(h.attribute, h.new_value) for h in hist6 if h.annotator == "Ada"] == [
        ("gender", 1), ("gender", 0),
    ]  # fmt: skip
    assert _view(data_root, 7)[0].label("annotator:Ada", "glasses") == -1
    at.session_state["annotate_keys"] = {"queue": {**queue, "attempt": 2}}
    at.run()
    assert len([h for h in _view(data_root, 6)[1] if h.annotator == "Ada"]) == 2
    assert at.title[0].value == f"{SYSU} · id 7"


def test_stats_offers_only_sources_with_labels_on_the_dataset(data_root: Path) -> None:
    _app()  # registers both stand-ins with their ground truths
    at = _page("stats")
    at.session_state["dataset"] = "regdb-synthetic"
    at.run()
    assert not at.exception
    # one source on RegDB (its ground truth; SYSU's is not offered): an explanation,
    # no empty table or chart
    assert any("only one (synth-gt-regdb)" in i.value for i in at.info)
    assert not at.multiselect
    assert not any("kappa" in d.value.columns for d in at.dataframe)  # only the balance table
    assert at.selectbox(key="stats_source").options == ["synth-gt-regdb"]
    view, _ = _view(data_root, 6)
    store = open_store(f"sqlite:///{data_root / 'annotations.sqlite3'}")
    with store.write() as s:
        set_label(s, SYSU, 6, "gender", view.label("synth-gt-sysu", "gender"), "Ada", view.version)
    store.dispose()
    at.session_state["dataset"] = SYSU
    at.run()
    assert not at.exception and not at.info
    picked = at.multiselect(key="agree_sources")
    assert picked.options == ["annotator:Ada", "synth-gt-sysu"]
    assert picked.value == ["annotator:Ada", "synth-gt-sysu"]  # two preselected
    table = at.dataframe[0].value.set_index("attribute")
    assert table.loc["gender", "items"] == 1 and table.loc["gender", "raw agreement"] == 1.0
    assert table.loc["glasses", "items"] == 0


def test_icons_are_material_not_emoji() -> None:
    """Chromium without an emoji font draws emoji as empty boxes: every page icon is one
    of Streamlit's built-in Material icons, and no emoji is left in the annotator."""
    import re

    source = (REPO_ROOT / "annotator" / "app.py").read_text(encoding="utf-8")
    icons = re.findall(r'icon="([^"]*)"', source)
    assert len(icons) == 5 and all(re.fullmatch(r":material/[a-z_]+:", i) for i in icons)
    emoji = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf\ufe0f]")
    for path in (REPO_ROOT / "annotator").rglob("*.py"):
        assert not emoji.search(path.read_text(encoding="utf-8")), path
