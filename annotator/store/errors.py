"""Errors of the store, each meant to be shown to a person as it is."""

from __future__ import annotations

from pathlib import Path


class StoreError(Exception):
    """Base class."""


class DatabaseError(StoreError):
    """The database cannot be used (unreadable, locked, unreachable, malformed URL, broken
    version table); the message names it (never its password) and says what to do."""


class UnknownDatasetError(StoreError):
    pass


class UnknownIdentityError(StoreError):
    pass


class UnknownSourceError(StoreError):
    """No label source of that name; the message lists the known ones."""


class StaleVersionError(StoreError):
    """A save was based on an older version of the identity than the database holds."""

    def __init__(self, dataset: str, pid: int, expected: int, actual: int, changes: list[str]):
        self.dataset, self.pid, self.expected, self.actual = dataset, pid, expected, actual
        self.changes = changes
        what = "; ".join(changes) if changes else "unknown change"
        super().__init__(
            f"{dataset} id {pid} was changed meanwhile (you saw version {expected}, it is now "
            f"{actual}): {what}. Your change was not saved; look again and redo it if needed."
        )


class ImportFormatError(StoreError):
    """An import file is not what the importer expects; names file and variable/column."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
