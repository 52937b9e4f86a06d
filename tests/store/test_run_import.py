"""``run_import``: the one import path of the CLI and the Data page."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotator.store.db import Store
from annotator.store.importers.run import (
    ImportFormat,
    ImportOptions,
    OptionNotApplicableError,
    run_import,
)
from annotator.store.services.label_reads import get_identity
from tests.store.fakes import write_mat_folder


def test_formats_options_and_defaults(sysu_store: Store, tmp_path: Path) -> None:
    mat = write_mat_folder(tmp_path / "mat", {4: [1, 1, 0, 0, 1, 1, 0, 0]}, 11)
    with sysu_store.write() as s:
        with pytest.raises(ValueError, match=r"unknown import format 'mat' \(known: paenet-mat"):
            run_import(s, "mat", mat, "sysu")
        with pytest.raises(OptionNotApplicableError) as info:
            run_import(s, ImportFormat.CSV, mat, "sysu", ImportOptions(skip_unknown_ids=True))
        assert (info.value.option, info.value.format) == ("skip_unknown_ids", ImportFormat.CSV)
        assert info.value.applies_to == (ImportFormat.PAENET_MAT, ImportFormat.PAENET_XLSX)
        with pytest.raises(ValueError, match=r"middle_trousers must be one of \(0, 1, -1\), got 2"):
            run_import(s, "paenet-xlsx", mat, "sysu", ImportOptions(middle_trousers=2))
        with pytest.raises(ValueError, match="unknown attribute 'hat'"):
            run_import(s, "paenet-mat", mat, "sysu", ImportOptions(flip=("hat",)))
        rep = run_import(s, "paenet-mat", mat, "sysu", ImportOptions(flip=("gender",)))
    assert rep.source == "paenet-mat" and rep.identities == 1
    with sysu_store.read() as s:
        view = get_identity(s, "sysu", 4)
    # gender flipped from 1 to 0; hair_length (not flipped) stays 1, on every camera too
    assert view.label("paenet-mat", "gender") == 0 and view.label("paenet-mat", "gender", 3) == 0
    assert view.label("paenet-mat", "hair_length") == 1
