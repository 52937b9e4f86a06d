"""The ``make demo`` path end to end, and proof that its deployable model learned.

Same steps and flags as the Makefile's ``demo`` target: stand-in (``DEMO_SCALE``) →
database (register, import ground truth) → ``paenet-export`` → ``paenet-train --preset
smoke`` with ``DEMO_TRAIN`` (100 epochs × 10 batches of 8 identities × (2 + 2) images,
64×32, from random weights) → ``paenet-eval``'s evaluation of every test protocol.

"Learned" is measured on the demo's **test protocol** (32 identities never seen in
training; all-search single-shot, mean over the 10 trials) with the model's own
**predicted** attributes, the only mode a deployment has, against an untrained model of
the same shape (the checkpoint's configuration, freshly initialised). Measured on the
synthetic stand-in (chance rank-1 1/32 = 3.1 %), training seeds 0, 1, 2 at one and at
two threads (``benchmarks/study_attributes.py``, ``benchmarks/README.md``): rank-1
11.5-17.1 %, mAP 18.8-22.5 %, the attribute head's balanced accuracy 74.8-77.2 %; an
untrained model about 3.5 % / 8 % and 50 %. The margins asserted (rank-1 +5 points, mAP
+7 points, head > 70 %) are cleared by all six of those runs (the weakest: rank-1 11.45,
mAP 18.81, head 74.8); the recipe before issue #18 (attribute head at exactly 50 %,
rank-1 5.5 %, mAP 9.3 %) fails all three.

No comparison with the baseline is asserted: the baseline (no PAE, no AAL, the attribute
head's BCE still training the backbone) scores 13.5-17.1 % / 20.8-23.5 % over the same six
runs (mean 15.6 / 21.9 against PAENet's 13.9 / 20.2 with predicted attributes; PAENet
above it only on the two seed-0 runs), and the same baseline with the head
detached from the backbone 9.1-13.4 % / 16.4-19.2 %: what the attributes add at this
budget comes through the head's supervision of the features, not through PAE
(``benchmarks/README.md``). The ``gt`` numbers are logged, not asserted: they measure
the labels fed in.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from annotator.cli_export import main as export_main
from annotator.cli_labels import main as labels_main
from paenet.cli.data import main as data_main
from paenet.cli.train import main as train_main
from paenet.evaluation.session import EvalOptions, run_evaluation
from paenet.model.loading import build_model, model_config_from_dict, read_checkpoint
from paenet.train.checkpoint import save_checkpoint

MAKEFILE = Path(__file__).resolve().parents[2] / "Makefile"
SINGLE_SHOT = ("all-search single-shot", "indoor-search single-shot")
log = logging.getLogger(__name__)


def demo_settings() -> tuple[str, list[str]]:
    """The Makefile's ``DEMO_SCALE`` and ``DEMO_TRAIN`` flags (the test trains as the demo)."""
    text = MAKEFILE.read_text()
    scale = re.search(r"^DEMO_SCALE  \?= (\w+)$", text, re.M)
    epochs = re.search(r"^DEMO_EPOCHS \?= (\d+)$", text, re.M)
    flags = re.search(r"^DEMO_TRAIN  \?= (.+)$", text, re.M)
    assert scale and epochs and flags, "Makefile lost its DEMO_SCALE/DEMO_EPOCHS/DEMO_TRAIN"
    line = flags.group(1).replace("$(DEMO_EPOCHS)", epochs.group(1))
    sets = [v.strip('"') for v in re.findall(r'--set ("[^"]+"|\S+)', line)]
    return scale.group(1), [a for v in sets for a in ("--set", v)]


def untrained_copy(trained: Path, out: Path) -> Path:
    """A checkpoint of the same configuration with freshly initialised weights."""
    payload = read_checkpoint(trained)
    fresh = build_model(model_config_from_dict(payload["model_config"]), seed=12345)
    payload = {**payload, "model": fresh.state_dict(), "epoch": 0, "step": 0}
    payload.pop("format"), payload.pop("version")
    save_checkpoint(out, payload)
    return out


def _prepare(tmp_path: Path, scale: str) -> Path:
    """Stand-in -> database (register, import ground truth) -> manifest, as the demo does."""
    data, db = tmp_path / "data" / "SYSU-MM01", f"sqlite:///{tmp_path / 'annotations.sqlite3'}"
    manifest = tmp_path / "manifest"
    assert data_main(["synth", "--layout", "sysu", "--scale", scale, "--seed", "0",
                      "--out", str(data), "--no-progress"]) == 0  # fmt: skip
    assert labels_main(["--db", db, "register", "--name", "sysu-demo", "--kind", "sysu",
                        str(data)]) == 0  # fmt: skip
    assert labels_main(["--db", db, "import", "synth", str(data), "--dataset", "sysu-demo",
                        "--source", "synth-gt"]) == 0  # fmt: skip
    assert export_main(["--db", db, "--dataset", "sysu-demo", "--sources", "synth-gt",
                        "--out", str(manifest)]) == 0  # fmt: skip
    return manifest


def _train(manifest: Path, run: Path, flags: list[str]) -> Path:
    assert train_main(["--manifest", str(manifest), "--out", str(run), "--preset", "smoke",
                       *flags, "--set", "runtime.progress=false",
                       "--set", "runtime.threads=1"]) == 0  # fmt: skip
    return run / "checkpoints" / "final.pt"


@pytest.mark.slow
def test_demo_path_runs_and_the_deployable_model_learns(tmp_path: Path) -> None:
    scale, flags = demo_settings()
    manifest = _prepare(tmp_path, scale)
    trained = _train(manifest, tmp_path / "run", flags)
    untrained = untrained_copy(trained, tmp_path / "untrained.pt")
    epochs = int(next(f for f in flags if f.startswith("optim.epochs=")).split("=")[1])

    # The demo's test protocol: 32 unseen identities, every setting, 10 trials.
    scores: dict[str, dict[str, dict[str, float]]] = {}
    heads: dict[str, float] = {}
    runs = (("trained", trained, "predicted"), ("trained-gt", trained, "gt"),
            ("untrained", untrained, "predicted"))  # fmt: skip
    for name, ckpt, source in runs:
        report = run_evaluation(ckpt, manifest, EvalOptions(source=source, progress=False))
        assert [s.setting for s in report.settings] == [
            "all-search single-shot",
            "all-search multi-shot",
            "indoor-search single-shot",
            "indoor-search multi-shot",
        ]
        assert report.trials == tuple(range(10)) and report.synthetic
        assert report.epoch == (0 if name == "untrained" else epochs)
        assert report.galleries["all-search single-shot"].identities == 32
        scores[name] = {s.setting: dict(s.mean) for s in report.settings}
        assert report.attribute_quality is not None
        heads[name] = report.attribute_quality.mean_balanced_accuracy or 0.0
    for setting in SINGLE_SHOT:
        for name in scores:
            log.warning(
                "test ids, %s, %s: R1 %.3f mAP %.3f (head balanced accuracy %.3f)",
                setting, name, scores[name][setting]["rank1"], scores[name][setting]["mAP"],
                heads[name],
            )  # fmt: skip
    # The deployable number (predicted attributes), all-search single-shot, against an
    # untrained model of the same shape; margins every measured seed and thread count
    # clears (module docstring).
    t = scores["trained"]["all-search single-shot"]
    u = scores["untrained"]["all-search single-shot"]
    assert t["rank1"] > u["rank1"] + 0.05
    assert t["mAP"] > u["mAP"] + 0.07
    # The attribute head recognises attributes of people it never saw.
    assert heads["trained"] > 0.70
    assert heads["untrained"] < 0.60
