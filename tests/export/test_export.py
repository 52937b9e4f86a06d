"""paenet-export end to end on the tiny stand-in: labels, provenance, policies, determinism."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from annotator.cli_export import main
from annotator.store.services.label_reads import get_identity
from annotator.store.services.label_writes import decide, set_label, set_labels
from paenet.attributes import ATTRIBUTE_KEYS
from paenet.data.manifest import MANIFEST_FILE, load_manifest
from paenet.data.manifest_build import read_dataset
from paenet.data.regdb_protocol import regdb_train_entries
from tests.export.conftest import Env, export


def truth(root: Path) -> dict[int, tuple[int, ...]]:
    with (root / "synth_attributes.csv").open() as f:
        return {int(r["pid"]): tuple(int(r[k]) for k in ATTRIBUTE_KEYS) for r in csv.DictReader(f)}


def train_pid(env: Env, split: str = "train") -> int:
    return read_dataset("sysu", env.sysu).split_ids(split)[0]


@pytest.mark.parametrize(
    "dataset, kind", [("sysu-synthetic", "sysu"), ("regdb-synthetic", "regdb")]
)
def test_ground_truth_round_trip(env: Env, tmp_path: Path, dataset: str, kind: str) -> None:
    root = env.sysu if kind == "sysu" else env.regdb
    out = tmp_path / "m"
    assert export(env, out, "--sources", f"synth-gt-{kind}", dataset=dataset) == 0
    assert main(["--check", str(out)]) == 0
    m = load_manifest(out)
    expected = truth(root)
    ds = read_dataset(kind, root)
    assert (m.dataset, m.kind, m.root) == (dataset, kind, root.resolve())
    assert {im.sample for im in m.images} == set(ds.samples)
    for im in m.images:
        assert im.attributes == expected[im.sample.pid], im.sample.path
        assert im.provenance == (f"source:synth-gt-{kind}",) * 8
    meta = m.metadata
    assert meta["labels"]["sources"] == [f"synth-gt-{kind}"]
    assert meta["labels"]["unknown_policy"] == "fail"
    assert meta["provenance"]["database"] == env.db_url
    assert meta["counts"]["images"] == len(ds.samples)
    if kind == "sysu":
        assert len(m.protocols()) == 40
        assert {p.params["sampling"] for p in m.protocols()} == {"seeded"}
        train = m.training_set()
        assert train.num_classes == len(ds.split_ids("train")) + len(ds.split_ids("val"))
    else:
        assert [p.params["direction"] for p in m.protocols(trial=4)] == ["v2t", "t2v"]
        assert set(m.training_set(trial=4).samples) == {
            e.sample for e in regdb_train_entries(ds, 4)
        }


def test_without_sources_imports_never_count(env: Env, tmp_path: Path, capsys) -> None:
    """Only the ground truth is in the database: the default (annotators) policy has
    nothing, so the export stops with a summary and writes nothing."""
    out = tmp_path / "m"
    assert export(env, out) == 1
    err = capsys.readouterr().err
    ds = read_dataset("sysu", env.sysu)
    n_train, n_val = len(ds.split_ids("train")), len(ds.split_ids("val"))
    assert f"{n_train + n_val} training identities have unknown" in err
    assert f"train {n_train} ids" in err and f"val {n_val} ids" in err and "--unknown drop" in err
    assert not out.exists()


def test_annotators_agreement_camera_override_and_decisions(env: Env, tmp_path: Path) -> None:
    """On a test id (test ids may stay unknown; every training id is unknown here and
    dropped, as no annotator labelled them)."""
    test_ids = read_dataset("sysu", env.sysu).split_ids("test")
    pid, cam = test_ids[0], 1
    gt = truth(env.sysu)[pid]
    with env.store.write() as s:
        v = get_identity(s, "sysu-synthetic", pid).version
        v = set_labels(s, "sysu-synthetic", pid, dict(zip(ATTRIBUTE_KEYS, gt)), "alice", v)
        v = set_labels(s, "sysu-synthetic", pid, dict(zip(ATTRIBUTE_KEYS, gt)), "bob", v)
        # alice: backpack differs in cam1 only; bob disagrees on glasses everywhere
        v = set_label(s, "sysu-synthetic", pid, "backpack", 1 - gt[6], "alice", v, camera=cam)
        v = set_label(s, "sysu-synthetic", pid, "glasses", 1 - gt[2], "bob", v)
        # decisions: gender for the identity, satchel only for cam5
        v = decide(s, "sysu-synthetic", pid, "gender", 1 - gt[0], "carol", v)
        decide(s, "sysu-synthetic", pid, "satchel", 1 - gt[7], "carol", v, camera=5)

    out = tmp_path / "m"
    assert export(env, out, "--unknown", "drop") == 0
    m = load_manifest(out)
    mine = [im for im in m.images if im.sample.pid == pid]
    assert {im.sample.pid for im in m.images} == set(test_ids)
    assert {im.sample.camera for im in mine} >= {cam, 5}
    for im in mine:
        c = im.sample.camera
        prov = dict(zip(ATTRIBUTE_KEYS, im.provenance))
        val = dict(zip(ATTRIBUTE_KEYS, im.attributes))
        assert (val["gender"], prov["gender"]) == (1 - gt[0], "decision:identity")
        assert (val["glasses"], prov["glasses"]) == (-1, "unknown:conflict")
        # alice's cam1 override disagrees with bob there: unknown in cam1, agreed elsewhere
        assert val["backpack"] == (-1 if c == cam else gt[6])
        assert prov["backpack"] == ("unknown:conflict" if c == cam else "annotators")
        assert val["satchel"] == (1 - gt[7] if c == 5 else gt[7])
        assert prov["satchel"] == ("decision:camera" if c == 5 else "annotators")
        assert (val["hair_length"], prov["hair_length"]) == (gt[1], "annotators")
    labels = m.metadata["labels"]
    assert labels["annotator_sources"] == ["annotator:alice", "annotator:bob"]
    assert labels["sources"] is None and labels["decisions_in_database"] == 2

    # named sources: alice first (her cam1 override wins there), then the ground truth
    out2 = tmp_path / "m2"
    assert export(env, out2, "--sources", "alice,synth-gt-sysu") == 0
    m2 = load_manifest(out2)
    for im in (im for im in m2.images if im.sample.pid == pid):
        c = im.sample.camera
        prov = dict(zip(ATTRIBUTE_KEYS, im.provenance))
        val = dict(zip(ATTRIBUTE_KEYS, im.attributes))
        assert val["backpack"] == (1 - gt[6] if c == cam else gt[6])
        assert prov["backpack"] == (
            "source:annotator:alice:camera" if c == cam else "source:annotator:alice"
        )
        assert (val["glasses"], prov["glasses"]) == (gt[2], "source:annotator:alice")
        assert prov["gender"] == "decision:identity"
    other = next(im for im in m2.images if im.sample.pid != pid)
    assert other.provenance == ("source:synth-gt-sysu",) * 8
    assert other.attributes == truth(env.sysu)[other.sample.pid]


def _unknown_glasses(env: Env, pid: int, dataset: str = "sysu-synthetic") -> None:
    with env.store.write() as s:
        v = get_identity(s, dataset, pid).version
        decide(s, dataset, pid, "glasses", -1, "carol", v)


@pytest.mark.parametrize("policy", ["fail", "drop", "0", "1"])
def test_unknown_policies(env: Env, tmp_path: Path, policy: str, capsys) -> None:
    pid, test_pid = train_pid(env, "val"), read_dataset("sysu", env.sysu).split_ids("test")[0]
    _unknown_glasses(env, pid)
    _unknown_glasses(env, test_pid)
    out = tmp_path / "m"
    rc = export(env, out, "--sources", "synth-gt-sysu", "--unknown", policy)
    if policy == "fail":
        assert rc == 1
        err = capsys.readouterr().err
        n_images = len(read_dataset("sysu", env.sysu).samples_of(pid))
        assert (
            f"1 training identities have unknown or undecided attributes (first ids: {pid})" in err
        )
        assert f"glasses            val 1 ids / {n_images} images" in err
        assert "hair_length" not in err  # only glasses is unknown
        assert not out.exists()
        return
    assert rc == 0
    m = load_manifest(out)
    labels = m.metadata["labels"]
    assert labels["unknown_policy"] == policy
    assert labels["unknown_before_policy"]["first_ids"] == [pid]
    g = ATTRIBUTE_KEYS.index("glasses")
    mine = [im for im in m.images if im.sample.pid == pid]
    theirs = [im for im in m.images if im.sample.pid == test_pid]
    if policy == "drop":
        assert mine == [] and labels["dropped_identities"] == [pid]
        assert pid not in m.training_set().pids
        assert {im.attributes[g] for im in theirs} == {-1}  # test ids may stay unknown
        assert labels["test_unknown_values"] == len(theirs)
        assert m.metadata["counts"]["unknown_images"] == {"glasses": {"test": len(theirs)}}
    else:
        for im in mine + theirs:
            assert (im.attributes[g], im.provenance[g]) == (int(policy), f"fill:{policy}")
        assert labels["filled_values"] == len(mine) + len(theirs)
        assert labels["dropped_identities"] == []


def test_regdb_drop_leaves_train_lists_only(env: Env, tmp_path: Path) -> None:
    pid = 3
    _unknown_glasses(env, pid, "regdb-synthetic")
    out = tmp_path / "m"
    args = ("--sources", "synth-gt-regdb", "--unknown", "drop")
    assert export(env, out, *args, dataset="regdb-synthetic") == 0
    m = load_manifest(out)
    assert any(im.sample.pid == pid for im in m.images)  # still a test id of some trials
    ds = read_dataset("regdb", env.regdb)
    in_train = [t for t in range(1, 11) if pid in ds.trial_ids("train", t)]
    assert in_train
    for t in in_train:
        assert pid not in m.training_set(trial=t).pids
        assert len(m.training_set(trial=t).pids) == len(ds.trial_ids("train", t)) - 1


def test_deterministic_bytes(env: Env, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        assert export(env, out, "--sources", "synth-gt-sysu", "--format", "paenet-official") == 0
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    assert "cam6_att.mat" in names
    for name in names:
        if name != MANIFEST_FILE:
            assert (a / name).read_bytes() == (b / name).read_bytes(), name
    ta, tb = ((d / MANIFEST_FILE).read_text().splitlines() for d in (a, b))
    diff = [(x, y) for x, y in zip(ta, tb) if x != y]
    assert len(ta) == len(tb) and len(diff) <= 1
    assert all('"created_at"' in x for x, _ in diff)
    ja = json.loads((a / MANIFEST_FILE).read_text())
    assert ja["provenance"]["options"]["formats"] == ["manifest", "paenet-official"]
    assert "out" not in ja["provenance"]["options"]


def test_password_is_not_recorded() -> None:
    from annotator.export.run import public_url

    url = "postgresql+psycopg://alice:s3cret@db.example:5432/labels"
    assert public_url(url) == "postgresql+psycopg://alice@db.example:5432/labels"
    assert "s3cret" not in public_url(url)
    assert public_url("sqlite:////x/a.sqlite3") == "sqlite:////x/a.sqlite3"


def test_a_model_source_counts_only_when_named(env: Env, tmp_path: Path, capsys) -> None:
    """Suggestions never enter the default policy; named as ``model:NAME`` they label
    what the sources before them leave unknown, with provenance ``source:NAME``."""
    from annotator.store.services.suggestions import SuggestionRow, write_suggestions

    ds = read_dataset("sysu", env.sysu)
    pids = sorted({s.pid for s in ds.samples})
    # the model says value 1 (p = 0.8) for every attribute of every id, camera 1 says 0
    rows = [SuggestionRow(p, k, 0, 0.8) for p in pids for k in ATTRIBUTE_KEYS]
    rows += [SuggestionRow(p, k, 1, 0.1) for p in pids for k in ATTRIBUTE_KEYS]
    with env.store.write() as s:
        write_suggestions(s, "sysu-synthetic", "m1", {"checkpoint": {"sha256": "0" * 64}}, rows)
    assert export(env, tmp_path / "none") == 1  # the default (annotators) still has nothing
    capsys.readouterr()
    out = tmp_path / "m"
    assert export(env, out, "--sources", "model:m1") == 0
    m = load_manifest(out)
    for im in m.images:
        cam1 = im.sample.camera == 1
        assert im.attributes == ((0,) * 8 if cam1 else (1,) * 8), im.sample.path
        assert im.provenance == (("source:m1:camera",) if cam1 else ("source:m1",)) * 8
    assert export(env, tmp_path / "x", "--sources", "model:nope") == 2
    assert "no model source 'nope' (have: m1)" in capsys.readouterr().err
