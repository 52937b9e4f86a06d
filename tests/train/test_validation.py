"""Validation scores a model with ``paenet-eval``'s evaluator (#22): the same numbers as
an image-by-image reference through :meth:`PAENet.infer`, and the model's mode kept."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from paenet.data.images import decode, normalize_batch, resize
from paenet.data.manifest import load_manifest
from paenet.evaluation import evaluate_distances
from paenet.evaluation.attribute_quality import attribute_quality
from paenet.model import modality_tensor
from paenet.model.loading import load_trained_model
from paenet.train.validation import evaluate, validation_set
from tests.evaluation.conftest import write_untrained_checkpoint

SIZE = (64, 32)


@pytest.mark.parametrize("source", ["predicted", "gt"])
def test_validation_scores_equal_an_image_by_image_reference(stand_ins, tmp_path, source) -> None:
    ckpt = write_untrained_checkpoint(tmp_path / "m.pt", stand_ins["sysu"], seed=2)
    model = load_trained_model(ckpt).model
    manifest = load_manifest(stand_ins["sysu"])
    val = validation_set(manifest, "val")
    model.train()
    scores = evaluate(model, val, SIZE, torch.device("cpu"), source)
    assert model.training  # put back as it was
    model.eval()
    feats, logits = [], []
    with torch.no_grad():
        for i, path in enumerate(val.paths):
            x = normalize_batch(torch.from_numpy(resize(decode(path, val.root), SIZE))[None],
                                torch.device("cpu"))  # fmt: skip
            attrs = torch.from_numpy(val.attributes[i : i + 1]).float()
            out = model.infer(x, torch.from_numpy(val.modality[i : i + 1]), source, attrs)
            feats.append(torch.nn.functional.normalize(out.retrieval, dim=1)[0].numpy())
            logits.append(out.attribute_logits[0].numpy())
    feats_np = np.stack(feats)
    nq = len(val.protocol.query)
    want = evaluate_distances(-(feats_np[:nq] @ feats_np[nq:].T), val.protocol)
    got = scores.retrieval
    # batches of 64 against batches of 1: equal up to float rounding (ranks may flip
    # only between near-ties, which an untrained model's features do not have here)
    assert got.mAP == pytest.approx(want.mAP, abs=1e-6)
    assert got.cmc.tolist() == pytest.approx(want.cmc.tolist(), abs=1e-6)
    assert got.num_valid_queries == want.num_valid_queries
    quality = attribute_quality(np.stack(logits), val.attributes, val.attribute_keys)
    assert scores.attribute_balanced_accuracy == pytest.approx(
        quality.mean_balanced_accuracy, abs=1e-6
    )
    assert np.array_equal(
        modality_tensor(s.modality for s in (*val.protocol.query, *val.protocol.gallery)),
        torch.from_numpy(val.modality),
    )
