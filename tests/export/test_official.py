"""--format paenet-official against the published release, on the real SYSU-MM01 structure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io

from annotator.cli_export import main
from annotator.store.db import open_store
from annotator.store.importers.published_paenet import import_paenet_mat
from annotator.store.services.datasets import register_dataset
from paenet.data.manifest import load_manifest


@pytest.mark.slow
def test_published_mat_files_round_trip(
    real_sysu_tree: Path, reference_dir: Path, tmp_path: Path
) -> None:
    """Import the published cam*_att.mat, export them in the published format (official
    gallery sampling from the real rand_perm_cam.mat), get back the published arrays."""
    release = reference_dir / "paenet-attribute-release"
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    store = open_store(url)
    with store.write() as s:
        register_dataset(s, "sysu", "sysu", real_sysu_tree)
        import_paenet_mat(s, "sysu", release)
    store.dispose()
    out = tmp_path / "m"
    rand_perm = reference_dir / "sysu-mm01-official" / "rand_perm_cam.mat"
    args = ["--db", url, "--dataset", "sysu", "--out", str(out), "--sources", "paenet-mat",
            "--unknown", "1", "--format", "paenet-official", "--rand-perm", str(rand_perm)]  # fmt: skip
    assert main(args) == 0
    for cam in range(1, 7):
        name = f"cam{cam}_att"
        published = scipy.io.loadmat(str(release / f"{name}.mat"))[name]
        ours = scipy.io.loadmat(str(out / f"{name}.mat"))[name]
        assert ours.dtype == np.uint8 and ours.shape == published.shape, name
        labelled = ~(published == 1).all(axis=0)
        assert labelled.sum() > 0
        np.testing.assert_array_equal(ours[:, labelled], published[:, labelled], err_msg=name)
        # an id without images in this camera: the release's all-ones placeholder
        present = {int(d.name) for d in (real_sysu_tree / f"cam{cam}").iterdir()}
        absent = [pid - 1 for pid in range(1, ours.shape[1] + 1) if pid not in present]
        assert absent and (ours[:, absent] == 1).all(), name
    m = load_manifest(out)
    assert len(m.images) == 45863
    protocols = m.protocols()
    assert {p.params["sampling"] for p in protocols} == {"official"}
    sizes = {(p.params["mode"], p.params["shots"]): p.sizes() for p in protocols}
    assert sizes[("all", 1)]["query"] == 3803 and sizes[("all", 1)]["gallery"] == 301
    assert sizes[("indoor", 10)]["gallery"] == 1120
