"""Full-scale layouts checked from the plan, without drawing a pixel."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from paenet.data import regdb
from paenet.data.records import Modality
from paenet.synth import SynthConfig, make_plan

PER_CAMERA = {1: 6289, 2: 7528, 3: 9812, 4: 8030, 5: 8224, 6: 5980}
REGDB_NAME = re.compile(r"^(male|female)_(front|back)_(v|t)_\d{2}_(\d+)\.bmp$")


def test_full_sysu_plan_copies_the_real_structure() -> None:
    plan = make_plan(SynthConfig(layout="sysu", out=Path("unused"), scale="full"))
    assert len(plan.jobs) == 45_863
    assert plan.images_per_camera() == PER_CAMERA
    assert len({j.path for j in plan.jobs}) == len(plan.jobs)
    frames: dict[tuple[int, int], list[int]] = {}
    for job in plan.jobs:
        cam, pid, name = job.path.split("/")
        assert (
            cam == f"cam{job.camera}" and pid == f"{job.pid:04d}" and name == f"{job.frame:04d}.jpg"
        )
        frames.setdefault((job.camera, job.pid), []).append(job.frame)
    assert all(sorted(f) == list(range(1, len(f) + 1)) for f in frames.values())
    modalities = Counter(j.modality for j in plan.jobs)
    assert modalities == {Modality.VISIBLE: 30_071, Modality.INFRARED: 15_792}
    sizes = {k: len(v.split(",")) for k, v in plan.text_files.items()}
    assert sizes == {
        "exp/train_id.txt": 296,
        "exp/val_id.txt": 99,
        "exp/test_id.txt": 96,
        "exp/available_id.txt": 491,
    }
    assert len(plan.people) == 513


def test_full_regdb_plan() -> None:
    plan = make_plan(SynthConfig(layout="regdb", out=Path("unused"), scale="full", seed=3))
    assert len(plan.people) == 412
    assert len(plan.jobs) == 412 * 20
    for job in plan.jobs:
        folder, pid, name = job.path.split("/")
        m = REGDB_NAME.match(name)
        assert m and int(m.group(4)) == job.pid == int(pid)
        assert folder == regdb.MODALITY_DIRS[job.modality]
        assert m.group(3) == ("v" if job.modality is Modality.VISIBLE else "t")
        assert m.group(1) == ("female" if plan.people[job.pid].attr("gender") else "male")
    assert len(plan.text_files) == 40
    for trial in regdb.TRIALS:
        ids = {}
        for part in ("train", "test"):
            for modality in regdb.MODALITY_DIRS:
                rel = regdb.idx_file(Path(), part, modality, trial).as_posix()
                lines = plan.text_files[rel].splitlines()
                assert len(lines) == 2060
                pids = [int(line.split(" ")[0].split("/")[1]) for line in lines]
                labels = [int(line.split(" ")[1]) for line in lines]
                order = sorted(set(pids))
                assert labels == [order.index(p) for p in pids]
                ids[part, modality] = set(pids)
        assert ids["train", Modality.VISIBLE] == ids["train", Modality.INFRARED]
        assert len(ids["train", Modality.VISIBLE]) == 206
        assert not ids["train", Modality.VISIBLE] & ids["test", Modality.VISIBLE]


def test_regdb_trials_differ_and_follow_the_seed() -> None:
    a = make_plan(SynthConfig(layout="regdb", out=Path("x"), scale="tiny", seed=0)).text_files
    b = make_plan(SynthConfig(layout="regdb", out=Path("x"), scale="tiny", seed=0)).text_files
    c = make_plan(SynthConfig(layout="regdb", out=Path("x"), scale="tiny", seed=1)).text_files
    assert a == b and a != c
    assert a["idx/train_visible_1.txt"] != a["idx/train_visible_2.txt"]


def test_small_plans() -> None:
    sysu = make_plan(SynthConfig(layout="sysu", out=Path("unused"), scale="small"))
    assert len(sysu.people) == 213 and len(sysu.jobs) == 3_974
    assert sysu.notes["split_sizes"] == {"train": 148, "val": 33, "test": 32, "available": 213}
    assert max(Counter((j.pid, j.camera) for j in sysu.jobs).values()) == 4
    # every 3rd official test id: 6, (10, 17,) 21, …
    assert sysu.text_files["exp/test_id.txt"].split(",")[:2] == ["6", "21"]
    reg = make_plan(SynthConfig(layout="regdb", out=Path("unused"), scale="small"))
    assert len(reg.people) == 206 and len(reg.jobs) == 206 * 8
    rel = regdb.idx_file(Path(), "test", Modality.INFRARED, 1).as_posix()
    assert len({line.split(" ")[1] for line in reg.text_files[rel].splitlines()}) == 103
