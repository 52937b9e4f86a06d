"""The app's front door (Streamlit side of :mod:`annotator.auth`): the lab password,
failing closed, a growing delay after wrong passwords, and the refusal to serve the
network without a password; plus the guard that turns a page's crash into a message.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

import streamlit as st

from annotator.auth import (
    PasswordConfigError,
    exposure_problem,
    login_delay,
    password_ok,
    required_password,
    serving_line,
)
from annotator.store.errors import StoreError
from annotator.text import plain

log = logging.getLogger(__name__)
TITLE = "PAENet attribute studio"
ANNOUNCED_ENV = "PAENET_SERVING_ANNOUNCED"
"""Set by :mod:`annotator.serve` after it logged how the app is served."""
sleep: Callable[[float], None] = time.sleep
"""Replaced by tests that count the delay instead of waiting it."""


@st.cache_resource(show_spinner=False)
def _announce(address: str | None, port: int, protected: bool) -> None:
    """Logged once per server process, on the first page load, unless ``python -m
    annotator.serve`` said it already when the server started."""
    if os.environ.get(ANNOUNCED_ENV) == "1":
        return
    level, line = serving_line(address, port, protected)
    log.log(level, "%s", line)


def _stop(message: str) -> None:
    st.title(TITLE)
    st.error(message)  # fixed wording: no user-supplied text
    st.stop()


def password_gate() -> None:
    """Return when this session may use the app; otherwise render the gate and stop."""
    try:
        expected = required_password(st.secrets, os.environ, st.get_option("secrets.files"))
    except PasswordConfigError as exc:
        log.error("lab password misconfigured, the app stays closed: %s", exc)
        _stop(
            f"The lab password is configured but cannot be used: {exc.public}. The app "
            "stays closed until this is fixed (the server log names the file)."
        )
        return
    address = st.get_option("server.address")
    _announce(address, int(st.get_option("server.port")), expected is not None)
    problem = exposure_problem(address, expected is not None, os.environ)
    if problem:
        log.error("refusing to serve: %s", problem)
        _stop(problem)
    if expected is None or st.session_state.get("_authenticated"):
        return
    st.title(TITLE)
    given = st.text_input("Lab password", type="password", key="_password")
    if given:
        failures = int(st.session_state.get("_failed_logins", 0))
        delay = login_delay(failures)
        st.session_state["_login_delay"] = delay
        if delay:
            sleep(delay)
        if password_ok(expected, given):
            st.session_state["_authenticated"] = True
            st.session_state.pop("_failed_logins", None)
            st.rerun()
        st.session_state["_failed_logins"] = failures + 1
        log.warning("wrong lab password (%d in this session)", failures + 1)
        st.error("Wrong password.")
    st.stop()


def run_guarded(page: Callable[[], None]) -> None:
    """Run a page; a store error (database locked, unreachable …) shows its message, any
    other error a short message (no traceback, no server paths) with the details logged."""
    try:
        page()
    except StoreError as exc:  # written for a person (e.g. the database is locked)
        log.warning("page stopped: %s", exc)
        st.error(plain(exc))
    except Exception as exc:  # st.stop / st.rerun are BaseExceptions and pass through
        log.exception("page failed")
        st.error(
            f"Something went wrong on this page ({type(exc).__name__}). The details are in "
            "the server log; reload the page or try another identity."
        )
