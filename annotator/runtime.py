"""Streamlit glue: the cached store and thumbnail cache, the annotator, flash messages.

Only ids and small values live in ``st.session_state``; a database session is opened
per action and closed at once (``store.read()`` / ``store.write()``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import streamlit as st

from annotator.config import AppConfig, load_config
from annotator.store.db import Store, open_store
from annotator.text import plain
from annotator.thumbnails import ThumbnailCache


def app_argv() -> list[str]:
    """Flags after ``--`` of ``streamlit run annotator/app.py -- …`` (none under AppTest)."""
    return sys.argv[1:] if Path(sys.argv[0]).name == "app.py" else []


@st.cache_resource(show_spinner=False)
def _config(argv: tuple[str, ...], env: tuple[tuple[str, str], ...]) -> AppConfig:
    return load_config(list(argv), dict(env))


def config() -> AppConfig:
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("PAENET_")))
    return _config(tuple(app_argv()), env)


@st.cache_resource(show_spinner="Opening and migrating the database…")
def _store(url: str) -> Store:
    return open_store(url)


def store() -> Store:
    return _store(config().db_url)


@st.cache_resource(show_spinner=False)
def _thumbs(folder: str) -> ThumbnailCache:
    return ThumbnailCache(Path(folder))


def thumbnails() -> ThumbnailCache:
    return _thumbs(str(config().thumb_dir))


def annotator_name() -> str | None:
    return st.session_state.get("annotator")


def flash(kind: str, message: str) -> None:
    """Show ``message`` once on the next run (kind: success, info, warning, error)."""
    st.session_state.setdefault("_flash", []).append((kind, message))


def show_flashes() -> None:
    for kind, message in st.session_state.pop("_flash", []):
        getattr(st, kind)(plain(message))  # messages quote names: never markdown
