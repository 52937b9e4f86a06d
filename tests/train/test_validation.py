"""Validation scores a model with ``paenet-eval``'s evaluator (#22): the same numbers as
a reference written out here through :meth:`PAENet.infer`, and the model's mode kept."""

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
def test_validation_scores_equal_a_written_out_reference(stand_ins, tmp_path, source) -> None:
    torch.manual_seed(0)  # the checkpoint's batch-norm statistics come from a random batch
    ckpt = write_untrained_checkpoint(tmp_path / "m.pt", stand_ins["sysu"], seed=2)
    model = load_trained_model(ckpt).model
    manifest = load_manifest(stand_ins["sysu"])
    val = validation_set(manifest, "val")
    model.train()
    scores = evaluate(model, val, SIZE, torch.device("cpu"), source)
    assert model.training  # put back as it was
    model.eval()
    samples = (*val.protocol.query, *val.protocol.gallery)
    modality = modality_tensor(s.modality for s in samples)
    feats, logits = [], []
    with torch.no_grad():
        for start in range(0, len(val.paths), 64):  # validation's batches
            stop = min(start + 64, len(val.paths))
            images = [resize(decode(p, val.root), SIZE) for p in val.paths[start:stop]]
            x = normalize_batch(torch.from_numpy(np.stack(images)), torch.device("cpu"))
            attrs = torch.from_numpy(val.attributes[start:stop]).float()
            out = model.infer(x, modality[start:stop], source, attrs)
            feats.append(torch.nn.functional.normalize(out.retrieval, dim=1).numpy())
            logits.append(out.attribute_logits.numpy())
    feats_np = np.concatenate(feats)
    nq = len(val.protocol.query)
    want = evaluate_distances(-(feats_np[:nq] @ feats_np[nq:].T), val.protocol)
    got = scores.retrieval
    assert got.mAP == want.mAP and got.mINP == want.mINP
    assert got.cmc.tolist() == want.cmc.tolist()
    assert (got.num_valid_queries, got.num_queries) == (want.num_valid_queries, want.num_queries)
    quality = attribute_quality(np.concatenate(logits), val.attributes, val.attribute_keys)
    assert scores.attribute_balanced_accuracy == quality.mean_balanced_accuracy
