"""The cross-modality P×K sampler: layout, epoch length, coverage, determinism, sharding."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

from paenet.data.records import Modality
from paenet.losses import check_layout
from paenet.train.sampler import CrossModalitySampler, SamplerError

V = Modality.VISIBLE.model_index
IR = Modality.INFRARED.model_index


def toy_set() -> tuple[np.ndarray, np.ndarray]:
    """6 classes; class c has c+2 visible and c+1 infrared images; class 6 visible only."""
    labels, modality = [], []
    for c in range(6):
        labels += [c] * (c + 2) + [c] * (c + 1)
        modality += [V] * (c + 2) + [IR] * (c + 1)
    labels += [6, 6]
    modality += [V, V]
    return np.array(labels), np.array(modality)


def test_every_batch_has_the_layout_the_losses_check():
    labels, modality = toy_set()
    sampler = CrossModalitySampler(labels, modality, num_ids=3, per_modality=2, seed=0)
    batches = list(sampler)
    infrared = int((modality == IR).sum())  # 1+2+...+6 = 21
    assert len(batches) == len(sampler) == -(-infrared // 6) == 4
    for batch in batches:
        index = np.array([i for i, _ in batch])
        layout = check_layout(torch.from_numpy(labels[index]), torch.from_numpy(modality[index]))
        assert (layout.num_ids, layout.per_modality) == (3, 2)
        assert 6 not in labels[index]  # one-sided class never drawn
        assert all(0 <= seed < 2**31 for _, seed in batch)


def test_images_of_an_id_are_shown_before_any_repeats():
    labels, modality = toy_set()
    sampler = CrossModalitySampler(labels, modality, 2, 2, seed=3)
    counts = {}
    for batch in sampler:
        for i, _ in batch:
            counts.setdefault((labels[i], modality[i]), Counter())[i] += 1
    assert sum(sum(c.values()) for c in counts.values()) == len(sampler) * 8
    for (c, m), counter in counts.items():
        pool = np.flatnonzero((labels == c) & (modality == m))
        shown = [counter[i] for i in pool]  # 0 for an image not shown
        assert max(shown) - min(shown) <= 1, (c, m, counter)


def test_same_seed_same_plan_other_seed_other_plan():
    labels, modality = toy_set()

    def plans(seed):
        s = CrossModalitySampler(labels, modality, 3, 2, seed=seed)
        out = []
        for epoch in range(3):
            s.set_epoch(epoch)
            out.append(list(s))
        return out

    assert plans(5) == plans(5)
    assert plans(5) != plans(6)
    a = plans(5)
    assert a[0] != a[1]  # epochs differ


def test_state_dict_replays_the_epoch_and_skip_resumes_inside_it():
    labels, modality = toy_set()
    s = CrossModalitySampler(labels, modality, 3, 2, seed=1)
    s.set_epoch(0)
    list(s)
    s.set_epoch(1)
    state = s.state_dict()
    epoch1 = list(s)
    s.set_epoch(2)
    epoch2 = list(s)
    fresh = CrossModalitySampler(labels, modality, 3, 2, seed=99)
    fresh.load_state_dict(state)
    fresh.set_epoch(1)
    fresh.skip(2)
    assert list(fresh) == epoch1[2:]
    fresh.set_epoch(2)
    assert list(fresh) == epoch2


def test_ranks_share_one_plan_without_overlap():
    labels, modality = toy_set()
    full = CrossModalitySampler(labels, modality, 2, 1, 4, 7, rank=0, world_size=2)
    whole = full.plan(0).batches
    assert full.batches_in_plan == 6  # cut to a multiple of the world size 2
    shards = [
        list(CrossModalitySampler(labels, modality, 2, 1, 4, 7, rank=r, world_size=2))
        for r in (0, 1)
    ]
    assert [tuple(b) for b in shards[0]] == list(whole[0:6:2])
    assert [tuple(b) for b in shards[1]] == list(whole[1:6:2])


def test_too_few_identities_is_a_clear_error():
    labels, modality = toy_set()
    with pytest.raises(SamplerError, match="only 6 identities have both"):
        CrossModalitySampler(labels, modality, num_ids=7, per_modality=1, seed=0)
