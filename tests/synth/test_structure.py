"""The bundled SYSU-MM01 structure: equal to the official files, and its known facts."""

from __future__ import annotations

from pathlib import Path

import pytest

from paenet.synth.structure import (
    INFRARED_CAMERAS,
    VISIBLE_CAMERAS,
    build_structure_from_reference,
    load_structure,
    structure_from_json,
    structure_to_json,
)

PER_CAMERA = {1: 6289, 2: 7528, 3: 9812, 4: 8030, 5: 8224, 6: 5980}


def test_bundled_structure_equals_the_official_mat_files(reference_dir: Path) -> None:
    official = reference_dir / "sysu-mm01-official"
    if not (official / "rand_perm_cam.mat").is_file():
        pytest.skip(f"no rand_perm_cam.mat under {official}")
    rebuilt = build_structure_from_reference(official)
    bundled = load_structure("full")
    assert rebuilt.counts == bundled.counts
    assert rebuilt.splits == bundled.splits
    assert structure_to_json(rebuilt) == structure_to_json(bundled)


def test_full_structure_facts() -> None:
    st = load_structure("full")
    assert st.num_images() == 45_863
    assert {cam: st.num_images(cam) for cam in st.counts} == PER_CAMERA
    assert len(st.pids) == 513
    sizes = {name: len(ids) for name, ids in st.splits.items()}
    assert sizes == {"train": 296, "val": 99, "test": 96, "available": 491}
    train, val, test = (set(st.splits[k]) for k in ("train", "val", "test"))
    assert not (train & val or train & test or val & test)
    assert train | val | test == set(st.splits["available"])
    assert min(test) == 6 and max(test) == 333
    # The val rule reproduces the published train+val totals.
    ids = train | val
    rgb = sum(st.counts[c].get(p, 0) for c in VISIBLE_CAMERAS for p in ids)
    ir = sum(st.counts[c].get(p, 0) for c in INFRARED_CAMERAS for p in ids)
    assert (rgb, ir) == (22_258, 11_909)
    # Query of the test protocol: all IR images of the test ids.
    assert sum(st.counts[c].get(p, 0) for c in INFRARED_CAMERAS for p in test) == 3_803


def test_json_round_trip() -> None:
    st = load_structure("full")
    assert structure_from_json(structure_to_json(st)) == st


def test_tiny_structure_supports_every_protocol_setting() -> None:
    st = load_structure("tiny")
    sizes = {name: len(ids) for name, ids in st.splits.items()}
    assert sizes == {"train": 16, "val": 6, "test": 8, "available": 30}
    for pid in st.pids:
        cams = st.cameras_of(pid)
        assert len(cams) >= 3
        assert set(cams) & set(VISIBLE_CAMERAS) and set(cams) & set(INFRARED_CAMERAS)
    for pid in st.splits["test"]:
        cams = st.cameras_of(pid)
        assert set(INFRARED_CAMERAS) <= set(cams)
        rgb = [c for c in cams if c in VISIBLE_CAMERAS and st.counts[c][pid] >= 3]
        assert len(rgb) >= 2 and {1, 2} & set(rgb)


def test_unknown_scale_is_refused() -> None:
    with pytest.raises(ValueError, match="scale"):
        load_structure("huge")


def test_small_structure_is_a_strided_capped_subset_of_the_full_one() -> None:
    full, small = load_structure("full"), load_structure("small")
    sizes = {name: len(ids) for name, ids in small.splits.items()}
    assert sizes == {"train": 148, "val": 33, "test": 32, "available": 213}
    assert small.splits["train"][:3] == tuple(sorted(full.splits["train"]))[0:6:2]
    assert small.splits["test"] == tuple(sorted(full.splits["test"]))[::3]
    for pid in small.pids:
        # every id keeps exactly its real cameras, with at most 4 images in each
        assert small.cameras_of(pid) == full.cameras_of(pid)
        for cam in small.cameras_of(pid):
            assert small.counts[cam][pid] == min(4, full.counts[cam][pid])
    assert set(small.splits["available"]) == set(small.pids)
    # every test id is a query (infrared) and in the gallery of all-search (visible)
    for pid in small.splits["test"]:
        cams = set(small.cameras_of(pid))
        assert cams & set(INFRARED_CAMERAS) and cams & set(VISIBLE_CAMERAS)
    assert small.num_images() == 3_974
