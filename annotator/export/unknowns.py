"""The summary of unknown values of the training identities that stops an export."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from paenet.attributes import ATTRIBUTE_KEYS, LabelValue
from paenet.data.manifest import ManifestImage

FIRST_IDS = 10
CLI_HINT = (
    "Label or decide them, or choose a policy: --unknown drop (leave those identities "
    "out of training), --unknown 0 or --unknown 1 (fill)."
)


@dataclass(frozen=True)
class UnknownSummary:
    """Unknown values of training identities: ``per_attribute[key][split] = (identities,
    images)``; ``identities``: every training id with at least one unknown value."""

    per_attribute: dict[str, dict[str, tuple[int, int]]]
    identities: tuple[int, ...]

    @property
    def total(self) -> int:
        return len(self.identities)

    def as_dict(self) -> dict[str, Any]:
        return {
            "identities": len(self.identities),
            "first_ids": list(self.identities[:FIRST_IDS]),
            "per_attribute": {
                key: {split: {"identities": n, "images": m} for split, (n, m) in per.items()}
                for key, per in self.per_attribute.items()
            },
        }

    def describe(self, how: str = CLI_HINT) -> str:
        """A few lines meant for a person; ``how`` is the last line, the way out in the
        caller's words (the CLI's flag by default, the app names its form control)."""
        lines = [
            f"{len(self.identities)} training identities have unknown or undecided attributes "
            f"(first ids: {', '.join(map(str, self.identities[:FIRST_IDS]))}):"
        ]
        for key, per in self.per_attribute.items():
            parts = [f"{split} {n} ids / {m} images" for split, (n, m) in per.items()]
            lines.append(f"  {key:<18} {'; '.join(parts)}")
        lines.append(how)
        return "\n".join(lines)


class UnknownLabelsError(ValueError):
    def __init__(self, summary: UnknownSummary) -> None:
        self.summary = summary
        super().__init__(summary.describe())


def summarize_unknowns(
    images: Sequence[ManifestImage], training: Collection[int]
) -> UnknownSummary:
    ids: dict[str, dict[str, set[int]]] = {}
    counts: dict[str, dict[str, int]] = {}
    bad: set[int] = set()
    for im in images:
        if im.sample.pid not in training or LabelValue.UNKNOWN not in im.attributes:
            continue
        split = im.split or "all"
        bad.add(im.sample.pid)
        for key, v in zip(ATTRIBUTE_KEYS, im.attributes):
            if v == LabelValue.UNKNOWN:
                ids.setdefault(key, {}).setdefault(split, set()).add(im.sample.pid)
                per = counts.setdefault(key, {})
                per[split] = per.get(split, 0) + 1
    per_attribute = {
        key: {split: (len(ids[key][split]), counts[key][split]) for split in sorted(ids[key])}
        for key in ATTRIBUTE_KEYS
        if key in ids
    }
    return UnknownSummary(per_attribute, tuple(sorted(bad)))
