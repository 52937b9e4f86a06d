"""The RegDB test protocol: per trial, all test images of one modality against the other.

Visible→thermal: query = the trial's ``test_visible_k.txt`` images, gallery = its
``test_thermal_k.txt`` images; thermal→visible swaps them. No sampling, no removal.
A model is trained on trial k's train files and evaluated on trial k only.
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType

from paenet.data.protocol import TestProtocol
from paenet.data.records import Modality
from paenet.data.regdb import TRIALS, IdxEntry, RegdbDataset


class Direction(StrEnum):
    VISIBLE_TO_THERMAL = "v2t"
    THERMAL_TO_VISIBLE = "t2v"


def regdb_protocol(
    ds: RegdbDataset, trial: int = 1, direction: Direction | str = Direction.VISIBLE_TO_THERMAL
) -> TestProtocol:
    direction = Direction(direction)
    if trial not in TRIALS:
        raise ValueError(f"RegDB trial must be in 1..10, got {trial}")
    visible = tuple(e.sample for e in ds.read_idx("test", Modality.VISIBLE, trial))
    thermal = tuple(e.sample for e in ds.read_idx("test", Modality.INFRARED, trial))
    query, gallery = (
        (visible, thermal) if direction is Direction.VISIBLE_TO_THERMAL else (thermal, visible)
    )
    return TestProtocol(
        dataset="regdb",
        query=query,
        gallery=gallery,
        skip_rules=(),
        unique_identity_cmc=False,
        params=MappingProxyType({"direction": direction.value, "trial": trial}),
    )


def regdb_train_entries(ds: RegdbDataset, trial: int) -> tuple[IdxEntry, ...]:
    """Trial ``trial``'s training images, visible then thermal, with their idx labels."""
    return ds.read_idx("train", Modality.VISIBLE, trial) + ds.read_idx(
        "train", Modality.INFRARED, trial
    )
