"""The optional lab password and annotator names (no Streamlit import: testable alone).

The password lives in Streamlit secrets (``.streamlit/secrets.toml``)::

    lab_password = "…"

and is compared in constant time. No password configured = open (single-user use).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from typing import Any

PASSWORD_KEY = "lab_password"
_NAME = re.compile(r"^[\w][\w .'-]{0,63}$", re.UNICODE)


def required_password(secrets: Mapping[str, Any]) -> str | None:
    """The configured lab password, or None when the app is open."""
    try:
        value = secrets.get(PASSWORD_KEY)
    except Exception:  # st.secrets raises when no secrets file exists at all
        return None
    return str(value) if value else None


def password_ok(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def clean_annotator_name(name: str) -> str:
    """A trimmed annotator name; a ValueError says what is allowed."""
    name = " ".join(name.split())
    if not _NAME.match(name):
        raise ValueError(
            "annotator name must be 1–64 letters, digits, spaces, '.', '-', \"'\" or '_'"
        )
    return name
