"""The naming rules of the store, checked where names are created.

- Dataset and import-source names are **slugs**: ASCII letters, digits, ``-``, ``_`` and
  ``.``, starting with a letter or digit, at most 64 characters. They appear in links,
  file names and page titles.
- Annotator names are 1–64 letters (any script), digits, spaces, ``.``, ``-``, ``'`` or
  ``_``; NFKC-normalised (full-width ``ＡＤＡ`` becomes ``ADA``) with runs of spaces
  collapsed. Two names that differ only in case or width are **one annotator**
  (:func:`annotator_key`): the store keeps the spelling first used.

Names stored before these rules existed are left as they are (no migration): they keep
working, are rendered as plain text by the app, and a dataset keeps its name on rescan.
Only new names are checked.
"""

from __future__ import annotations

import re
import unicodedata

SLUG_MAX = 64
_SLUG = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9._-]{{0,{SLUG_MAX - 1}}}$")
_ANNOTATOR = re.compile(r"^[\w][\w .'-]{0,63}$", re.UNICODE)


def validate_slug(name: str, what: str) -> str:
    """``name`` if it is a slug; a ValueError naming ``what`` (e.g. "dataset name") else."""
    if not isinstance(name, str) or not _SLUG.match(name):
        shown = repr(name[:40] + "…") if isinstance(name, str) and len(name) > 40 else repr(name)
        raise ValueError(
            f"{what} {shown} is not allowed: use 1–{SLUG_MAX} ASCII letters, digits, '-', '_' "
            "or '.', starting with a letter or digit (e.g. sysu, paenet-mat_v2)"
        )
    return name


def clean_annotator_name(name: str) -> str:
    """The annotator name as stored: NFKC-normalised, spaces collapsed; a ValueError says
    what is allowed."""
    name = " ".join(unicodedata.normalize("NFKC", name).split())
    if not _ANNOTATOR.match(name):
        raise ValueError(
            "annotator name must be 1–64 letters, digits, spaces, '.', '-', \"'\" or '_'"
        )
    return name


def annotator_key(name: str) -> str:
    """What makes two annotator names the same person: case and width folded."""
    return clean_annotator_name(name).casefold()
