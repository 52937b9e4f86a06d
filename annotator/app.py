"""PAENet attribute studio: ``streamlit run annotator/app.py [-- --db URL --data-root PATH]``."""

from __future__ import annotations

import logging

import streamlit as st

from annotator import runtime
from annotator.components.name import memory as name_memory
from annotator.defaults import ensure_registered
from annotator.gate import password_gate, run_guarded
from annotator.icon import tab_icon
from annotator.store.errors import StoreError
from annotator.store.services.annotators import canonical_annotator
from annotator.text import plain
from annotator.views import annotate, data, review, stats

log = logging.getLogger("annotator.app")
NAME_BOX = "_annotator_input"


def _sign(name: str) -> None:
    """Sign as ``name`` (ADA, Ada and ＡＤＡ are one person: the spelling on record wins)."""
    try:
        with runtime.store().read() as s:
            st.session_state["annotator"] = canonical_annotator(s, name)
    except ValueError as exc:
        st.error(plain(exc))


def _annotator_box() -> None:
    """The name box. The name is kept in this browser's storage (``name.js``), not in the
    URL: links are shared, and whoever opens one would sign as the sender. Enter or Tab
    leaves the box, so the next key labels instead of extending the name."""
    current = st.session_state.get("annotator")
    remembered = name_memory.stored_name()
    if remembered and remembered != st.session_state.get("_name_offered"):
        st.session_state["_name_offered"] = remembered  # each offer is taken once
        if not current:  # a reload: a new session, the same browser
            _sign(remembered)
            current = st.session_state.get("annotator")
            if current:
                st.session_state[NAME_BOX] = remembered
    if NAME_BOX not in st.session_state:
        st.session_state[NAME_BOX] = current or ""
    forget = False
    with st.sidebar:
        name = st.text_input(
            "Your name (every change is signed)", key=NAME_BOX, placeholder="e.g. Ada"
        ).strip()
        if name and name != current:
            _sign(name)
        elif not name and current:  # the box was cleared: sign out, here and in storage
            st.session_state.pop("annotator", None)
            forget = True
        signed = st.session_state.get("annotator")
        if signed and name and signed != name:
            st.caption(plain(f"Signing as {signed}, the spelling already on record."))
        name_memory.mount(signed, forget)


def main() -> None:
    st.set_page_config(page_title="PAENet attribute studio", page_icon=tab_icon(), layout="wide")
    password_gate()
    cfg = runtime.config()
    try:
        store = runtime.store()
        if not st.session_state.get("_defaults_checked"):
            added = ensure_registered(store, cfg)
            if added:
                runtime.flash("info", f"Registered {', '.join(added)} from {cfg.data_root}.")
            st.session_state["_defaults_checked"] = True
    except StoreError as exc:  # database faults: one message naming the database
        log.error("cannot open the database: %s", exc)
        st.error(plain(f"Cannot open the database: {exc}"))
        st.stop()
    _annotator_box()
    nav = st.navigation(
        [
            st.Page(
                annotate.render,
                title="Annotate",
                icon=":material/label:",
                url_path="annotate",
                default=True,
            ),
            st.Page(review.render, title="Review", icon=":material/balance:", url_path="review"),
            st.Page(
                stats.render,
                title="Agreement & statistics",
                icon=":material/bar_chart:",
                url_path="stats",
            ),
            st.Page(data.render, title="Data", icon=":material/folder_open:", url_path="data"),
        ]
    )
    run_guarded(nav.run)


main()
