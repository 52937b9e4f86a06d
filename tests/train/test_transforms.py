"""Decoding (:mod:`paenet.data.images`) and augmentation: shapes, dtypes, hand-checked
geometry, seeds, normalisation."""

from __future__ import annotations

import albumentations as A
import cv2
import numpy as np
import pytest
import torch

from paenet.data.images import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    ImageDecodeError,
    decode,
    normalize_batch,
    resize,
)
from paenet.train.transforms import MEAN_UINT8, SeededPipeline, build_pipeline, prepare


def ramp(h: int = 64, w: int = 32) -> np.ndarray:
    """Every pixel different: value = (row * w + col) mod 251 (+ channel offsets)."""
    base = (np.arange(h * w).reshape(h, w) % 251).astype(np.uint8)
    return np.stack([base, base + 1, base + 2], axis=2)


def test_decode_is_rgb_and_errors_name_the_file(tmp_path):
    img = np.zeros((20, 10, 3), np.uint8)
    img[..., 0] = 200  # red in RGB
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), img[..., ::-1])  # cv2 writes BGR
    out = decode(path)
    assert out.shape == (20, 10, 3) and out.dtype == np.uint8
    assert out[0, 0].tolist() == [200, 0, 0]
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    with pytest.raises(ImageDecodeError, match="bad.jpg"):
        decode(tmp_path / "bad.jpg")
    with pytest.raises(ImageDecodeError, match="missing.jpg"):
        decode(tmp_path / "missing.jpg")
    assert resize(out, (32, 16)).shape == (32, 16, 3)


def test_jpeg_decode_matches_opencv_and_a_truncated_jpeg_is_named(tmp_path):
    img = cv2.GaussianBlur(ramp(64, 32), (5, 5), 2)
    path = tmp_path / "a.jpg"
    cv2.imwrite(str(path), img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
    ours = decode(path).astype(int)
    theirs = cv2.imread(str(path), cv2.IMREAD_COLOR)[..., ::-1].astype(int)
    assert ours.shape == (64, 32, 3)
    assert np.abs(ours - theirs).max() <= 2  # two IDCT builds, same image (RGB, not BGR)
    assert np.abs(ours - img.astype(int)).mean() < 3
    path.write_bytes(path.read_bytes()[:40])  # a JPEG header and nothing else
    with pytest.raises(ImageDecodeError, match="a.jpg"):
        decode(path)


def test_pad_crop_is_a_shifted_window_of_the_zero_padded_image():
    image = ramp()
    infrared, visible = build_pipeline((64, 32), pad=4, flip=False)
    assert visible is None
    padded = np.zeros((72, 40, 3), np.uint8)
    padded[4:68, 4:36] = image
    assert np.array_equal(prepare(image, (64, 32), 4), padded)
    windows = {(y, x) for y in range(9) for x in range(9)}
    seen = set()
    for seed in range(30):
        out = infrared(padded, seed)
        assert out.shape == (64, 32, 3) and out.dtype == np.uint8
        match = [(y, x) for y, x in windows if np.array_equal(padded[y : y + 64, x : x + 32], out)]
        assert len(match) == 1
        seen.add(match[0])
    assert len(seen) > 5  # crops really move


def test_flip_and_seeds():
    image = ramp()
    flip_only, _ = build_pipeline((64, 32), pad=0, flip=True)
    outs = [flip_only(image, s) for s in range(20)]
    assert all(np.array_equal(o, image) or np.array_equal(o, image[:, ::-1]) for o in outs)
    assert any(np.array_equal(o, image[:, ::-1]) for o in outs)
    # every kind of draw: crop and erasing (numpy), flip and channel choice (Python)
    _, full = build_pipeline((64, 32), 4, True, random_erasing=0.5, channel_augmentation=0.5)
    padded = prepare(image, (64, 32), 4)
    first = full(padded, 7)
    others = [full(padded, s) for s in range(8, 12)]
    assert np.array_equal(first, full(padded, 7))  # same seed, same pixels
    assert not all(np.array_equal(first, o) for o in others)
    # a pipeline built separately (another worker) gives the same pixels for each seed,
    # whatever it augmented before
    _, again = build_pipeline((64, 32), 4, True, random_erasing=0.5, channel_augmentation=0.5)
    for s in range(20):
        again(padded, 100 + s)
        assert np.array_equal(full(padded, s), again(padded, s)), s


def test_channel_augmentation_only_for_visible_and_erasing_fills_the_mean():
    image = ramp()
    image[..., 1] = 17
    infrared, visible = build_pipeline((64, 32), pad=0, flip=False, channel_augmentation=1.0)
    assert visible is not None
    assert np.array_equal(infrared(image, 0), image)
    for seed in range(8):
        out = visible(image, seed)
        assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])
    erase, _ = build_pipeline((64, 32), pad=0, flip=False, random_erasing=1.0)
    out = erase(np.zeros((64, 32, 3), np.uint8), 3)
    changed = (out != 0).any(axis=2)
    assert changed.any()
    assert (out[changed] == np.array(MEAN_UINT8, np.uint8)).all()


def test_device_normalisation_equals_albumentations_normalize():
    image = ramp()
    worker, _ = build_pipeline((64, 32), pad=0, flip=False, normalize=True)
    expected = worker(image, 0)
    assert expected.dtype == np.float32
    ref = (image / 255.0 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    np.testing.assert_allclose(expected, ref, atol=1e-5)
    out = normalize_batch(torch.from_numpy(image)[None], torch.device("cpu"))
    assert out.dtype == torch.float32 and out.shape == (1, 3, 64, 32)
    np.testing.assert_allclose(out[0].numpy().transpose(1, 2, 0), expected, atol=1e-5)
    assert out.is_contiguous()
    cl = normalize_batch(torch.from_numpy(image)[None], torch.device("cpu"), channels_last=True)
    assert cl.is_contiguous(memory_format=torch.channels_last) and torch.equal(cl, out)
    assert isinstance(worker.compose, A.Compose)


def test_seeded_pipeline_reseeds_numpy_draws_too():
    """CoarseDropout draws from numpy (the pipeline's crop, flip, erasing from Python)."""
    pipe = SeededPipeline(A.Compose([A.CoarseDropout(p=1.0)], seed=0))
    image = ramp()
    a = pipe(image, 3)
    others = [pipe(image, s) for s in range(4, 9)]
    assert np.array_equal(a, pipe(image, 3))
    assert not all(np.array_equal(a, o) for o in others)
