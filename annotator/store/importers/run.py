"""One way to run an import, whoever asks (``paenet-labels import``, the Data page)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sqlalchemy.orm import Session

from annotator.store.importers.common import ImportReport
from annotator.store.importers.csv_labels import import_csv
from annotator.store.importers.published_paenet import import_paenet_mat, import_paenet_xlsx
from annotator.store.importers.synth_truth import import_synth
from annotator.store.services.validation import validate_attribute
from paenet.attributes import LabelValue


class ImportFormat(StrEnum):
    PAENET_MAT = "paenet-mat"
    """A folder of the published ``cam1_att.mat`` … ``cam6_att.mat``."""
    PAENET_XLSX = "paenet-xlsx"
    """The published ``label_finished.xlsx``."""
    SYNTH = "synth"
    """The synthetic stand-in's ground truth (a root or its ``synth_attributes.csv``)."""
    CSV = "csv"
    """Our own CSV export (it names its datasets and sources itself)."""


MIDDLE_TROUSERS = (int(LabelValue.NEGATIVE), int(LabelValue.POSITIVE), int(LabelValue.UNKNOWN))
"""What the xlsx's 'middle' trousers length may become: short (0), long (1) or unknown."""


@dataclass(frozen=True)
class ImportOptions:
    """Options of one import; each applies to the formats named, and a non-default value
    given for another format is refused (it would silently do nothing)."""

    source: str | None = None
    """Source name (all but csv); default: the format's name (synth: ``synth-gt``)."""
    flip: tuple[str, ...] = ()
    """paenet-mat: attributes whose polarity is inverted."""
    middle_trousers: int = int(LabelValue.NEGATIVE)
    """paenet-xlsx: value of the 'middle' trousers length."""
    skip_unknown_ids: bool = False
    """paenet-mat, paenet-xlsx: import the ids the dataset has, count the others."""


class OptionNotApplicableError(ValueError):
    """An import option was given for a format it does not apply to."""

    def __init__(self, option: str, fmt: ImportFormat, applies_to: tuple[ImportFormat, ...]):
        self.option, self.format, self.applies_to = option, fmt, applies_to
        names = ", ".join(f.value for f in applies_to)
        super().__init__(f"option {option!r} applies to {names} imports only, not to {fmt}")


_APPLIES: dict[str, tuple[ImportFormat, ...]] = {
    "source": (ImportFormat.PAENET_MAT, ImportFormat.PAENET_XLSX, ImportFormat.SYNTH),
    "flip": (ImportFormat.PAENET_MAT,),
    "middle_trousers": (ImportFormat.PAENET_XLSX,),
    "skip_unknown_ids": (ImportFormat.PAENET_MAT, ImportFormat.PAENET_XLSX),
}
_DEFAULT_SOURCE = {
    ImportFormat.PAENET_MAT: "paenet-mat",
    ImportFormat.PAENET_XLSX: "paenet-xlsx",
    ImportFormat.SYNTH: "synth-gt",
}


def _check(fmt: ImportFormat, options: ImportOptions) -> None:
    defaults = ImportOptions()
    for name, formats in _APPLIES.items():
        if fmt not in formats and getattr(options, name) != getattr(defaults, name):
            raise OptionNotApplicableError(name, fmt, formats)
    for key in options.flip:
        validate_attribute(key)
    if options.middle_trousers not in MIDDLE_TROUSERS:
        raise ValueError(
            f"middle_trousers must be one of {MIDDLE_TROUSERS}, got {options.middle_trousers!r}"
        )


def run_import(
    session: Session,
    format: ImportFormat | str,
    path: Path | str,
    dataset: str,
    options: ImportOptions | None = None,
) -> ImportReport:
    """Import ``path`` in ``format`` into ``dataset`` in the caller's transaction.

    ``csv`` files name their datasets themselves: ``dataset`` is not used for them.
    Raises ValueError for an unknown format, :class:`OptionNotApplicableError` for an
    option that does not apply to it.
    """
    try:
        fmt = ImportFormat(format)
    except ValueError:
        known = ", ".join(f.value for f in ImportFormat)
        raise ValueError(f"unknown import format {format!r} (known: {known})") from None
    options = options or ImportOptions()
    _check(fmt, options)
    source = options.source or _DEFAULT_SOURCE.get(fmt, "")
    if fmt is ImportFormat.PAENET_MAT:
        return import_paenet_mat(
            session, dataset, path, source, options.flip, options.skip_unknown_ids
        )
    if fmt is ImportFormat.PAENET_XLSX:
        return import_paenet_xlsx(
            session, dataset, path, source, options.middle_trousers, options.skip_unknown_ids
        )
    if fmt is ImportFormat.SYNTH:
        return import_synth(session, dataset, path, source)
    return import_csv(session, path)
