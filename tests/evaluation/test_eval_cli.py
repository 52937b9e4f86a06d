"""paenet-eval end to end on the tiny stand-ins with real checkpoint files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from paenet.cli.eval import main
from paenet.data.images import decode, normalize_batch, resize
from paenet.data.manifest import load_manifest
from paenet.data.manifest_build import dataset_protocols, manifest_images, read_dataset
from paenet.data.manifest_write import write_manifest
from paenet.evaluation import evaluate_distances
from paenet.evaluation.features import extract_bank
from paenet.evaluation.session import protocol_images
from paenet.model import modality_tensor
from paenet.model.loading import load_trained_model


def run(ckpt: Path, manifest: Path, *extra: str) -> int:
    return main(["--checkpoint", str(ckpt), "--manifest", str(manifest), "--no-progress", *extra])


@pytest.fixture(scope="module")
def sysu_out(checkpoints, stand_ins, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("eval-sysu")
    # One thread, as every test body here runs (tests/conftest.py): this module-scoped
    # fixture is set up before that function-scoped one, and two threads sum the
    # convolutions in another order, which flips near-ties of the features.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        code = run(checkpoints["sysu"], stand_ins["sysu"], "--out", str(out), "--batch-size", "7")
    finally:
        torch.set_num_threads(before)
    assert code == 0
    return out


def one_by_one(ckpt: Path, manifest_dir: Path, samples, source: str = "predicted") -> np.ndarray:
    """Features computed image by image, without the bank (an independent route)."""
    trained = load_trained_model(ckpt)
    m = load_manifest(manifest_dir)
    size = tuple(trained.config["data"]["input_size"])
    out = []
    with torch.inference_mode():
        for s in samples:
            x = normalize_batch(
                torch.from_numpy(resize(decode(m.image_path(s)), size))[None], "cpu"
            )
            f = trained.model.infer(x, modality_tensor([s.modality]), source).retrieval
            out.append(torch.nn.functional.normalize(f, dim=1)[0].numpy())
    return np.stack(out)


def test_sysu_outputs_record_everything(sysu_out, checkpoints, stand_ins, capsys) -> None:
    doc = json.loads((sysu_out / "results.json").read_text())
    m = load_manifest(stand_ins["sysu"])
    assert doc["checkpoint"] == str(checkpoints["sysu"].resolve())
    assert doc["manifest_hash"] == m.content_hash
    assert doc["attribute_source"] == "predicted" and doc["gallery_sampling"] == "seeded"
    assert doc["trials"] == list(range(10)) and not doc["forced"]
    assert [s["setting"] for s in doc["settings"]] == [
        "all-search single-shot",
        "all-search multi-shot",
        "indoor-search single-shot",
        "indoor-search multi-shot",
    ]
    assert len(doc["protocols"]) == 40
    # the summary is the mean and sample std over the 10 trials of each setting
    single = [p for p in doc["protocols"] if p["setting"] == "all-search single-shot"]
    r1 = np.array([p["rank1"] for p in single])
    assert doc["settings"][0]["mean"]["rank1"] == pytest.approx(r1.mean())
    assert doc["settings"][0]["std"]["rank1"] == pytest.approx(r1.std(ddof=1))
    md = (sysu_out / "results.md").read_text()
    for needle in (m.content_hash[:16], "predicted", "seeded", str(checkpoints["sysu"].name)):
        assert needle in md
    assert "baseline" not in md.lower()
    pngs = sorted(p.name for p in sysu_out.glob("*.png"))
    assert pngs == [
        "cmc_all-search-multi-shot.png",
        "cmc_all-search-single-shot.png",
        "cmc_indoor-search-multi-shot.png",
        "cmc_indoor-search-single-shot.png",
    ]
    assert all((sysu_out / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    q = doc["attribute_quality"]
    assert q["images"] == len(protocol_images(m.protocols()))  # stand-in: all labels known
    assert len(q["per_attribute"]) == 8
    # a stand-in says so, with each setting's gallery size and chance rank-1 beside it
    assert doc["synthetic"] is True and m.synthetic
    assert "SYNTHETIC stand-in" in md and "chance R1" in md
    for proto_setting, mode, shots in (
        ("all-search single-shot", "all", 1),
        ("indoor-search multi-shot", "indoor", 10),
    ):
        protos = [
            p for p in m.protocols() if (p.params["mode"], p.params["shots"]) == (mode, shots)
        ]
        ids = np.mean([len({s.pid for s in p.gallery}) for p in protos])
        images = np.mean([len(p.gallery) for p in protos])
        g = doc["galleries"][proto_setting]
        assert (g["identities"], g["images"]) == (pytest.approx(ids), pytest.approx(images))
        assert g["chance_rank1"] == pytest.approx(1 / ids)
        assert f"{100 / ids:.2f}" in md


def test_sysu_numbers_match_an_image_by_image_recomputation(sysu_out, checkpoints, stand_ins):
    """Two checks: the batched feature bank equals features computed image by image (an
    independent route; batched and single-image convolutions differ in the last float bits,
    which can flip near-ties of an untrained model, so features are compared with a
    tolerance), and the command's numbers are exactly the metrics of that bank."""
    doc = json.loads((sysu_out / "results.json").read_text())
    m = load_manifest(stand_ins["sysu"])
    protocols = m.protocols()
    samples = protocol_images(protocols)
    feats = one_by_one(checkpoints["sysu"], stand_ins["sysu"], samples)
    trained = load_trained_model(checkpoints["sysu"])
    bank = extract_bank(
        trained.model,
        samples,
        [m.image_path(s) for s in samples],
        source="predicted",
        input_size=tuple(trained.config["data"]["input_size"]),
        batch_size=7,  # as the command ran
        progress=False,
    )
    np.testing.assert_allclose(bank.features[bank.rows(samples)], feats, atol=1e-5)
    for proto, got in zip(protocols, doc["protocols"], strict=True):
        q = bank.features[bank.rows(proto.query)]
        g = bank.features[bank.rows(proto.gallery)]
        want = evaluate_distances(-(q @ g.T), proto)
        assert got["protocol"] == proto.name
        assert got["rank1"] == pytest.approx(want.rank(1), abs=1e-9)
        assert got["mAP"] == pytest.approx(want.mAP, abs=1e-9)
        assert got["cmc"] == pytest.approx(want.cmc.tolist(), abs=1e-9)


def test_each_image_goes_through_the_model_once(checkpoints, stand_ins) -> None:
    trained = load_trained_model(checkpoints["sysu"])
    m = load_manifest(stand_ins["sysu"])
    samples = protocol_images(m.protocols())
    seen: list[int] = []
    hook = trained.model.backbone.register_forward_hook(
        lambda _m, args, _o: seen.append(args[0].shape[0])
    )
    bank = extract_bank(
        trained.model,
        samples,
        [m.image_path(s) for s in samples],
        source="predicted",
        input_size=(64, 32),
        batch_size=16,
        progress=False,
    )
    hook.remove()
    assert sum(seen) == len(samples) == len(set(samples)) and max(seen) == 16
    assert bank.features.shape == (len(samples), trained.model.feature_dim)
    assert np.allclose(np.linalg.norm(bank.features, axis=1), 1.0, atol=1e-5)


def test_gt_and_backbone_sources(checkpoints, stand_ins, tmp_path) -> None:
    assert run(checkpoints["sysu"], stand_ins["sysu"], "--attributes", "none",
               "--trial", "0", "--out", str(tmp_path / "b")) == 0  # fmt: skip
    doc = json.loads((tmp_path / "b" / "results.json").read_text())
    assert doc["attribute_source"] == "backbone" and doc["trials"] == [0]
    assert len(doc["protocols"]) == 4
    assert "backbone feature, no attributes" in (tmp_path / "b" / "results.md").read_text()
    assert run(checkpoints["sysu"], stand_ins["sysu"], "--attributes", "gt", "--trial", "3") == 0


def test_gt_refused_when_test_attributes_unknown(checkpoints, stand_ins, tmp_path, capsys):
    m = load_manifest(stand_ins["sysu"])
    ds = read_dataset("sysu", m.root)
    hidden = sorted({s.pid for p in m.protocols(trial=0) for s in p.query})[0]

    def label(s):
        im = m.image(s.path)
        if s.pid == hidden:
            return (-1,) * 8, ("unknown",) * 8
        return im.attributes, im.provenance

    protocols, _ = dataset_protocols(ds)
    out = write_manifest(
        tmp_path / "manifest", dataset=m.dataset, kind="sysu", root=m.root,
        images=manifest_images(ds, label), protocols=protocols, train_lists={},
        labels={"sources": ["test"], "unknown_policy": "keep"},
    )  # fmt: skip
    assert run(checkpoints["sysu"], out, "--attributes", "gt", "--trial", "0") == 2
    err = capsys.readouterr().err
    assert "--attributes gt needs every test image's attributes" in err
    assert f"{hidden:04d}" in err and "--attributes predicted" in err
    # predicted still runs, and the head is scored only where labels are known
    assert run(checkpoints["sysu"], out, "--trial", "0", "--out", str(tmp_path / "p")) == 0
    doc = json.loads((tmp_path / "p" / "results.json").read_text())
    n_hidden = sum(1 for s in protocol_images(m.protocols()) if s.pid == hidden)
    assert doc["attribute_quality"]["images"] == len(protocol_images(m.protocols())) - n_hidden
    assert doc["notes"] and "trained on manifest" in doc["notes"][0]


def test_regdb_only_the_checkpoints_trial_unless_forced(checkpoints, stand_ins, tmp_path, capsys):
    assert run(checkpoints["regdb"], stand_ins["regdb"], "--out", str(tmp_path / "own")) == 0
    doc = json.loads((tmp_path / "own" / "results.json").read_text())
    assert doc["trials"] == [1] and not doc["forced"]
    assert [s["setting"] for s in doc["settings"]] == ["visible→thermal", "thermal→visible"]
    assert doc["gallery_sampling"] == "none (RegDB)"
    assert run(checkpoints["regdb"], stand_ins["regdb"], "--trial", "2") == 2
    assert "trained on RegDB trial 1" in capsys.readouterr().err
    assert run(checkpoints["regdb"], stand_ins["regdb"], "--trial", "2", "--force",
               "--out", str(tmp_path / "forced")) == 0  # fmt: skip
    doc = json.loads((tmp_path / "forced" / "results.json").read_text())
    assert doc["forced"] and doc["trials"] == [2]
    assert "FORCED" in (tmp_path / "forced" / "results.md").read_text()
    assert "FORCED" in capsys.readouterr().out
    # a SYSU checkpoint on a RegDB manifest is refused too
    assert run(checkpoints["sysu"], stand_ins["regdb"]) == 2


def test_model_without_pae_says_the_source_is_unused(checkpoints, stand_ins, capsys) -> None:
    assert run(checkpoints["baseline"], stand_ins["sysu"], "--trial", "0") == 0
    assert "model without PAE" in capsys.readouterr().out


def test_bad_inputs_are_clear_errors(checkpoints, stand_ins, tmp_path, capsys) -> None:
    assert run(tmp_path / "missing.pt", stand_ins["sysu"]) == 2
    assert "missing.pt does not exist" in capsys.readouterr().err
    assert run(checkpoints["sysu"], tmp_path / "no-manifest") == 2
    assert "no-manifest" in capsys.readouterr().err
    # a corrupt test image: the error names it
    import shutil

    copy = tmp_path / "data"
    m = load_manifest(stand_ins["sysu"])
    shutil.copytree(m.root, copy / "SYSU-MM01")
    from paenet.data.manifest_build import manifest_from_synthetic

    man = manifest_from_synthetic(copy / "SYSU-MM01", "sysu", tmp_path / "man")
    victim = m.protocols(trial=0)[0].query[0].path
    (copy / "SYSU-MM01" / victim).write_bytes(b"not a jpeg")
    assert run(checkpoints["sysu"], man, "--trial", "0") == 2
    err = capsys.readouterr().err
    assert str(victim) in err and "not a decodable image" in err


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_autocast_features_match_cpu(checkpoints, stand_ins) -> None:
    m = load_manifest(stand_ins["sysu"])
    samples = protocol_images(m.protocols(trial=0))[:32]
    paths = [m.image_path(s) for s in samples]
    cpu = load_trained_model(checkpoints["sysu"]).model
    gpu = load_trained_model(checkpoints["sysu"], map_location="cuda").model
    kw = {"source": "predicted", "input_size": (64, 32), "progress": False}
    a = extract_bank(cpu, samples, paths, **kw)
    b = extract_bank(gpu, samples, paths, device="cuda", amp=True, **kw)
    assert b.features.dtype == np.float32
    assert np.abs(a.features - b.features).max() < 0.05  # bf16/fp16 autocast
    assert (np.sum(a.features * b.features, axis=1) > 0.99).all()
