"""Mount the browser side of the keyboard (``keys.js``) and read the keys it queued.

Protocol (one component instance per page, key :data:`KEY`):

- browser → server, state value ``queue``: ``{"client": str, "attempt": int,
  "keys": [[seq, name], ...]}``, every key press of that browser tab not acknowledged
  yet, oldest first (``seq`` counts up from 1 per tab);
- server → browser, mount data: :class:`Ack` — the highest ``seq`` applied for that
  client and the ``attempt`` last seen, plus what to show (saved count, last change).

The server remembers the highest ``seq`` it applied per client (:class:`Applied`), so a
resent queue applies nothing twice and a key is never dropped.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import streamlit as st

log = logging.getLogger(__name__)

KEY = "annotate_keys"
_JS = (Path(__file__).parent / "keys.js").read_text(encoding="utf-8")
_CSS = """
.paenet-keys { font-size: 0.85rem; color: var(--st-text-color); opacity: 0.75; }
"""
_component = st.components.v2.component("paenet_keys", js=_JS, css=_CSS)


@dataclass(frozen=True)
class KeyQueue:
    """What one browser tab sent: its id, the send attempt and the unacknowledged keys."""

    client: str
    attempt: int
    keys: tuple[tuple[int, str], ...]  # (seq, key name), oldest first


@dataclass(frozen=True)
class Applied:
    """The server's memory of one tab: highest seq applied, attempt seen, saves made."""

    client: str | None = None
    seq: int = 0
    attempt: int = 0
    saved: int = 0
    last: str = ""


@dataclass(frozen=True)
class Ack:
    """The mount data. ``session``/``run`` order the renders: the browser ignores data
    older than what it has seen (Streamlit may deliver a superseded render late)."""

    session: str
    run: int
    client: str | None
    applied: int
    attempt: int
    saved: int
    last: str
    enabled: bool


def parse_queue(raw: Any) -> KeyQueue | None:
    """The component's ``queue`` state, validated; ``None`` when absent or malformed."""
    if not isinstance(raw, Mapping):
        return None
    client, attempt, keys = raw.get("client"), raw.get("attempt"), raw.get("keys")
    if not isinstance(client, str) or not isinstance(attempt, int) or not isinstance(keys, list):
        log.warning("ignoring a malformed key queue from the browser: %r", raw)
        return None
    parsed: list[tuple[int, str]] = []
    for item in keys:
        if (
            isinstance(item, list)
            and len(item) == 2
            and isinstance(item[0], int)
            and isinstance(item[1], str)
        ):
            parsed.append((item[0], item[1]))
        else:
            log.warning("ignoring a malformed key from the browser: %r", item)
    return KeyQueue(client, attempt, tuple(sorted(parsed)))


def new_keys(queue: KeyQueue, applied: Applied) -> list[tuple[int, str]]:
    """The keys of ``queue`` not applied yet (a new client starts from nothing)."""
    if queue.client != applied.client:
        return list(queue.keys)
    return [(seq, name) for seq, name in queue.keys if seq > applied.seq]


def read_queue() -> KeyQueue | None:
    """The queue the browser sent last (from the previous run's component state)."""
    state = st.session_state.get(KEY)
    return parse_queue(state.get("queue")) if isinstance(state, Mapping) else None


def mount(applied: Applied, enabled: bool) -> None:
    """Draw the keyboard status line and (re)arm the browser's key queue."""
    session = st.session_state.setdefault("_keys_session", uuid.uuid4().hex)
    run = st.session_state["_keys_run"] = st.session_state.get("_keys_run", 0) + 1
    ack = Ack(session, run, applied.client, applied.seq, applied.attempt, applied.saved,
              applied.last, enabled)  # fmt: skip
    _component(key=KEY, data=asdict(ack), default={"queue": None}, on_queue_change=_noop)


def _noop() -> None:
    """The page reads the queue itself (before drawing); the callback only declares the
    ``queue`` state to Streamlit."""
