"""Mount the name's browser side (``name.js``) and read the name it remembered.

Protocol (one instance, in the sidebar of every page, key :data:`KEY`):

- server → browser, mount data ``{"name": str, "forget": bool}``: the signed name to
  keep in this browser's storage, or ``forget`` when the labeller cleared the box;
- browser → server, state value ``stored``: the name this browser kept, sent once when
  the server has none (after a reload, a new server session).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import streamlit as st

KEY = "annotator_memory"
_JS = (Path(__file__).parent / "name.js").read_text(encoding="utf-8")
_component = st.components.v2.component("paenet_name", js=_JS)


def stored_name() -> str | None:
    """The name the browser sent from its storage (the previous run's state), if any."""
    state = st.session_state.get(KEY)
    value = state.get("stored") if isinstance(state, Mapping) else None
    return value if isinstance(value, str) and value.strip() else None


def mount(name: str | None, forget: bool) -> None:
    _component(
        key=KEY,
        data={"name": name or "", "forget": forget},
        default={"stored": None},
        on_stored_change=_noop,
    )


def _noop() -> None:
    """The app reads ``stored`` itself at the start of a run; the callback only declares
    the state to Streamlit."""
