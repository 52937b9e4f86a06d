"""Errors raised by the dataset readers: each names the file (and line) at fault."""

from __future__ import annotations

from pathlib import Path


class DatasetError(Exception):
    """A dataset on disk does not have the expected layout or content."""

    def __init__(self, path: Path | str, problem: str, line: int | None = None) -> None:
        self.path = Path(path)
        self.problem = problem
        self.line = line
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        super().__init__(f"{where}: {problem}")
