"""The Annotate page's keyboard: key names (as the browser component sends them) to actions.

The page shows a value for every attribute: the labeller's own, else the model's
suggestion (a model source chosen in the sidebar), else the dataset's usual value. The
keys confirm or flip what is shown, so the usual case costs no key per attribute:

``1``–``8`` flip attribute i away from the value shown (an unset attribute takes the
other value, a set one its other value); ``Shift+1``–``8`` unknown; ``Enter`` saves the
shown value of every attribute not set yet; ``Left``/``Right`` previous/next identity,
``N`` next needing work (or least confident first, as the sidebar's queue says), ``U``
undo. No ``Alt`` (some Linux browsers switch tabs with ``Alt+digit``). The browser sends
exactly these names (see ``keys.js``), whatever the keyboard layout (digits are read
from the physical key, so ``Shift+1`` is not ``!``). ``benchmarks/bench_labelling.py``
measures the keys per identity against the earlier scheme (digit = value 1, ``Shift`` =
value 0, ``Alt`` = unknown).
"""

from __future__ import annotations

from enum import StrEnum

from annotator.store.services.label_writes import AcceptSuggestions, Flip, KeyStep, SetValue, Undo
from paenet.attributes import ATTRIBUTES, LabelValue


class Nav(StrEnum):
    """A navigation key: where the cursor goes next."""

    PREVIOUS = "previous"
    NEXT = "next"
    NEEDING_WORK = "needing work"


Action = KeyStep | Nav

ACTIONS: dict[str, Action] = {
    **{f"{a.index + 1}": Flip(a.key) for a in ATTRIBUTES},
    **{f"Shift+{a.index + 1}": SetValue(a.key, int(LabelValue.UNKNOWN)) for a in ATTRIBUTES},
    "Left": Nav.PREVIOUS,
    "Right": Nav.NEXT,
    "N": Nav.NEEDING_WORK,
    "U": Undo(),
    "Enter": AcceptSuggestions(),
}
"""Flip and Enter name no model source: the page fills in the one chosen in the sidebar."""


def action(key: str) -> Action:
    """The action of key name ``key``; a clear error for a name that is no shortcut."""
    try:
        return ACTIONS[key]
    except KeyError:
        known = ", ".join(ACTIONS)
        raise ValueError(f"{key!r} is not an Annotate shortcut (known: {known})") from None


def flip_key(attribute_index: int) -> str:
    """The key that flips attribute ``attribute_index`` (0-based)."""
    return f"{attribute_index + 1}"


def unknown_key(attribute_index: int) -> str:
    """The key that sets attribute ``attribute_index`` (0-based) to unknown."""
    return f"Shift+{attribute_index + 1}"


def keys_for(truth: int, shown: int, attribute_index: int) -> list[str]:
    """The keys that make an unset attribute ``truth`` when the page shows ``shown`` (to be
    followed by one Enter for the whole identity): none when they agree."""
    if truth == int(LabelValue.UNKNOWN):
        return [unknown_key(attribute_index)]
    return [] if truth == shown else [flip_key(attribute_index)]


HELP = (
    "**Keys** (queued in the browser and saved in order, none is lost): "
    "`Enter` save the values shown (the model's suggestion, else the usual value) · "
    "`1`–`8` flip attribute i · `Shift+1`–`8` unknown · "
    "`←`/`→` previous/next · `N` next needing work · `U` undo · "
    "not while typing in a text box"
)
