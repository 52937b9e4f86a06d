"""Deep links: ``?dataset=sysu&pid=17`` opens that identity; bad values are refused clearly."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class DeepLink:
    dataset: str | None = None
    pid: int | None = None


class BadLinkError(ValueError):
    """A URL parameter that names no dataset or identity."""


def parse_link(params: Mapping[str, str], datasets: Iterable[str]) -> DeepLink:
    """Validate ``dataset`` and ``pid`` query parameters against the registered datasets."""
    names = sorted(datasets)
    dataset = params.get("dataset")
    pid_text = params.get("pid")
    if dataset is not None and dataset not in names:
        raise BadLinkError(
            f"unknown dataset {dataset!r} in the link; registered: {', '.join(names) or 'none'}"
        )
    pid: int | None = None
    if pid_text is not None:
        if not pid_text.isdigit() or len(pid_text) > 6:
            raise BadLinkError(f"pid must be a positive integer, got {pid_text!r}")
        pid = int(pid_text)
        if dataset is None:
            raise BadLinkError("a link with pid= must also name dataset=")
    return DeepLink(dataset, pid)
