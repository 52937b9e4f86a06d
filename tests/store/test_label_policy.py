"""The label policy on hand-built identities: decisions first, named sources in order,
else the agreeing sources' value, and which kind of unknown is left."""

from __future__ import annotations

from types import MappingProxyType

from annotator.store.services.label_policy import (
    Basis,
    ResolvedLabel,
    effective_labels,
    resolve_label,
)
from annotator.store.services.records import IdentityView


def _view(labels: dict, decisions: dict | None = None) -> IdentityView:
    return IdentityView(
        dataset="d", dataset_root="/r", pid=1, split=None, version=0, reviewed=False,
        images=MappingProxyType({}), labels=labels, decisions=decisions or {},
    )  # fmt: skip


def test_decisions_come_first_camera_before_identity() -> None:
    view = _view({"a": {("gender", 0): 0}}, {("gender", 2): 1, ("gender", 0): 0})
    assert resolve_label(view, "gender", 2, agreeing=["a"]) == ResolvedLabel(
        1, Basis.DECISION_CAMERA
    )
    assert resolve_label(view, "gender", 3, sources=["a"]) == ResolvedLabel(
        0, Basis.DECISION_IDENTITY
    )


def test_named_sources_in_order_camera_override_first() -> None:
    view = _view(
        {
            "a": {("gender", 2): -1, ("gender", 0): -1},
            "b": {("gender", 2): -1, ("gender", 0): 1},
            "c": {("gender", 2): 0},
        }
    )
    # a has nothing known; b's unknown override gives way to its identity-wide value
    assert resolve_label(view, "gender", 2, sources=["a", "b", "c"]) == ResolvedLabel(
        1, Basis.SOURCE, "b"
    )
    assert resolve_label(view, "gender", 2, sources=["c", "b"]) == ResolvedLabel(
        0, Basis.SOURCE_CAMERA, "c"
    )
    assert resolve_label(view, "gender", 2, sources=["a"]) == ResolvedLabel(-1, Basis.UNKNOWN)


def test_agreement_unknown_and_conflict() -> None:
    view = _view(
        {
            "a": {("gender", 0): 1, ("glasses", 0): 1, ("backpack", 0): 1},
            "b": {("gender", 0): 1, ("glasses", 2): 0, ("backpack", 2): -1},
            "i": {("gender", 0): 0},
        }
    )
    assert resolve_label(view, "gender", 2, agreeing=["a", "b"]) == ResolvedLabel(1, Basis.AGREED)
    # b's override for camera 2 disagrees with a; on camera 3 b has nothing: a alone
    assert resolve_label(view, "glasses", 2, agreeing=["a", "b"]).basis is Basis.CONFLICT
    assert resolve_label(view, "glasses", 3, agreeing=["a", "b"]).value == 1
    # an unknown abstains; sources not asked never count
    assert resolve_label(view, "backpack", 2, agreeing=["a", "b"]).value == 1
    assert resolve_label(view, "gender", 2, agreeing=["a", "i"]).basis is Basis.CONFLICT
    assert resolve_label(view, "satchel", 2, agreeing=["a", "b"]) == ResolvedLabel(
        -1, Basis.UNKNOWN
    )


def test_effective_labels_one_source_takes_its_unknown_override() -> None:
    view = _view({"a": {("gender", 2): -1, ("gender", 0): 1}, "b": {("gender", 0): 0}})
    assert effective_labels(view, 2, "a")["gender"] == -1
    assert effective_labels(view, 3, "a")["gender"] == 1
    assert effective_labels(view, 3)["gender"] == -1  # a and b disagree
    assert effective_labels(view, 2)["gender"] == 0  # a abstains on camera 2
