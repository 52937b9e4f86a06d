"""``python -m annotator.serve [STREAMLIT FLAGS] [-- APP FLAGS]``: start the studio and say
at once how it is served.

``streamlit run annotator/app.py`` runs the app's code only when the first browser
connects, so the line "no lab password: serving 127.0.0.1 port 8501 only" (or that the
password is required) came only then. This reads the same configuration Streamlit will
(``annotator/.streamlit/config.toml``, the ``--server.*`` flags, the password sources),
logs that line, refuses at once what the app would refuse (no password on the network),
and then becomes ``streamlit run annotator/app.py`` with the same arguments.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from annotator.auth import PasswordConfigError, exposure_problem, required_password, serving_line

log = logging.getLogger("annotator.serve")
APP = Path(__file__).resolve().parent / "app.py"


def streamlit_flags(argv: Sequence[str]) -> dict[str, str]:
    """``--server.address 0.0.0.0`` / ``--server.port=8600`` before ``--`` as Streamlit's
    flag options (``{"server_address": "0.0.0.0", "server_port": "8600"}``)."""
    flags: dict[str, str] = {}
    items = list(argv[: argv.index("--")] if "--" in argv else argv)
    i = 0
    while i < len(items):
        item = items[i]
        if item.startswith("--") and "." in item:
            name, eq, value = item[2:].partition("=")
            if not eq and i + 1 < len(items):
                i += 1
                value = items[i]
            flags[name.replace(".", "_")] = value
        i += 1
    return flags


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from streamlit import config
    from streamlit.runtime.secrets import secrets_singleton
    from streamlit.web import bootstrap

    config._main_script_path = str(APP)  # finds annotator/.streamlit/config.toml
    bootstrap.load_config_options(flag_options=streamlit_flags(args))
    address = config.get_option("server.address")
    try:
        password = required_password(
            secrets_singleton, os.environ, config.get_option("secrets.files")
        )
    except PasswordConfigError as exc:
        sys.stderr.write(f"annotator.serve: error: {exc}\n")
        return 2
    problem = exposure_problem(address, password is not None, os.environ)
    if problem:
        sys.stderr.write(f"annotator.serve: error: {problem}\n")
        return 2
    level, line = serving_line(address, int(config.get_option("server.port")), bool(password))
    log.log(level, "%s", line)
    sys.stdout.flush()
    sys.stderr.flush()
    os.environ["PAENET_SERVING_ANNOUNCED"] = "1"
    command = [sys.executable, "-m", "streamlit", "run", str(APP), *args]
    os.execv(sys.executable, command)
    return 0  # not reached: execv replaces this process


if __name__ == "__main__":
    raise SystemExit(main())
