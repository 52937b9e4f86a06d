"""Agreement & statistics page (#21.6): the balance table and chart, kappa's minimum, and
progress on a single day; on a real migrated SQLite file through AppTest."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from annotator.store.db import open_store
from annotator.store.services.agreement import MIN_KAPPA_ITEMS, agreement
from annotator.store.services.label_reads import get_identity
from annotator.store.services.label_writes import set_label
from paenet.attributes import ATTRIBUTE_KEYS
from tests.annotator.test_app import SYSU, _app, _page


def _label_like_the_truth(root: Path, pids: range, attribute: str = "gender") -> None:
    store = open_store(f"sqlite:///{root / 'annotations.sqlite3'}")
    for pid in pids:
        with store.write() as s:
            view = get_identity(s, SYSU, pid)
            set_label(s, SYSU, pid, attribute, view.label("synth-gt-sysu", attribute), "Ada",
                      view.version)  # fmt: skip
    store.dispose()


def _stats(root: Path) -> AppTest:
    at = _page("stats")
    at.session_state["dataset"] = SYSU
    return at.run()


def test_kappa_is_left_out_below_the_minimum_and_n_is_shown(data_root: Path) -> None:
    """One identity in common showed kappa 1.000."""
    _app()
    _label_like_the_truth(data_root, range(1, 2))
    at = _stats(data_root)
    assert not at.exception
    table = at.dataframe[0].value.set_index("attribute")
    assert table.loc["gender", "items"] == 1
    assert table.loc["gender", "kappa"] == "—"  # not 1.000
    assert any(f"from {MIN_KAPPA_ITEMS} items on" in c.value for c in at.caption)
    _label_like_the_truth(data_root, range(2, MIN_KAPPA_ITEMS + 1))
    store = open_store(f"sqlite:///{data_root / 'annotations.sqlite3'}")
    with store.read() as s:
        rows = {r.attribute: r for r in agreement(s, SYSU, ["annotator:Ada", "synth-gt-sysu"])}
    store.dispose()
    assert rows["gender"].items == MIN_KAPPA_ITEMS and rows["gender"].kappa == 1.0


def test_balance_shows_every_attribute_with_its_value_names(data_root: Path) -> None:
    """The table showed 6 of 8 rows in a scroll box and said "value 0 / value 1"."""
    from annotator.views.stats import _table_height

    _app()
    at = _stats(data_root)
    assert at.selectbox(key="stats_split").value == "all identities"
    balance = next(d for d in at.dataframe if "unlabelled" in d.value.columns)
    assert len(balance.value) == len(ATTRIBUTE_KEYS)  # one split's rows, each one shown
    assert _table_height(len(ATTRIBUTE_KEYS)) >= (len(ATTRIBUTE_KEYS) + 1) * 35  # no scrolling
    assert "gender (male / female)" in list(balance.value["attribute"])


def test_balance_chart_legend_is_outside_the_bars_and_names_the_values() -> None:
    from annotator.views.stats import balance_figure

    part = pd.DataFrame(
        {"value 0": [15] * 8, "value 1": [5] * 8, "unknown": [0] * 8, "unlabelled": [0] * 8},
        index=list(ATTRIBUTE_KEYS),
    )
    fig = balance_figure(part)
    fig.canvas.draw()
    (ax,) = fig.axes
    legend = ax.get_legend().get_window_extent()
    assert not legend.overlaps(ax.get_window_extent())
    texts = {t.get_text() for t in ax.texts}
    assert {"male 15", "female 5", "trousers 15", "short 15"} <= texts
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks[0] == "gender (male / female)"


def test_progress_on_a_single_day_is_a_sentence_not_an_empty_chart(data_root: Path) -> None:
    _app()
    _label_like_the_truth(data_root, range(1, 4))
    at = _stats(data_root)
    assert not at.exception
    assert not at.get("arrow_line_chart") and not at.get("vega_lite_chart")
    assert any("All 3 changes so far were made on" in m.value and "Ada 3" in m.value
               for m in at.markdown)  # fmt: skip
