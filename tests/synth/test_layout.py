"""Tiny stand-ins: exact layouts, read back by the project's own readers."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
from PIL import Image

from paenet.attributes import ATTRIBUTE_KEYS
from paenet.data import regdb, sysu
from paenet.data.records import Modality
from paenet.data.regdb import read_regdb
from paenet.data.sysu import read_sysu
from paenet.synth import GENERATOR_VERSION, SynthReport, make_plan
from paenet.synth.structure import load_structure


def test_sysu_tiny_reads_back_exactly(tiny_sysu: SynthReport) -> None:
    root = tiny_sysu.out
    st = load_structure("tiny")
    ds = read_sysu(root)
    assert len(ds.samples) == st.num_images() == tiny_sysu.num_images
    for cam, per in st.counts.items():
        for pid, n in per.items():
            names = [s.path.name for s in ds.images(pid, cam)]
            assert names == [f"{k:04d}.jpg" for k in range(1, n + 1)]
    for name, ids in st.splits.items():
        text = (root / "exp" / f"{name}_id.txt").read_text()
        assert re.fullmatch(r"\d+(,\d+)*", text), "one line, commas, no spaces"
        assert ds.splits[name] == ids
    assert set(ds.pids) == set(st.splits["available"])
    assert ds.train_ids() == tuple(sorted(st.splits["train"] + st.splits["val"]))
    assert sorted(p.name for p in root.iterdir()) == [
        *(f"cam{c}" for c in range(1, 7)),
        "exp",
        "synth_attributes.csv",
        "synth_info.json",
    ]


def test_sysu_images_are_person_crops_and_ir_has_equal_channels(tiny_sysu: SynthReport) -> None:
    ds = read_sysu(tiny_sysu.out)
    for sample in ds.samples[::7]:
        with Image.open(tiny_sysu.out / sample.path) as im:
            assert im.format == "JPEG" and im.mode == "RGB"
            w, h = im.size
            assert 55 <= w <= 110 and 120 <= h <= 215 and h > 1.7 * w
            a = np.asarray(im).astype(int)
        infrared = sysu.CAMERAS[sample.camera].modality is Modality.INFRARED
        channels_equal = bool((a[..., 0] == a[..., 1]).all() and (a[..., 1] == a[..., 2]).all())
        assert channels_equal == infrared, sample.path


def test_regdb_tiny_reads_back_with_consistent_idx(tiny_regdb: SynthReport) -> None:
    ds = read_regdb(tiny_regdb.out)
    assert len(ds.pids) == 20 and len(ds.samples) == 160
    for trial in regdb.TRIALS:
        train, test = ds.trial_ids("train", trial), ds.trial_ids("test", trial)
        assert len(train) == len(test) == 10 and not set(train) & set(test)
        assert set(train) | set(test) == set(ds.pids)
        for part, ids in (("train", train), ("test", test)):
            for modality in regdb.MODALITY_DIRS:
                entries = ds.read_idx(part, modality, trial)
                assert len(entries) == 4 * len(ids)
                assert [e.label for e in entries] == [ids.index(e.sample.pid) for e in entries]
                assert {e.sample.pid for e in entries} == set(ids)
    line = regdb.idx_file(tiny_regdb.out, "train", Modality.VISIBLE, 1).read_text().splitlines()[0]
    assert re.fullmatch(r"Visible/\d+/(male|female)_(front|back)_v_\d{2}_\d+\.bmp \d+", line)


def test_regdb_images_are_64x128_bmp_and_thermal_is_gray(tiny_regdb: SynthReport) -> None:
    ds = read_regdb(tiny_regdb.out)
    for sample in ds.samples[::5]:
        with Image.open(tiny_regdb.out / sample.path) as im:
            assert im.format == "BMP" and im.mode == "RGB" and im.size == (64, 128)
            a = np.asarray(im)
        gray = bool((a[..., 0] == a[..., 1]).all() and (a[..., 1] == a[..., 2]).all())
        assert gray == (sample.modality is Modality.INFRARED)


def test_attributes_csv_schema(tiny_sysu: SynthReport, tiny_regdb: SynthReport) -> None:
    for report in (tiny_sysu, tiny_regdb):
        with report.attributes_path.open(newline="") as fh:
            rows = list(csv.reader(fh))
        assert rows[0] == ["pid", *ATTRIBUTE_KEYS]
        pids = [int(r[0]) for r in rows[1:]]
        assert pids == sorted(pids) and len(pids) == report.num_ids
        for r in rows[1:]:
            assert len(r) == 1 + len(ATTRIBUTE_KEYS) and set(r[1:]) <= {"0", "1"}


def test_attributes_are_correlated_plausibly() -> None:
    people = make_plan(SynthConfig_full_regdb()).people
    attrs = np.array([p.attributes for p in people.values()])
    col = {k: attrs[:, i] for i, k in enumerate(ATTRIBUTE_KEYS)}
    female, skirt = col["gender"] == 1, col["lower_body_type"] == 1
    assert 0.25 < female.mean() < 0.6
    assert skirt[female].mean() > 5 * max(skirt[~female].mean(), 0.01)
    assert col["hair_length"][female].mean() > 0.5 > col["hair_length"][~female].mean()
    assert col["lower_body_length"].mean() > 0.6
    assert all(p.attr("lower_body_type") for p in people.values() if p.dress)
    for key in ATTRIBUTE_KEYS:
        assert 0 < col[key].mean() < 1, key


def SynthConfig_full_regdb():
    from paenet.synth import SynthConfig

    return SynthConfig(layout="regdb", out=Path("unused"), scale="full", seed=0)


def test_info_file(tiny_sysu: SynthReport) -> None:
    info = json.loads(tiny_sysu.info_path.read_text())
    assert info["layout"] == "sysu" and info["scale"] == "tiny" and info["seed"] == 0
    assert info["generator_version"] == GENERATOR_VERSION
    assert info["counts"]["images"] == tiny_sysu.num_images
    assert info["notes"]["val_ids"] == list(load_structure("tiny").splits["val"])
    assert "package_version" in info
    assert not (tiny_sysu.out / ".synth_in_progress.json").exists()
