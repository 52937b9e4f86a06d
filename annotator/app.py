"""PAENet attribute studio: ``streamlit run annotator/app.py [-- --db URL --data-root PATH]``."""

from __future__ import annotations

import logging

import streamlit as st

from annotator import runtime
from annotator.defaults import ensure_registered
from annotator.gate import password_gate, run_guarded
from annotator.store.errors import StoreError
from annotator.store.services.common import canonical_annotator
from annotator.text import plain
from annotator.views import annotate, data, review, stats

log = logging.getLogger("annotator.app")


def _annotator_box() -> None:
    with st.sidebar:
        current = st.session_state.get("annotator", "")
        name = st.text_input(
            "Your name (every change is signed)",
            value=current,
            key="_annotator_input",
            placeholder="e.g. Ada",
        )
        if name and name != current:
            try:
                with runtime.store().read() as s:  # ADA, Ada and ＡＤＡ are one person
                    st.session_state["annotator"] = canonical_annotator(s, name)
            except ValueError as exc:
                st.error(plain(exc))
        signed = st.session_state.get("annotator")
        if signed and name and signed != name:
            st.caption(plain(f"Signing as {signed}, the spelling already on record."))


def main() -> None:
    st.set_page_config(
        page_title="PAENet attribute studio", page_icon=":material/label:", layout="wide"
    )
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
