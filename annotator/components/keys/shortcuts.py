"""The Annotate page's keyboard: key names (as the browser component sends them) to actions.

``1``–``8`` set attribute i to its value 1, ``Shift+1``–``8`` to value 0, ``Alt+1``–``8``
to unknown; ``Enter`` accepts the model's suggestions for every attribute not labelled
yet; ``Left``/``Right`` previous/next identity, ``N`` next needing work (or least
confident first, as the sidebar's queue says), ``U`` undo. The browser sends exactly these names (see ``keys.js``), whatever the keyboard
layout (digits are read from the physical key, so ``Shift+1`` is not ``!``).
"""

from __future__ import annotations

from enum import StrEnum

from annotator.store.services.labels import AcceptSuggestions, KeyStep, SetValue, Undo
from paenet.attributes import ATTRIBUTES, LabelValue


class Nav(StrEnum):
    """A navigation key: where the cursor goes next."""

    PREVIOUS = "previous"
    NEXT = "next"
    NEEDING_WORK = "needing work"


Action = KeyStep | Nav

_MODIFIER_VALUE = {"": int(LabelValue.POSITIVE), "Shift+": int(LabelValue.NEGATIVE),
                   "Alt+": int(LabelValue.UNKNOWN)}  # fmt: skip
ACTIONS: dict[str, Action] = {
    **{
        f"{modifier}{a.index + 1}": SetValue(a.key, value)
        for a in ATTRIBUTES
        for modifier, value in _MODIFIER_VALUE.items()
    },
    "Left": Nav.PREVIOUS,
    "Right": Nav.NEXT,
    "N": Nav.NEEDING_WORK,
    "U": Undo(),
    "Enter": AcceptSuggestions(""),  # the page's chosen model source fills the name in
}


def action(key: str) -> Action:
    """The action of key name ``key``; a clear error for a name that is no shortcut."""
    try:
        return ACTIONS[key]
    except KeyError:
        known = ", ".join(ACTIONS)
        raise ValueError(f"{key!r} is not an Annotate shortcut (known: {known})") from None


def value_key(attribute_index: int, value: int) -> str:
    """The key that sets attribute ``attribute_index`` (0-based) to ``value``."""
    modifier = next(m for m, v in _MODIFIER_VALUE.items() if v == value)
    return f"{modifier}{attribute_index + 1}"


HELP = (
    "**Keys** (queued in the browser and saved in order, none is lost): "
    "`1`–`8` value 1 · `Shift+1`–`8` value 0 · `Alt+1`–`8` unknown · "
    "`Enter` accept the model's suggestions · "
    "`←`/`→` previous/next · `N` next needing work · `U` undo · "
    "not while typing in a text box"
)
