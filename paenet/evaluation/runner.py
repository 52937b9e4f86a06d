"""Score a feature bank on a list of protocols and summarise trials per setting.

A *setting* is a protocol without its trial (SYSU: search mode × shots; RegDB: the
direction). Its summary is the mean and the sample standard deviation (ddof = 1; 0
for a single trial) over its trials of rank-1/5/10/20, mAP and mINP (fractions in
[0, 1]), and the mean CMC curve.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from paenet.data.protocol import TestProtocol
from paenet.evaluation.features import FeatureBank
from paenet.evaluation.metrics import RetrievalMetrics, evaluate_distances

log = logging.getLogger(__name__)

METRICS: tuple[str, ...] = ("rank1", "rank5", "rank10", "rank20", "mAP", "mINP")
_DIRECTIONS = {"v2t": "visible→thermal", "t2v": "thermal→visible"}
_SHOTS = {1: "single-shot", 10: "multi-shot"}


def setting_of(protocol: TestProtocol) -> str:
    """``all-search single-shot``, ``visible→thermal``, …: the protocol minus its trial."""
    p = protocol.params
    if "direction" in p:
        return _DIRECTIONS.get(str(p["direction"]), str(p["direction"]))
    if "mode" in p:
        shots = int(p.get("shots", 1))  # type: ignore[call-overload]
        return f"{p['mode']}-search {_SHOTS.get(shots, f'{shots}-shot')}"
    rest = {k: v for k, v in p.items() if k not in ("trial", "sampling")}
    return "/".join(f"{k}={v}" for k, v in rest.items()) or protocol.dataset


@dataclass(frozen=True)
class ProtocolResult:
    protocol: str
    setting: str
    trial: int | None
    sampling: str | None
    metrics: RetrievalMetrics


@dataclass(frozen=True)
class SettingSummary:
    setting: str
    trials: tuple[int | None, ...]
    mean: Mapping[str, float]
    std: Mapping[str, float]
    cmc_mean: np.ndarray
    cmc_std: np.ndarray
    sampling: str | None

    def as_dict(self) -> dict[str, object]:
        return {
            "setting": self.setting,
            "trials": list(self.trials),
            "sampling": self.sampling,
            "mean": dict(self.mean),
            "std": dict(self.std),
            "cmc_mean": self.cmc_mean.tolist(),
            "cmc_std": self.cmc_std.tolist(),
        }


#: Largest shared ``[queries, gallery images]`` distance matrix kept (float32 elements).
SHARED_DISTANCE_ELEMENTS = 1 << 27


def evaluate_protocols(
    bank: FeatureBank, protocols: Sequence[TestProtocol], max_rank: int = 20
) -> list[ProtocolResult]:
    """Distances ``-q·g`` from the bank, then :func:`evaluate_distances`, per protocol.

    Protocols with the same query list (SYSU: all 40 settings) share one distance matrix
    against the union of their galleries, computed once; each protocol takes its columns.
    """
    query_rows = [bank.rows(p.query) for p in protocols]
    keys = [rows.tobytes() for rows in query_rows]
    union: dict[bytes, set[int]] = {}
    gallery_rows = []
    for key, proto in zip(keys, protocols, strict=True):
        gallery_rows.append(bank.rows(proto.gallery))
        union.setdefault(key, set()).update(gallery_rows[-1].tolist())
    shared: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
    out = []
    for key, q_rows, g_rows, proto in zip(keys, query_rows, gallery_rows, protocols, strict=True):
        if len(q_rows) * len(union[key]) <= SHARED_DISTANCE_ELEMENTS:
            if key not in shared:
                columns = np.array(sorted(union[key]), dtype=np.int64)
                full = -(bank.features[q_rows] @ bank.features[columns].T)
                shared[key] = (full, columns)
            full, columns = shared[key]
            dist = np.take(full, np.searchsorted(columns, g_rows), axis=1)
        else:
            dist = -(bank.features[q_rows] @ bank.features[g_rows].T)
        out.append(protocol_result(proto, evaluate_distances(dist, proto, max_rank)))
        log.debug("%s: %s", proto.name, out[-1].metrics.as_dict())
    return out


def protocol_result(proto: TestProtocol, metrics: RetrievalMetrics) -> ProtocolResult:
    """``metrics`` of ``proto`` labelled with its setting, trial and sampling."""
    trial = proto.params.get("trial")
    sampling = proto.params.get("sampling")
    return ProtocolResult(
        protocol=proto.name,
        setting=setting_of(proto),
        trial=None if trial is None else int(trial),  # type: ignore[call-overload]
        sampling=None if sampling is None else str(sampling),
        metrics=metrics,
    )


def summarize(results: Sequence[ProtocolResult]) -> list[SettingSummary]:
    """One summary per setting, in order of first appearance."""
    groups: dict[str, list[ProtocolResult]] = {}
    for r in results:
        groups.setdefault(r.setting, []).append(r)
    out = []
    for setting, rs in groups.items():
        table = np.array([[r.metrics.as_dict()[m] for m in METRICS] for r in rs], dtype=float)
        ddof = 1 if len(rs) > 1 else 0
        cmc = np.stack([r.metrics.cmc for r in rs])
        samplings = {r.sampling for r in rs}
        out.append(
            SettingSummary(
                setting=setting,
                trials=tuple(r.trial for r in rs),
                mean=dict(zip(METRICS, table.mean(axis=0).tolist(), strict=True)),
                std=dict(zip(METRICS, table.std(axis=0, ddof=ddof).tolist(), strict=True)),
                cmc_mean=cmc.mean(axis=0),
                cmc_std=cmc.std(axis=0, ddof=ddof),
                sampling=samplings.pop() if len(samplings) == 1 else "mixed",
            )
        )
    return out
