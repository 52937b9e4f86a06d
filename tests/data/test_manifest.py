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
    IMAGE_FILE_COLUMNS,
    IMAGES_CSV,
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


def test_attributes_are_one_read_only_int8_array_in_row_order(sysu_manifest: Path):
    m = load_manifest(sysu_manifest)
    assert m.attributes.dtype == np.int8 and m.attributes.shape == (len(m.images), 8)
    assert not m.attributes.flags.writeable
    assert m.attributes.tolist() == [list(im.attributes) for im in m.images]
    train = m.training_set(["train"])
    assert train.attributes.tolist() == [list(im.attributes) for im in train.images]
    assert m.row(train.images[5].sample.path) == m.images.index(train.images[5])


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
    for pid in (1, 2):
        (root / "cam1" / f"{pid:04d}").mkdir(parents=True)
        (root / "cam1" / f"{pid:04d}" / "0001.jpg").write_bytes(b"x" * pid)
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
            copy, dataset="x", kind="sysu", root=stand_in / "SYSU-MM01",
            images=load_manifest(copy).images[:1], extra_files={"../evil": b"x"},
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


# --- the images table records each image's size and mtime (issue 20, item 6) ---------


def _to_version_1(directory: Path) -> None:
    """Rewrite a manifest as a schema-1 one (before images recorded their size and mtime)."""
    table = pq.read_table(directory / IMAGES_PARQUET).drop_columns(list(IMAGE_FILE_COLUMNS))
    pq.write_table(table, directory / IMAGES_PARQUET)
    rows = list(csv.reader((directory / IMAGES_CSV).open(newline="")))
    keep = len(rows[0]) - len(IMAGE_FILE_COLUMNS)
    (directory / IMAGES_CSV).write_text("".join(",".join(r[:keep]) + "\n" for r in rows))
    doc = json.loads((directory / MANIFEST_FILE).read_text())
    doc["schema_version"] = 1
    doc["tables"]["images"]["columns"] = doc["tables"]["images"]["columns"][:keep]
    (directory / MANIFEST_FILE).write_text(json.dumps(doc))
    for name in (IMAGES_PARQUET, IMAGES_CSV):
        _rehash(directory, name)


def test_images_table_records_each_image_size_and_mtime(sysu_manifest: Path, stand_in: Path):
    m = load_manifest(sysu_manifest)
    assert m.metadata["schema_version"] == MANIFEST_SCHEMA_VERSION == 2
    assert m.metadata["tables"]["images"]["columns"][-2:] == ["bytes", "mtime_ns"]
    assert m.image_bytes is not None and m.image_mtime_ns is not None
    assert m.image_bytes.dtype == np.int64 and m.image_mtime_ns.dtype == np.int64
    for i, im in enumerate(m.images):
        st = (m.root / im.sample.path).stat()
        assert (m.image_bytes[i], m.image_mtime_ns[i]) == (st.st_size, st.st_mtime_ns)
    with (sysu_manifest / IMAGES_CSV).open(newline="") as f:
        first = next(csv.DictReader(f))
    st = (m.root / first["path"]).stat()
    assert (int(first["bytes"]), int(first["mtime_ns"])) == (st.st_size, st.st_mtime_ns)


def test_version_1_manifest_without_sizes_still_loads(copy: Path):
    before = load_manifest(copy)
    _to_version_1(copy)
    m = load_manifest(copy)
    assert m.metadata["schema_version"] == 1
    assert m.image_bytes is None and m.image_mtime_ns is None
    assert m.images == before.images
    assert len(m.protocols()) == 40


def test_write_refuses_an_image_missing_on_disk(tmp_path: Path):
    root = tmp_path / "root"
    (root / "cam1" / "0001").mkdir(parents=True)
    (root / "cam1" / "0001" / "0001.jpg").write_bytes(b"x" * 10)
    with pytest.raises(ManifestError, match=r"cam1/0002/0001\.jpg: image is missing"):
        write_manifest(
            tmp_path / "out", dataset="d", kind="sysu", root=root,
            images=[_image("cam1/0001/0001.jpg"), _image("cam1/0002/0001.jpg", 2)],
        )  # fmt: skip
    assert not (tmp_path / "out").exists()


# --- values the loader refuses instead of coercing (item 7) --------------------------


def _retype(directory: Path, column: str, values: list, arrow_type) -> None:
    """Replace one column of images.parquet with ``values`` of ``arrow_type``."""
    table = pq.read_table(directory / IMAGES_PARQUET)
    i = table.column_names.index(column)
    table = table.set_column(i, column, pa.array(values, arrow_type))
    pq.write_table(table, directory / IMAGES_PARQUET)
    _rehash(directory, IMAGES_PARQUET)


def _column(directory: Path, column: str) -> list:
    return pq.read_table(directory / IMAGES_PARQUET).column(column).to_pylist()


def test_nan_attribute_is_refused_not_read_as_zero(copy: Path):
    values = [float(v) for v in _column(copy, "glasses")]
    values[4] = float("nan")
    _retype(copy, "glasses", values, pa.float64())
    path = _column(copy, "path")[4]
    with pytest.raises(ManifestError, match=rf"row 4 \({path}\): glasses = nan, expected 0, 1"):
        load_manifest(copy)


@pytest.mark.parametrize("value", [256, 257, -255, 2**40])
def test_wide_integer_attribute_is_refused_not_wrapped(copy: Path, value: int):
    values = _column(copy, "backpack")
    values[2] = value
    _retype(copy, "backpack", values, pa.int64())
    with pytest.raises(ManifestError, match=rf"row 2 \(.*\): backpack = {value}, expected 0, 1"):
        load_manifest(copy)


def test_integral_float_attribute_and_wide_integer_columns_still_load(copy: Path):
    before = load_manifest(copy).images
    _retype(copy, "gender", [float(v) for v in _column(copy, "gender")], pa.float32())
    _retype(copy, "camera", _column(copy, "camera"), pa.int64())
    _retype(copy, "satchel", _column(copy, "satchel"), pa.int64())
    assert load_manifest(copy).images == before


def test_huge_unsigned_attribute_is_refused_not_wrapped_to_minus_one(copy: Path):
    values = _column(copy, "satchel")
    values[1] = 2**64 - 1
    _retype(copy, "satchel", values, pa.uint64())
    with pytest.raises(ManifestError, match=r"row 1 \(.*\): satchel = 18446744073709551615"):
        load_manifest(copy)


@pytest.mark.parametrize(
    "camera, match",
    [
        (9, r"camera 9 is not a sysu camera \(expected 1, 2, 3, 4, 5, 6\)"),
        (0, r"camera 0 is not a sysu camera"),
        (265, r"camera 265 is not a sysu camera"),  # would wrap to 9 in int8
        (3, r"camera 3 is an infrared camera, but modality is 'visible'"),
    ],
)
def test_camera_outside_the_dataset_or_of_another_modality_is_refused(
    copy: Path, camera: int, match: str
):
    cams = _column(copy, "camera")
    row = next(i for i, c in enumerate(cams) if c == 1)  # cam1 is visible
    cams[row] = camera
    _retype(copy, "camera", cams, pa.int64())
    path = _column(copy, "path")[row]
    with pytest.raises(ManifestError, match=rf"row {row} \({path}\): {match}") as err:
        load_manifest(copy)
    assert str(copy / IMAGES_PARQUET) in str(err.value)


def test_regdb_camera_3_is_refused(stand_in: Path, tmp_path: Path):
    out = manifest_from_synthetic(stand_in / "RegDB", "regdb", tmp_path / "m-regdb")
    cams = _column(out, "camera")
    cams[0] = 3
    _retype(out, "camera", cams, pa.int8())
    with pytest.raises(
        ManifestError, match=r"row 0 .*camera 3 is not a regdb camera \(expected 1, 2\)"
    ):
        load_manifest(out)


@pytest.mark.parametrize(
    "column, values, arrow_type, match",
    [
        ("pid", lambda v: [None, *v[1:]], pa.int32(), r"row 0 \(.*\): pid is missing"),
        ("pid", lambda v: [str(x) for x in v], pa.string(), r"column 'pid' has type string, "
         r"expected integers"),
        ("pid", lambda v: [-5, *v[1:]], pa.int32(), r"row 0 \(.*\): pid -5 is negative"),
        ("camera", lambda v: [1.5, *v[1:]], pa.float64(), r"column 'camera' has type double"),
        ("gender", lambda v: [*v[:3], None, *v[4:]], pa.int8(), r"row 3 \(.*\): gender is missing"),
        ("gender", lambda v: [str(x) for x in v], pa.string(), r"column 'gender' has type string"),
        ("path", lambda v: list(range(len(v))), pa.int64(), r"column 'path' has type int64"),
        ("modality", lambda v: [1] * len(v), pa.int8(), r"column 'modality' has type int8"),
        ("bytes", lambda v: [-1, *v[1:]], pa.int64(), r"row 0 \(.*\): bytes -1 is negative"),
        ("mtime_ns", lambda v: [*v[:-1], None], pa.int64(), r"row \d+ \(.*\): mtime_ns is missing"),
        ("gender_provenance", lambda v: [None, *v[1:]], pa.string(),
         r"row 0 \(.*\): gender_provenance is missing"),
    ],
)  # fmt: skip
def test_bad_column_types_and_missing_values_are_named(
    copy: Path, column: str, values, arrow_type, match: str
):
    _retype(copy, column, values(_column(copy, column)), arrow_type)
    with pytest.raises(ManifestError, match=match) as err:
        load_manifest(copy)
    assert str(copy / IMAGES_PARQUET) in str(err.value)


# --- every field of manifest.json the loader reads is type-checked (item 8) ---------


def _set(doc: dict, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        doc = doc[int(key)] if isinstance(doc, list) else doc[key]
    if isinstance(doc, list):
        doc[int(last)] = value
    else:
        doc[last] = value


@pytest.mark.parametrize(
    "field, value, match",
    [
        ("files", "oops", r"'files' must be an object"),
        ("files", [], r"'files' must be an object"),
        ("files.images.parquet", "x", r"'files\[images.parquet\]' must be an object"),
        ("files.images.parquet.bytes", "12", r"'files\[images.parquet\].bytes' must be"),
        ("files.images.parquet.bytes", True, r"'files\[images.parquet\].bytes' must be"),
        ("files.images.parquet.sha256", 5, r"'files\[images.parquet\].sha256' must be"),
        ("attributes", [1, 2, 3], r"'attributes\[0\]' must be an object"),
        ("attributes", "gender", r"'attributes' must be a list"),
        ("attributes.0.key", 7, r"'attributes\[0\].key' must be a string"),
        ("dataset", "sysu", r"'dataset' must be an object"),
        ("dataset.name", 5, r"'dataset.name' must be a non-empty string"),
        ("dataset.kind", "market", r"'dataset.kind' must be one of"),
        ("dataset.root", ["/x"], r"'dataset.root' must be an absolute path"),
        ("dataset.synthetic", "yes", r"'dataset.synthetic' must be true or false"),
        ("schema_version", True, r"schema_version True is not supported"),
        ("schema_version", "2", r"schema_version '2' is not supported"),
        ("protocols", {"a": 1}, r"'protocols' must be a list"),
        ("protocols.0", "all", r"'protocols\[0\]' must be an object"),
        ("protocols.0.params", [1], r"'protocols\[0\].params' must be an object"),
        ("protocols.0.params.trial", [0], r"'protocols\[0\].params.trial' must be a string"),
        ("protocols.0.query", 3, r"'protocols\[0\].query' must be a string"),
        ("protocols.0.gallery", None, r"'protocols\[0\].gallery' must be a string"),
        ("protocols.0.skip_rules", {}, r"'protocols\[0\].skip_rules' must be a list"),
        ("protocols.0.skip_rules.0", 3, r"'protocols\[0\].skip_rules\[0\]' must be an object"),
        ("protocols.0.skip_rules.0.query_camera", "3",
         r"'protocols\[0\].skip_rules\[0\].query_camera' must be an integer"),
        ("protocols.0.skip_rules.0.reason", 1,
         r"'protocols\[0\].skip_rules\[0\].reason' must be a string"),
        ("protocols.0.skip_rules.0.extra", 1,
         r"'protocols\[0\].skip_rules\[0\]' must have the keys"),
        ("protocols.0.unique_identity_cmc", "yes",
         r"'protocols\[0\].unique_identity_cmc' must be true or false"),
    ],
)  # fmt: skip
def test_every_manifest_json_field_has_its_type_checked(copy: Path, field: str, value, match: str):
    doc = json.loads((copy / MANIFEST_FILE).read_text())
    if field.startswith("files.images.parquet"):  # a file name holds a dot
        entry = doc["files"]
        rest = field.removeprefix("files.images.parquet")
        if rest:
            entry[IMAGES_PARQUET][rest[1:]] = value
        else:
            entry[IMAGES_PARQUET] = value
    else:
        _set(doc, field, value)
    (copy / MANIFEST_FILE).write_text(json.dumps(doc))
    with pytest.raises(ManifestError, match=match) as err:
        load_manifest(copy)
    assert str(err.value).startswith(f"{copy / MANIFEST_FILE}: ")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("key", ["dataset", "attributes", "protocols", "files"])
def test_missing_manifest_json_field_is_named(copy: Path, key: str):
    doc = json.loads((copy / MANIFEST_FILE).read_text())
    del doc[key]
    (copy / MANIFEST_FILE).write_text(json.dumps(doc))
    with pytest.raises(ManifestError, match=f"missing the '{key}' field"):
        load_manifest(copy)


@pytest.mark.parametrize(
    "values, arrow_type, match",
    [
        (lambda v: [[p] for p in v], pa.list_(pa.string()), r"column 'path' has type list"),
        (lambda v: [None, *v[1:]], pa.string(), r"row 0: path is missing"),
    ],
)
def test_protocol_table_types_are_checked(copy: Path, values, arrow_type, match: str):
    table = pq.read_table(copy / "protocols.parquet")
    i = table.column_names.index("path")
    new = pa.array(values(table.column("path").to_pylist()), arrow_type)
    pq.write_table(table.set_column(i, "path", new), copy / "protocols.parquet")
    _rehash(copy, "protocols.parquet")
    with pytest.raises(ManifestError, match=match) as err:
        load_manifest(copy).protocols()
    assert str(copy / "protocols.parquet") in str(err.value)
