"""The manifest reader and writer on the tiny synthetic stand-in (no database)."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from paenet.attributes import ATTRIBUTE_KEYS
from paenet.data.manifest import (
    IMAGES_PARQUET,
    MANIFEST_FILE,
    MANIFEST_SCHEMA_VERSION,
    ManifestError,
    ManifestImage,
    load_manifest,
    sha256_file,
)
from paenet.data.manifest_build import manifest_from_synthetic, read_dataset
from paenet.data.manifest_write import write_manifest
from paenet.data.records import Modality, Sample
from paenet.data.regdb_protocol import regdb_protocol, regdb_train_entries
from paenet.data.sysu_protocol import sysu_protocol
from paenet.synth import SynthConfig, synthesize

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("stand-in")
    synthesize(SynthConfig(layout="sysu", out=root / "SYSU-MM01", scale="tiny", seed=0, workers=1))
    synthesize(SynthConfig(layout="regdb", out=root / "RegDB", scale="tiny", seed=0, workers=1))
    return root


@pytest.fixture(scope="module")
def sysu_manifest(stand_in: Path) -> Path:
    return manifest_from_synthetic(stand_in / "SYSU-MM01", "sysu", stand_in / "m-sysu")


@pytest.fixture
def copy(sysu_manifest: Path, tmp_path: Path) -> Path:
    """A private copy of the SYSU manifest to tamper with."""
    return Path(shutil.copytree(sysu_manifest, tmp_path / "m"))


def _truth(root: Path) -> dict[int, tuple[int, ...]]:
    with (root / "synth_attributes.csv").open() as f:
        return {int(r["pid"]): tuple(int(r[k]) for k in ATTRIBUTE_KEYS) for r in csv.DictReader(f)}


def _rehash(directory: Path, name: str) -> None:
    """Make manifest.json agree with a file changed on purpose (a consistent forgery)."""
    doc = json.loads((directory / MANIFEST_FILE).read_text())
    p = directory / name
    doc["files"][name] = {"sha256": sha256_file(p), "bytes": p.stat().st_size}
    (directory / MANIFEST_FILE).write_text(json.dumps(doc))


def test_sysu_round_trip_labels_training_set_and_protocols(stand_in: Path, sysu_manifest: Path):
    root = stand_in / "SYSU-MM01"
    m = load_manifest(sysu_manifest)
    ds = read_dataset("sysu", root)
    truth = _truth(root)
    assert (m.dataset, m.kind, m.root) == ("sysu-synthetic", "sysu", root.resolve())
    assert m.attribute_keys == ATTRIBUTE_KEYS
    assert len(m.images) == len(ds.samples) == m.metadata["counts"]["images"]
    for im in m.images:
        assert im.attributes == truth[im.sample.pid]
        assert im.provenance == ("source:synthetic-truth",) * 8
        assert im.split == ds.split_of(im.sample.pid)
        assert m.image_path(im) == root.resolve() / im.sample.path
        assert m.image_path(im).is_file()

    train = m.training_set()
    ids = sorted(ds.split_ids("train") + ds.split_ids("val"))
    assert train.pids == tuple(ids) and train.num_classes == len(ids)
    assert len(train.images) == sum(len(ds.samples_of(p)) for p in ids)
    keys = [(im.sample.pid, im.sample.camera, im.sample.path) for im in train.images]
    assert keys == sorted(keys)
    assert train.labels.dtype == np.int64 and train.attributes.dtype == np.int8
    for label, im, row in zip(train.labels, train.images, train.attributes):
        assert train.pids[label] == im.sample.pid
        assert tuple(row) == truth[im.sample.pid]
    assert set(train.labels.tolist()) == set(range(len(ids)))
    only_val = m.training_set(["val"])
    assert only_val.pids == tuple(sorted(ds.split_ids("val")))

    protocols = m.protocols()
    assert len(protocols) == 40
    for p in protocols:
        expected = sysu_protocol(ds, p.params["mode"], p.params["shots"], p.params["trial"])
        assert p.params["sampling"] == "seeded"
        assert p.query == expected.query and p.gallery == expected.gallery
        assert p.skip_rules == expected.skip_rules and p.unique_identity_cmc
        assert (p.skip_rules[0].query_camera, p.skip_rules[0].gallery_camera) == (3, 2)
    assert [p.params["trial"] for p in m.protocols(trial=3)] == [3, 3, 3, 3]
    samples = [protocols[0].query[0], train.images[0].sample]
    assert m.attributes_of(samples).tolist() == [list(truth[s.pid]) for s in samples]


def test_regdb_training_set_and_protocols_per_trial(stand_in: Path, tmp_path: Path):
    root = stand_in / "RegDB"
    m = load_manifest(manifest_from_synthetic(root, "regdb", tmp_path / "m-regdb"))
    ds = read_dataset("regdb", root)
    assert {im.split for im in m.images} == {None}
    for trial in (1, 7):
        train = m.training_set(trial=trial)
        listed = {e.sample for e in regdb_train_entries(ds, trial)}
        assert set(train.samples) == listed and len(train.samples) == len(listed)
        assert train.pids == ds.trial_ids("train", trial)
        assert [train.pids[i] for i in train.labels] == [s.pid for s in train.samples]
        got = m.protocols(trial=trial)
        assert [p.params["direction"] for p in got] == ["v2t", "t2v"]
        for p in got:
            expected = regdb_protocol(ds, trial, p.params["direction"])
            assert p.query == expected.query and p.gallery == expected.gallery
            assert not p.skip_rules and not p.unique_identity_cmc
    with pytest.raises(ValueError, match="trial in 1..10"):
        m.training_set()
    with pytest.raises(ValueError, match="trial in 1..10"):
        m.protocols(trial=0)


def test_deterministic_bytes_apart_from_creation_time(stand_in: Path, tmp_path: Path):
    a = manifest_from_synthetic(stand_in / "SYSU-MM01", "sysu", tmp_path / "a")
    b = manifest_from_synthetic(stand_in / "SYSU-MM01", "sysu", tmp_path / "b")
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    for name in names:
        if name != MANIFEST_FILE:
            assert (a / name).read_bytes() == (b / name).read_bytes(), name
    ja, jb = (json.loads((d / MANIFEST_FILE).read_text()) for d in (a, b))
    ja["provenance"].pop("created_at")
    jb["provenance"].pop("created_at")
    assert ja == jb
    assert load_manifest(a).content_hash == load_manifest(b).content_hash


def _image(path: str, pid: int = 1, attrs=(0, 1, 0, 1, 0, 1, 0, 1)) -> ManifestImage:
    return ManifestImage(
        Sample(PurePosixPath(path), pid, 1, Modality.VISIBLE), "train", attrs, ("fill:0",) * 8
    )


def test_write_records_directly_and_overwrite_keeps_one_directory(tmp_path: Path):
    root = tmp_path / "root"
    root.mkdir()
    out = tmp_path / "out"
    imgs = [_image("cam1/0002/0001.jpg", 2), _image("cam1/0001/0001.jpg", 1, (-1,) * 8)]
    write_manifest(out, dataset="d", kind="sysu", root=root, images=imgs, created_at=T0)
    m = load_manifest(out)
    assert [str(im.sample.path) for im in m.images] == ["cam1/0001/0001.jpg", "cam1/0002/0001.jpg"]
    assert m.metadata["counts"]["unknown_images"] == {k: {"train": 1} for k in ATTRIBUTE_KEYS}
    assert m.metadata["provenance"]["created_at"] == "2026-01-02T03:04:05+00:00"
    write_manifest(out, dataset="d", kind="sysu", root=root, images=imgs[:1], created_at=T0)
    assert len(load_manifest(out).images) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "root"]  # no temporaries left


def test_failed_write_leaves_previous_manifest(copy: Path, stand_in: Path):
    before = {p.name: p.read_bytes() for p in copy.iterdir()}
    with pytest.raises(ValueError, match="plain file name"):
        write_manifest(
            copy, dataset="x", kind="sysu", root=stand_in, images=[_image("a/b.jpg")],
            extra_files={"../evil": b"x"},
        )  # fmt: skip
    assert {p.name: p.read_bytes() for p in copy.iterdir()} == before
    assert [p.name for p in copy.parent.iterdir()] == ["m"]
    load_manifest(copy)


def test_newer_schema_version_is_refused(copy: Path):
    doc = json.loads((copy / MANIFEST_FILE).read_text())
    doc["schema_version"] = MANIFEST_SCHEMA_VERSION + 1
    (copy / MANIFEST_FILE).write_text(json.dumps(doc))
    with pytest.raises(ManifestError, match="newer paenet") as err:
        load_manifest(copy)
    assert str(copy / MANIFEST_FILE) in str(err.value)


def test_wrong_format_and_missing_json(copy: Path, tmp_path: Path):
    doc = json.loads((copy / MANIFEST_FILE).read_text())
    doc["format"] = "something-else"
    (copy / MANIFEST_FILE).write_text(json.dumps(doc))
    with pytest.raises(ManifestError, match="format must be 'paenet-manifest'"):
        load_manifest(copy)
    (copy / MANIFEST_FILE).write_text("{not json")
    with pytest.raises(ManifestError, match="not readable JSON"):
        load_manifest(copy)
    with pytest.raises(ManifestError, match="does not exist"):
        load_manifest(tmp_path / "nowhere")


def test_tampered_table_fails_the_hash(copy: Path):
    with (copy / "images.csv").open("a") as f:
        f.write("cam1/0001/9999.jpg,1,1,visible,train,0,0,0,0,0,0,0,0,a,a,a,a,a,a,a,a\n")
    with pytest.raises(ManifestError, match="images.csv: size") as err:
        load_manifest(copy)
    assert "manifest.json records" in str(err.value)


def _rewrite_images(directory: Path, change) -> None:
    table = pq.read_table(directory / IMAGES_PARQUET)
    cols = {name: table.column(name).to_pylist() for name in table.column_names}
    change(cols)
    pq.write_table(pa.table(cols, schema=table.schema), directory / IMAGES_PARQUET)
    _rehash(directory, IMAGES_PARQUET)


@pytest.mark.parametrize(
    "path", ["../outside.jpg", "/etc/passwd", "cam1/../../x.jpg", "cam1\\0001\\0001.jpg", ""]
)
def test_path_escaping_the_root_is_refused(copy: Path, path: str):
    _rewrite_images(copy, lambda c: c["path"].__setitem__(3, path))
    with pytest.raises(ManifestError, match=r"row 3: .*(escapes|absolute|empty)") as err:
        load_manifest(copy)
    assert str(copy / IMAGES_PARQUET) in str(err.value)


def test_bad_attribute_value_and_modality(copy: Path):
    _rewrite_images(copy, lambda c: c["glasses"].__setitem__(5, 2))
    with pytest.raises(ManifestError, match="row 5 .*glasses = 2, expected 0, 1 or -1"):
        load_manifest(copy)


def test_changed_file_detected_even_with_same_size(copy: Path):
    data = bytearray((copy / IMAGES_PARQUET).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / IMAGES_PARQUET).write_bytes(bytes(data))
    with pytest.raises(ManifestError, match="images.parquet: SHA-256 differs"):
        load_manifest(copy)


def test_missing_root_is_named_and_can_be_overridden(copy: Path, stand_in: Path, tmp_path: Path):
    moved = tmp_path / "moved"
    shutil.copytree(stand_in / "SYSU-MM01", moved)
    doc = json.loads((copy / MANIFEST_FILE).read_text())
    doc["dataset"]["root"] = str(tmp_path / "gone")
    (copy / MANIFEST_FILE).write_text(json.dumps(doc))
    with pytest.raises(ManifestError, match=r"dataset root .*gone does not exist"):
        load_manifest(copy)
    m = load_manifest(copy, root=moved)
    assert m.image_path(m.images[0]).is_file()
