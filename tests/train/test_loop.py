"""The training loop's hooks: a new action is one more hook, the loop is not edited."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from paenet.model.loading import read_checkpoint
from paenet.train.engine import train
from paenet.train.loop import Hook, TrainLoop
from paenet.train.presets import resolve
from paenet.train.steps import StepResult
from tests.train.conftest import TINY

#: What every checkpoint holds, in this order (docs of paenet.train.checkpoint).
CHECKPOINT_KEYS = [
    "format", "version", "kind", "model", "model_config", "config", "manifest", "trial",
    "train_splits", "pids", "epoch", "step", "batch_in_epoch", "epoch_loss_sums", "best_val",
    "optimizer", "scheduler", "scaler", "sampler", "rng", "versions", "extra",
]  # fmt: skip


class Recorder(Hook):
    """Records which call came when: a stand-in for an EMA or any periodic action."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.calls: list[tuple[str, int]] = []
        self.end: tuple[bool, bool, int, bool] | None = None

    def before_train(self, loop: TrainLoop) -> None:
        self.calls.append(("before_train", loop.state.step))

    def before_epoch(self, loop: TrainLoop) -> None:
        self.calls.append(("before_epoch", loop.state.epoch))

    def before_step(self, loop: TrainLoop) -> None:
        self.calls.append(("before_step", loop.state.step))

    def after_step(self, loop: TrainLoop, result: StepResult) -> None:
        assert "total" in result.values
        self.calls.append(("after_step", loop.state.batch_in_epoch))

    def after_epoch(self, loop: TrainLoop) -> None:
        # the built-in hooks ran first: the epoch's last.pt is written
        saved = read_checkpoint(self.run_dir / "checkpoints" / "last.pt")["epoch"]
        assert saved == loop.state.epoch and set(loop.epoch_loss_means) >= {"total", "id"}
        self.calls.append(("after_epoch", loop.state.epoch))

    def after_train(self, loop: TrainLoop) -> None:
        final = (self.run_dir / "checkpoints" / "final.pt").is_file()
        self.end = (loop.finished, loop.stopped, loop.state.batch_in_epoch, final)


def test_a_custom_hook_sees_every_call_in_order(stand_ins, tmp_path):
    run_dir = tmp_path / "run"
    config = resolve(
        "smoke",
        None,
        (*TINY, "optim.epochs=2", "data.batches_per_epoch=2", "runtime.checkpoint_every=1"),
    )
    hook = Recorder(run_dir)
    result = train(stand_ins["sysu"], run_dir, config, hooks=[hook])
    assert hook.calls == [
        ("before_train", 0),
        ("before_epoch", 0),
        ("before_step", 1), ("after_step", 1), ("before_step", 2), ("after_step", 2),
        ("after_epoch", 1),
        ("before_epoch", 1),
        ("before_step", 3), ("after_step", 1), ("before_step", 4), ("after_step", 2),
        ("after_epoch", 2),
    ]  # fmt: skip
    assert hook.end == (True, False, 0, True)  # after_train comes after final.pt
    assert (result.epochs_done, result.steps, result.finished) == (2, 4, True)
    final = read_checkpoint(result.checkpoint)
    assert list(final) == CHECKPOINT_KEYS
    assert final["kind"] == "final" and final["extra"]["rank_fingerprints"] == list(
        result.fingerprints
    )


def test_a_custom_hook_across_a_stop_and_a_resume(stand_ins, tmp_path):
    run_dir = tmp_path / "run"
    sets = (*TINY, "optim.epochs=2", "data.batches_per_epoch=2", "runtime.checkpoint_every=1")
    config = resolve("smoke", None, (*sets, "runtime.stop_after_steps=3"))
    first = Recorder(run_dir)
    stopped = train(stand_ins["sysu"], run_dir, config, hooks=[first])
    assert [c for c in first.calls if c[0] not in ("before_step", "after_step")] == [
        ("before_train", 0), ("before_epoch", 0), ("after_epoch", 1), ("before_epoch", 1),
    ]  # fmt: skip
    assert [c[1] for c in first.calls if c[0] == "before_step"] == [1, 2, 3]
    assert first.end == (False, True, 1, False)  # stopped in epoch 2 after its first batch
    assert not stopped.finished and stopped.checkpoint.name == "last.pt"
    assert read_checkpoint(stopped.checkpoint)["batch_in_epoch"] == 1
    # resumed: the hook starts where the run stopped
    config = replace(config, runtime=replace(config.runtime, stop_after_steps=None))
    second = Recorder(run_dir)
    done = train(stand_ins["sysu"], run_dir, config, resume=True, hooks=[second])
    assert second.calls == [
        ("before_train", 3), ("before_epoch", 1), ("before_step", 4), ("after_step", 2),
        ("after_epoch", 2),
    ]  # fmt: skip
    assert second.end == (True, False, 0, True)
    assert (done.epochs_done, done.steps) == (2, 4)
