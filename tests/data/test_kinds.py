"""The registry of dataset kinds and what each kind object answers (hand-known values)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from types import MappingProxyType

import pytest

from paenet.data import regdb, sysu
from paenet.data.kind_spec import ProtocolChoiceError
from paenet.data.kinds import (
    CAMERAS,
    FOLDERS,
    KINDS,
    DatasetKind,
    identity_split,
    identity_splits,
    kind_of,
    kind_spec,
    kind_specs,
    read_dataset,
    register_kind,
)
from paenet.data.protocol import TestProtocol
from paenet.data.records import Modality, Sample
from paenet.data.regdb_kind import RegdbKind
from paenet.data.sysu_kind import SysuKind
from paenet.data.sysu_protocol import SKIP_RULES
from tests.data.trees import small_sysu, write_regdb


def test_registry_holds_one_object_per_kind_by_name() -> None:
    assert KINDS == ("sysu", "regdb")
    assert [type(k) for k in kind_specs()] == [SysuKind, RegdbKind]
    assert kind_spec("sysu") is kind_spec(DatasetKind.SYSU)
    assert DatasetKind("regdb") is DatasetKind.REGDB and DatasetKind.REGDB == "regdb"
    assert dict(FOLDERS) == {"sysu": "SYSU-MM01", "regdb": "RegDB"}
    assert CAMERAS["sysu"] is sysu.CAMERAS and CAMERAS["regdb"] is regdb.CAMERAS
    assert identity_splits("sysu") == ("train", "val", "test") and identity_splits("regdb") == ()
    assert identity_split("sysu", "val") == "val"


def test_an_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"one of \['sysu', 'regdb'\], got 'llcm'"):
        kind_spec("llcm")
    with pytest.raises(ValueError, match="already registered"):
        register_kind(SysuKind())


def test_sysu_answers_from_its_split_files(tmp_path: Path) -> None:
    ds = read_dataset("sysu", small_sysu(tmp_path / "SYSU-MM01"))
    kind = kind_of(ds)
    assert isinstance(kind, SysuKind)
    assert kind.train_ids(ds) == (1, 2, 3, 4, 5, 7, 8, 9)  # train + val
    assert kind.split_of(ds, 3) == "val" and kind.split_of(ds, 6) == "test"
    assert kind.splits_of(ds) == {
        1: "train", 2: "train", 3: "val", 4: "train", 5: "train", 6: "test",
        7: "train", 8: "train", 9: "val", 10: "test", 11: "test",
    }  # fmt: skip
    protocols, train_lists = kind.dataset_protocols(ds)
    assert len(protocols) == 40 and train_lists == {}
    assert {p.params["sampling"] for p in protocols} == {"seeded"}
    assert kind.sampling(None) == "seeded"
    assert all(p.skip_rules == SKIP_RULES and p.unique_identity_cmc for p in protocols)
    assert kind.manifest_splits == {None, "train", "val", "test"}


def test_sysu_validation_protocol_applies_the_one_same_room_rule() -> None:
    q = Sample(PurePosixPath("cam3/0003/0001.jpg"), 3, 3, Modality.INFRARED)
    g = Sample(PurePosixPath("cam2/0003/0001.jpg"), 3, 2, Modality.VISIBLE)
    p = kind_spec("sysu").validation_protocol([q], [g], "val")
    assert p.skip_rules == SKIP_RULES and (
        SKIP_RULES[0].query_camera,
        SKIP_RULES[0].gallery_camera,
    ) == (3, 2)
    assert p.unique_identity_cmc and p.dataset == "sysu"
    assert dict(p.params) == {"split": "val", "mode": "all", "direction": "ir->visible"}
    assert not p.keep_mask([3], [2])[0, 0]
    r = kind_spec("regdb").validation_protocol([q], [g], "val")
    assert r.skip_rules == () and not r.unique_identity_cmc


def test_regdb_answers_per_trial(tmp_path: Path) -> None:
    ds = read_dataset("regdb", write_regdb(tmp_path / "RegDB", num_ids=8))
    kind = kind_of(ds)
    assert isinstance(kind, RegdbKind)
    assert kind.train_ids(ds) == tuple(range(1, 9))  # each id trains in some trial
    assert kind.split_of(ds, 4) is None and kind.manifest_splits == {None}
    protocols, train_lists = kind.dataset_protocols(ds)
    assert sorted(train_lists) == list(range(1, 11)) and len(protocols) == 20
    # trial 3 rotates the ids by 3: train = 4..7, test = 1, 2, 3, 8
    assert {s.pid for s in train_lists[3]} == {4, 5, 6, 7}
    trial3 = [p for p in protocols if p.params["trial"] == 3]
    assert {s.pid for p in trial3 for s in p.query} == {1, 2, 3, 8}
    assert kind.sampling(None) == "idx files"
    with pytest.raises(ValueError, match="no official gallery permutations"):
        kind.load_permutations(tmp_path / "rand_perm_cam.mat")


def test_training_selection_rules() -> None:
    s, r = kind_spec("sysu"), kind_spec("regdb")
    assert s.training_problem("d", None, "val") is None
    assert s.training_problem("d", 2, None) == "data.trial is only for RegDB; d is SYSU-MM01"
    assert r.training_problem("d", None, None).startswith("RegDB trains one model per trial")
    assert r.training_problem("d", 2, "val") == (
        "RegDB has no validation split; leave data.val_split null"
    )
    assert r.training_problem("d", 2, None) is None
    assert s.training_splits(("train",)) == ["train"] and r.training_splits(("train",)) == []
    assert s.protocol_trial(None) is None and s.protocol_trial(9) == 9
    with pytest.raises(ValueError, match="SYSU-MM01 trial must be in 0..9, got 10"):
        s.protocol_trial(10)
    with pytest.raises(ValueError, match="RegDB needs a trial in 1..10, got None"):
        r.protocol_trial(None)
    with pytest.raises(ValueError, match="chosen by split, not by trial"):
        s.training_rows(None, ("train",), 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"splits must be among \('train', 'val', 'test'\)"):
        s.training_rows(None, ("all",), None)  # type: ignore[arg-type]


class _Protocols:
    """A stand-in manifest that only lists protocols: two per trial."""

    def protocols(self, trial: int | None = None) -> list[TestProtocol]:
        trials = range(10) if trial is None else (trial,)
        return [
            TestProtocol("x", (), (), params=MappingProxyType({"trial": t, "n": n}))
            for t in trials
            for n in range(2)
        ]


def test_test_protocols_by_kind() -> None:
    m = _Protocols()
    s, r = kind_spec("sysu"), kind_spec("regdb")
    got, notes = s.select_test_protocols(m, [2, 5], None, False)  # type: ignore[arg-type]
    assert [p.params["trial"] for p in got] == [2, 2, 5, 5] and notes == []
    with pytest.raises(ProtocolChoiceError, match=r"SYSU-MM01 trials are 0..9, got \[10\]"):
        s.select_test_protocols(m, [1, 10], None, False)  # type: ignore[arg-type]
    got, notes = r.select_test_protocols(m, None, 4, False)  # type: ignore[arg-type]
    assert [p.params["trial"] for p in got] == [4, 4] and notes == []
    with pytest.raises(ProtocolChoiceError, match="records none, pass --trial"):
        r.select_test_protocols(m, None, None, False)  # type: ignore[arg-type]
    with pytest.raises(ProtocolChoiceError, match="trained on RegDB trial 4; trial 5's"):
        r.select_test_protocols(m, [5], 4, False)  # type: ignore[arg-type]
    got, notes = r.select_test_protocols(m, [5], 4, True)  # type: ignore[arg-type]
    assert [p.params["trial"] for p in got] == [5, 5]
    assert notes == [
        "FORCED: trial 5 evaluated with a model trained on trial 4 "
        "(its test identities overlap that training set)"
    ]
    assert s.describe_sampling(["official", "seeded"]) == "official,seeded"
    assert r.describe_sampling(["none"]) == "none (RegDB)"
