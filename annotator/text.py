"""User-supplied strings (dataset, source and annotator names, messages quoting them)
shown as text: Streamlit renders titles, captions, alerts and table cells as markdown,
so a name like ``x![t](http://host/p.png)`` would make every reviewer's browser fetch
an outside image. :func:`plain` escapes what markdown (and Streamlit's ``:color[…]``,
``:emoji:`` and ``$math$`` extensions) would interpret; HTML is never enabled.
"""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_\[\]()!<>:$~|#{}])")
_BULLET = re.compile(r"^(\s*)([-+])", re.MULTILINE)
_NUMBERED = re.compile(r"^(\s*\d+)\.", re.MULTILINE)


def plain(text: object) -> str:
    """``text`` as a markdown string that renders as exactly these characters."""
    escaped = _SPECIAL.sub(r"\\\1", str(text))
    escaped = _BULLET.sub(r"\1\\\2", escaped)
    return _NUMBERED.sub(r"\1\\.", escaped)
