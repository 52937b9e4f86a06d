"""The one attribute schema of the whole tool (``docs/attributes.md``).

Index ``i`` means the same attribute everywhere: the row of the published PAENet
``.mat`` files, the column of a manifest, the channel of an attribute tensor.
Everything else (UI labels, column names, tensor order) is derived from
:data:`ATTRIBUTES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import TypeVar

_Values = TypeVar("_Values")


class LabelValue(IntEnum):
    """A stored label: 0, 1 or explicitly unknown (never silently 0)."""

    NEGATIVE = 0
    POSITIVE = 1
    UNKNOWN = -1


def is_known(values: _Values) -> _Values:
    """Elementwise, which entries of a numpy array or torch tensor of attribute values
    are known: a label 0 or 1, or a probability between them (what PAE may be fed).
    :attr:`LabelValue.UNKNOWN` is the only negative code, so this is ``values >= 0``
    (a NaN is not known)."""
    return values >= int(LabelValue.NEGATIVE)  # type: ignore[operator,return-value]


@dataclass(frozen=True, slots=True)
class Attribute:
    index: int
    key: str
    title: str
    value0: str
    value1: str

    def value_name(self, value: int | LabelValue | None) -> str:
        """Human name of a value; ``None`` and ``UNKNOWN`` read "unknown"."""
        if value is None or int(value) == LabelValue.UNKNOWN:
            return "unknown"
        if int(value) == 0:
            return self.value0
        if int(value) == 1:
            return self.value1
        raise ValueError(f"attribute {self.key!r}: value must be 0, 1 or unknown, got {value!r}")


ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute(0, "gender", "Gender", "male", "female"),
    Attribute(1, "hair_length", "Hair length", "short", "long"),
    Attribute(2, "glasses", "Glasses", "no", "yes"),
    Attribute(3, "sleeve_length", "Sleeve length", "long", "short"),
    Attribute(4, "lower_body_type", "Lower-body type", "trousers", "dress or skirt"),
    Attribute(5, "lower_body_length", "Lower-body length", "short", "long"),
    Attribute(6, "backpack", "Backpack", "no", "yes"),
    Attribute(7, "satchel", "Satchel", "no", "yes"),
)

NUM_ATTRIBUTES: int = len(ATTRIBUTES)
ATTRIBUTE_KEYS: tuple[str, ...] = tuple(a.key for a in ATTRIBUTES)
_BY_KEY = {a.key: a for a in ATTRIBUTES}


def attribute(key: str) -> Attribute:
    """The attribute named ``key``; a clear error lists the valid keys."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(
            f"unknown attribute {key!r}; expected one of {', '.join(ATTRIBUTE_KEYS)}"
        ) from None


def parse_value(text: str | int | None) -> LabelValue:
    """Parse a stored/serialised label: ``0``, ``1``, or ``''``/``-1``/``unknown``."""
    if text is None:
        return LabelValue.UNKNOWN
    s = str(text).strip().lower()
    if s in ("0", "1"):
        return LabelValue(int(s))
    if s in ("", "-1", "unknown", "nan", "none"):
        return LabelValue.UNKNOWN
    raise ValueError(f"label value must be 0, 1 or unknown (empty/-1), got {text!r}")
