"""Training images from a manifest, the decoded cache, the Dataset and its DataLoader."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from paenet.data.images import decode
from paenet.data.manifest import load_manifest
from paenet.data.records import Modality
from paenet.train.config import DataConfig
from paenet.train.data import DecodedCache, TrainDataset, TrainImages, build_loader
from paenet.train.sampler import CrossModalitySampler
from paenet.train.transforms import prepare

SIZE = (64, 32)


@pytest.fixture(scope="module")
def images(stand_ins) -> TrainImages:
    manifest = load_manifest(stand_ins["sysu"])
    return TrainImages.from_training_set(manifest, manifest.training_set(("train",)))


def test_train_images_follow_the_manifest(stand_ins, images):
    manifest = load_manifest(stand_ins["sysu"])
    training = manifest.training_set(("train",))
    assert len(images) == len(training.images)
    first = training.images[0]
    assert images.paths[0] == manifest.root / first.sample.path
    assert images.modality[0] == Modality(first.sample.modality).model_index
    assert images.attributes.dtype == np.int8 and images.attributes.shape == (len(images), 8)
    assert set(images.modality.tolist()) == {0, 1}


def test_decoded_cache_holds_the_resized_images_and_is_reused(tmp_path, images):
    cache = DecodedCache.ensure(tmp_path, "ab" * 32, images, SIZE, 4, progress=False)
    for i in (0, len(images) // 2, len(images) - 1):
        assert np.array_equal(cache[i], prepare(decode(images.paths[i]), SIZE, 4))
        assert cache[i].shape == (72, 40, 3)
    stamp = cache.path.stat().st_mtime_ns
    again = DecodedCache.ensure(tmp_path, "ab" * 32, images, SIZE, 4, progress=False)
    assert again.path == cache.path and again.path.stat().st_mtime_ns == stamp
    other = DecodedCache.ensure(tmp_path, "cd" * 32, images, SIZE, 4, progress=False)
    assert other.path != cache.path  # keyed by the manifest hash (and size, pad)
    # A sidecar that does not match forces a rebuild.
    meta = cache.path.with_suffix(".json")
    meta.write_text(json.dumps({"manifest_hash": "x"}))
    DecodedCache.ensure(tmp_path, "ab" * 32, images, SIZE, 4, progress=False)
    assert json.loads(meta.read_text())["manifest_hash"] == "ab" * 32
    assert not list(tmp_path.glob(".*.tmp"))


def test_dataset_items_are_identical_with_and_without_the_cache(tmp_path, images):
    config = DataConfig(input_size=SIZE, pad=4, random_erasing=0.5, channel_augmentation=0.5)
    cache = DecodedCache.ensure(tmp_path, "ab" * 32, images, SIZE, 4, progress=False)
    plain, cached = TrainDataset(images, config), TrainDataset(images, config, cache)
    for item in [(0, 11), (5, 12), (len(images) - 1, 13)]:
        a, b = plain[item], cached[item]
        assert torch.equal(a[0], b[0]) and a[1:3] == b[1:3]
        assert a[0].dtype == torch.uint8 and a[0].shape == (*SIZE, 3)


def test_loader_yields_collated_pk_batches_whatever_the_worker_count(images):
    config = DataConfig(input_size=SIZE, num_ids=3, per_modality=2, workers=0)
    sampler = CrossModalitySampler(images.labels, images.modality, 3, 2, seed=0)
    batches = list(build_loader(TrainDataset(images, config), sampler, config, cuda=False))
    assert len(batches) == len(sampler)
    b = batches[0]
    assert b.images.shape == (12, *SIZE, 3) and b.images.dtype == torch.uint8
    assert b.labels.dtype == torch.int64 and b.attributes.dtype == torch.int8
    assert b.modality.tolist() == [0] * 6 + [1] * 6
    two = DataConfig(input_size=SIZE, num_ids=3, per_modality=2, workers=2)
    sampler2 = CrossModalitySampler(images.labels, images.modality, 3, 2, seed=0)
    first = next(iter(build_loader(TrainDataset(images, two), sampler2, two, cuda=False)))
    assert torch.equal(first.images, b.images) and torch.equal(first.index, b.index)


def test_batch_attributes_are_the_rows_of_the_training_array(images):
    config = DataConfig(input_size=SIZE, num_ids=3, per_modality=2, workers=0)
    sampler = CrossModalitySampler(images.labels, images.modality, 3, 2, seed=0)
    for b in build_loader(TrainDataset(images, config), sampler, config, cuda=False):
        expected = np.stack([images.attributes[i].copy() for i in b.index.tolist()])
        assert b.attributes.dtype == torch.int8
        assert torch.equal(b.attributes, torch.from_numpy(expected))
