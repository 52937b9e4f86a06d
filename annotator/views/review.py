"""Review: identities where annotators, sources or cameras disagree; record the decision."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from annotator import runtime
from annotator.store.errors import StaleVersionError
from annotator.store.services.label_reads import get_identity
from annotator.store.services.label_writes import decide, mark_reviewed
from annotator.store.services.queue import Conflict, conflicts
from annotator.text import plain
from annotator.views.common import (
    camera_label,
    choose_dataset,
    datasets,
    image_strip,
    show_place,
)
from paenet.attributes import ATTRIBUTE_KEYS, LabelValue, attribute

ALL = "all attributes"


def _decide(dataset: str, pid: int, key: str, value: int, version: int) -> None:
    who = runtime.annotator_name()
    if not who:
        runtime.flash("warning", "Enter your name in the sidebar first: decisions are signed.")
        return
    try:
        with runtime.store().write() as s:
            decide(s, dataset, pid, key, value, who, version)
        runtime.flash("success", f"id {pid}: {key} decided as {attribute(key).value_name(value)}.")
    except StaleVersionError as exc:
        runtime.flash("error", str(exc))


def _reviewed(dataset: str, pid: int) -> None:
    if not runtime.annotator_name():
        runtime.flash("warning", "Enter your name in the sidebar first: reviews are signed.")
        return
    with runtime.store().write() as s:
        mark_reviewed(s, dataset, pid)
    runtime.flash("success", f"id {pid} marked reviewed.")


def _picked(key: str) -> None:
    """The identity picked here becomes the one every page shows (Annotate opens it)."""
    st.session_state["pid"] = st.session_state[key]


def _values(found: Conflict) -> str:
    """``annotator:Ada=short; synth-gt cam2=long``: each source's value by its name."""
    a = attribute(found.attribute)
    return "; ".join(
        f"{s}{'' if cam == 0 else f' cam{cam}'}={a.value_name(v)}" for s, cam, v in found.values
    )


def render() -> None:
    runtime.show_flashes()
    st.title("Review")
    known = datasets()
    if not known:
        st.info("No dataset registered yet (see Data).")
        return
    dataset = choose_dataset(known)
    attr_filter = st.selectbox("Attribute", [ALL, *ATTRIBUTE_KEYS], key="review_attribute")
    with runtime.store().read() as s:
        found = conflicts(s, dataset, None if attr_filter == ALL else attr_filter)
    if not found:
        st.success("No open disagreement in this selection.")
        return
    pids = sorted({c.pid for c in found})
    st.write(f"{len(found)} disagreements on {len(pids)} identities.")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "pid": c.pid,
                    "split": c.split,
                    "attribute": c.attribute,
                    "values": _values(c),
                }
                for c in found
            ]
        ),
        hide_index=True,
        height=(min(len(found), 8) + 1) * 35 + 3,  # every row up to 8, then it scrolls
    )
    if st.session_state.get("pid") in pids:  # the identity chosen on another page
        st.session_state["review_pid"] = st.session_state["pid"]
    elif st.session_state.get("review_pid") not in pids:
        st.session_state["review_pid"] = pids[0]
    pid = st.selectbox(
        "Identity to review", pids, key="review_pid", on_change=_picked, args=("review_pid",)
    )
    show_place(dataset, pid)
    with runtime.store().read() as s:
        view = get_identity(s, dataset, pid)
    image_strip(view, known[dataset].kind, per_camera=6, width=56)
    for c in (c for c in found if c.pid == pid):
        a = attribute(c.attribute)
        st.subheader(a.title)
        st.table(
            pd.DataFrame(
                [
                    {
                        "source": plain(s),
                        "camera": "identity"
                        if cam == 0
                        else camera_label(known[dataset].kind, cam),
                        "value": a.value_name(v),
                    }
                    for s, cam, v in c.values
                ]
            )
        )
        cols = st.columns(3)
        for col, value in zip(cols, (0, 1, int(LabelValue.UNKNOWN))):
            col.button(
                f"Decide: {a.value_name(value)}",
                key=f"decide-{pid}-{c.attribute}-{value}",
                on_click=_decide,
                args=(dataset, pid, c.attribute, value, view.version),
            )
    st.button(  # refused without a name, as Decide is (a warning says why)
        "Mark identity reviewed", on_click=_reviewed, args=(dataset, pid)
    )
