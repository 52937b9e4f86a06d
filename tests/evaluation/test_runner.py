from __future__ import annotations

from pathlib import PurePosixPath
from types import MappingProxyType

import numpy as np
import pytest

from paenet.data.protocol import SkipRule, TestProtocol
from paenet.data.records import Modality, Sample
from paenet.evaluation import evaluate_distances, runner
from paenet.evaluation.features import FeatureBank
from paenet.evaluation.runner import evaluate_protocols, setting_of, summarize


def _s(pid: int, cam: int, k: int) -> Sample:
    mod = Modality.INFRARED if cam in (3, 6) else Modality.VISIBLE
    return Sample(PurePosixPath(f"cam{cam}/{pid:04d}/{k:04d}.jpg"), pid, cam, mod)


def _protocols(rng: np.random.Generator) -> tuple[list[TestProtocol], list[Sample]]:
    query = tuple(_s(p, int(rng.choice([3, 6])), k) for p in range(6) for k in range(3))
    pool = [_s(p, c, k) for p in range(6) for c in (1, 2, 4, 5) for k in range(4)]
    out = []
    for mode, cams in (("all", (1, 2, 4, 5)), ("indoor", (1, 2))):
        for trial in range(3):
            picks = [s for s in pool if s.camera in cams and rng.random() < 0.5]
            out.append(
                TestProtocol(
                    "sysu",
                    query,
                    tuple(picks),
                    (SkipRule(3, 2, "room"),),
                    True,
                    MappingProxyType(
                        {"mode": mode, "shots": 1, "trial": trial, "sampling": "seeded"}
                    ),
                )
            )
    return out, list(query) + pool


def test_shared_distance_matrix_gives_the_per_protocol_numbers(monkeypatch) -> None:
    rng = np.random.default_rng(0)
    protocols, samples = _protocols(rng)
    feats = rng.standard_normal((len(samples), 16)).astype(np.float32)
    feats /= np.linalg.norm(feats, axis=1, keepdims=True)
    bank = FeatureBank(tuple(samples[::-1]), feats[::-1].copy(), None, "predicted")
    shared = evaluate_protocols(bank, protocols)
    monkeypatch.setattr(runner, "SHARED_DISTANCE_ELEMENTS", 0)
    direct = evaluate_protocols(bank, protocols)
    for p, a, b in zip(protocols, shared, direct, strict=True):
        want = evaluate_distances(bank.distances(p.query, p.gallery), p)
        for got in (a, b):
            assert got.metrics.mAP == pytest.approx(want.mAP, abs=1e-12)
            assert got.metrics.cmc.tolist() == want.cmc.tolist()


def test_summary_mean_and_sample_std_by_hand() -> None:
    rng = np.random.default_rng(1)
    protocols, samples = _protocols(rng)
    feats = rng.standard_normal((len(samples), 8)).astype(np.float32)
    bank = FeatureBank(tuple(samples), feats, None, "gt")
    results = evaluate_protocols(bank, protocols)
    summary = summarize(results)
    assert [s.setting for s in summary] == ["all-search single-shot", "indoor-search single-shot"]
    maps = [r.metrics.mAP for r in results[:3]]
    m = sum(maps) / 3
    assert summary[0].mean["mAP"] == pytest.approx(m)
    assert summary[0].std["mAP"] == pytest.approx((sum((x - m) ** 2 for x in maps) / 2) ** 0.5)
    assert summary[0].trials == (0, 1, 2) and summary[0].sampling == "seeded"
    one = summarize(results[:1])[0]
    assert one.std["rank1"] == 0.0  # a single trial has no spread


def test_setting_names() -> None:
    p = TestProtocol("regdb", (), (), params=MappingProxyType({"direction": "t2v", "trial": 4}))
    assert setting_of(p) == "thermal→visible"
    q = TestProtocol("sysu", (), (), params=MappingProxyType({"mode": "indoor", "shots": 10}))
    assert setting_of(q) == "indoor-search multi-shot"
