"""PAENet attribute studio: ``streamlit run annotator/app.py [-- --db URL --data-root PATH]``."""

from __future__ import annotations

import streamlit as st

from annotator import runtime
from annotator.auth import clean_annotator_name, password_ok, required_password
from annotator.defaults import ensure_registered
from annotator.store.db import SchemaError
from annotator.views import annotate, data, review, stats


def _password_gate() -> bool:
    expected = required_password(st.secrets)
    if expected is None or st.session_state.get("_authenticated"):
        return True
    st.title("PAENet attribute studio")
    given = st.text_input("Lab password", type="password", key="_password")
    if given:
        if password_ok(expected, given):
            st.session_state["_authenticated"] = True
            st.rerun()
        st.error("Wrong password.")
    return False


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
                st.session_state["annotator"] = clean_annotator_name(name)
            except ValueError as exc:
                st.error(str(exc))


def main() -> None:
    st.set_page_config(
        page_title="PAENet attribute studio", page_icon=":material/label:", layout="wide"
    )
    if not _password_gate():
        st.stop()
    cfg = runtime.config()
    try:
        store = runtime.store()
    except SchemaError as exc:
        st.error(f"Cannot open the database: {exc}")
        st.stop()
    if not st.session_state.get("_defaults_checked"):
        added = ensure_registered(store, cfg)
        if added:
            runtime.flash("info", f"Registered {', '.join(added)} from {cfg.data_root}.")
        st.session_state["_defaults_checked"] = True
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
    nav.run()


main()
