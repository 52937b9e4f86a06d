"""Logging set-up for entry points (library modules only call ``logging.getLogger``)."""

from __future__ import annotations

import logging


def setup_logging(verbose: int = 0) -> None:
    """WARNING by default, INFO with ``verbose=1``, DEBUG above."""
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose == 1 else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", force=True)
