"""The Annotate page's keyboard: apply what the browser queued, then re-arm it.

:func:`process` runs before the page draws the identity, so the page shows the keys'
effect; :func:`mount` draws the status line (pending and saved keys) and acknowledges.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from annotator import runtime
from annotator.components.keys import capture
from annotator.components.keys.queue import Cursor, apply_keys

_APPLIED = "_keys_applied"


def _applied() -> capture.Applied:
    return st.session_state.get(_APPLIED, capture.Applied())


def process(
    dataset: str, split: str | None, suggestions: str | None = None, least_confident: bool = False
) -> None:
    """Apply the keys the browser sent that are not applied yet; moves ``pid`` and
    ``seen_version`` in the session state as the keys did. ``suggestions``: the model
    source Enter accepts from; ``least_confident``: the order ``N`` follows."""
    queue = capture.read_queue()
    if queue is None:
        return
    applied = _applied()
    if queue.client != applied.client:
        applied = capture.Applied(client=queue.client)
    keys = capture.new_keys(queue, applied)
    if not keys:
        st.session_state[_APPLIED] = replace(applied, attempt=queue.attempt)
        return
    pid, version = st.session_state.get("pid"), st.session_state.get("seen_version")
    if pid is None or version is None or st.session_state.get("_view_dataset") != dataset:
        runtime.flash("info", f"{len(keys)} key(s) ignored: no identity was shown.")
        st.session_state[_APPLIED] = replace(applied, seq=keys[-1][0], attempt=queue.attempt)
        return
    outcome = apply_keys(
        runtime.store(), dataset, Cursor(pid, version), [name for _, name in keys],
        runtime.annotator_name(), split, suggestions, least_confident,
    )  # fmt: skip
    st.session_state["pid"] = outcome.cursor.pid
    st.session_state["seen_version"] = outcome.cursor.version
    for note in outcome.notes:
        runtime.flash("info", note)
    if outcome.error:
        runtime.flash("error", outcome.error)
    seq = keys[outcome.consumed - 1][0] if outcome.consumed else applied.seq
    st.session_state[_APPLIED] = capture.Applied(
        client=queue.client,
        seq=seq,
        attempt=queue.attempt,
        saved=applied.saved + len(outcome.saved),
        last=outcome.saved[-1] if outcome.saved else applied.last,
    )


def mount(enabled: bool) -> None:
    capture.mount(_applied(), enabled)
