"""The optional lab password and annotator names (no Streamlit import: testable alone).

The password comes from the first of (see :func:`required_password`):

1. the environment variable ``PAENET_LAB_PASSWORD``;
2. the file named by ``PAENET_LAB_PASSWORD_FILE`` (its content, stripped);
3. Streamlit secrets, ``lab_password = "…"`` in a ``secrets.toml`` (``~/.streamlit/``,
   ``<working folder>/.streamlit/`` or ``annotator/.streamlit/`` beside the app).

It fails closed: a source that is configured but unreadable or malformed (a secrets file
that does not parse, a password file that is missing or empty, an empty
``lab_password``) raises :class:`PasswordConfigError`, and the app shows a stop page
instead of opening. The password is compared in constant time.

No password = open, for single-user use on one machine: the app is then refused unless
it listens on a loopback address (``annotator/.streamlit/config.toml`` sets
``127.0.0.1``), or ``PAENET_OPEN_WITHOUT_PASSWORD=1`` says that open on the network is
meant (:func:`exposure_problem`).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from annotator.store.services.names import clean_annotator_name

__all__ = [
    "PasswordConfigError",
    "clean_annotator_name",
    "exposure_problem",
    "login_delay",
    "password_ok",
    "required_password",
    "serving_line",
]

PASSWORD_KEY = "lab_password"
PASSWORD_ENV = "PAENET_LAB_PASSWORD"
PASSWORD_FILE_ENV = "PAENET_LAB_PASSWORD_FILE"
OPEN_NETWORK_ENV = "PAENET_OPEN_WITHOUT_PASSWORD"
MAX_DELAY_S = 30.0


class PasswordConfigError(Exception):
    """A password source is configured but unusable. ``str()`` names the file (for the
    server log); ``public`` says what is wrong without any path (for the page)."""

    def __init__(self, detail: str, public: str) -> None:
        super().__init__(detail)
        self.public = public


def _password_file(path_text: str) -> str:
    path = Path(path_text).expanduser()
    try:
        value = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise PasswordConfigError(
            f"{PASSWORD_FILE_ENV}={path}: cannot read the password file ({exc})",
            f"the password file given by {PASSWORD_FILE_ENV} cannot be read",
        ) from None
    if not value:
        raise PasswordConfigError(
            f"{PASSWORD_FILE_ENV}={path}: the password file is empty",
            f"the password file given by {PASSWORD_FILE_ENV} is empty",
        )
    return value


def check_secrets_files(files: Sequence[str]) -> None:
    """Raise when a ``secrets.toml`` that exists cannot be read or parsed (Streamlit
    itself would treat it as absent, which would open the app)."""
    for name in files:
        path = Path(name)
        if not path.exists() or path.is_dir():
            continue
        try:
            tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise PasswordConfigError(
                f"{path}: the secrets file cannot be read as TOML ({exc})",
                "a secrets.toml file cannot be read as TOML",
            ) from None


def required_password(
    secrets: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
    secrets_files: Sequence[str] = (),
) -> str | None:
    """The configured lab password, or None when none is configured (the app is open).

    ``secrets`` is ``st.secrets`` (or a dict); ``secrets_files`` the paths Streamlit
    reads it from (``st.get_option("secrets.files")``). Raises
    :class:`PasswordConfigError` when a configured source is unusable.
    """
    env = environ if environ is not None else {}
    check_secrets_files(secrets_files)
    from_file = _password_file(env[PASSWORD_FILE_ENV]) if env.get(PASSWORD_FILE_ENV) else None
    try:
        value = secrets.get(PASSWORD_KEY)
    except Exception:  # st.secrets raises when no secrets file exists at all
        value = None
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise PasswordConfigError(
            f"secrets: {PASSWORD_KEY} is set but empty or not a string",
            f"{PASSWORD_KEY} in secrets.toml is empty or not a string",
        )
    return env.get(PASSWORD_ENV) or from_file or value or None


def login_delay(failures: int) -> float:
    """Seconds to wait before checking a password when this session already gave
    ``failures`` wrong ones: none after 0 or 1 (a typo), then 0.5, 1, 2, 4 … at most 30."""
    if failures < 2:
        return 0.0
    return min(MAX_DELAY_S, 0.5 * 2.0 ** (failures - 2))


def is_loopback(address: str | None) -> bool:
    """True for an address only this machine reaches; None or "" means every interface."""
    if not address:
        return False
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def exposure_problem(
    address: str | None, has_password: bool, environ: Mapping[str, str]
) -> str | None:
    """Why serving must stop: no password while listening beyond this machine, unless
    ``PAENET_OPEN_WITHOUT_PASSWORD=1`` says so explicitly. None when serving is fine."""
    if has_password or is_loopback(address) or environ.get(OPEN_NETWORK_ENV) == "1":
        return None
    where = f"address {address}" if address else "every network interface"
    return (
        f"No lab password is set and the server listens on {where}. Set a password "
        f"({PASSWORD_ENV}, {PASSWORD_FILE_ENV} or {PASSWORD_KEY} in secrets.toml), or start "
        "it on 127.0.0.1 (the default of annotator/.streamlit/config.toml), or set "
        f"{OPEN_NETWORK_ENV}=1 to serve the network without a password on purpose."
    )


def serving_line(address: str | None, port: int, protected: bool) -> tuple[int, str]:
    """The log level and line that say how the app is served (logged once at start)."""
    where = address or "every network interface"
    if protected:
        return logging.INFO, f"serving on {where} port {port}; the lab password is required"
    return (
        logging.WARNING,
        f"no lab password: serving {where} port {port} only, open to anyone there",
    )


def password_ok(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))
