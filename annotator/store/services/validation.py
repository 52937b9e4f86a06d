"""Checks of an attribute key and a label value before anything is written."""

from __future__ import annotations

from paenet.attributes import ATTRIBUTE_KEYS, LabelValue


def validate_attribute(attribute: str) -> str:
    if attribute not in ATTRIBUTE_KEYS:
        raise ValueError(f"unknown attribute {attribute!r}; expected one of {ATTRIBUTE_KEYS}")
    return attribute


def validate_value(value: int) -> int:
    if value not in (LabelValue.NEGATIVE, LabelValue.POSITIVE, LabelValue.UNKNOWN):
        raise ValueError(f"label value must be 0, 1 or -1 (unknown), got {value!r}")
    return int(value)
