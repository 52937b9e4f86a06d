"""The trainer's built-in hooks (:class:`paenet.train.loop.Hook`), in the order
:func:`paenet.train.engine.train` installs them:

- :class:`StepWarnings`: a feature collapse (once per epoch) and a skipped loss term
  (once per run) as warnings;
- :class:`Validate`: scores the validation split every ``data.val_every`` epochs and
  after the last, keeps the best epoch as ``best.pt``;
- :class:`LastCheckpoint`: ``last.pt`` every ``runtime.checkpoint_every`` epochs, after
  the last, and where ``runtime.stop_after_steps`` stopped the run;
- :class:`LogMetrics`: the progress bar, ``metrics.jsonl`` / TensorBoard records of the
  steps and epochs, the health probes every ``runtime.probe_every`` steps;
- :class:`RankFingerprints`: every rank's model fingerprint at the end;
- :class:`FinalCheckpoint`: ``final.pt`` and the plots of a finished run.

Only rank 0 validates, writes checkpoints and logs; every rank warns.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from paenet.train import distributed as D
from paenet.train.config import RunConfig
from paenet.train.health import COLLAPSE_RELATIVE_STD
from paenet.train.logs import RunLog, plot_metrics
from paenet.train.loop import Hook, TrainLoop
from paenet.train.state import Checkpointer
from paenet.train.steps import StepResult
from paenet.train.validation import ValidationSet, evaluate

# The trainer's messages keep the logger name they have always had (users filter on it).
log = logging.getLogger("paenet.train.engine")


class StepWarnings(Hook):
    """Warns of collapsed features (``health/collapsed`` of a probed step, once per
    epoch) and of a loss term the batch could not give (once per term and run)."""

    def __init__(self) -> None:
        self._warned: set[str] = set()
        self._collapse_warned: set[int] = set()

    def after_step(self, loop: TrainLoop, result: StepResult) -> None:
        epoch, step = loop.state.epoch, loop.state.step
        d = result.diagnostics
        if d.get("health/collapsed") and epoch not in self._collapse_warned:
            self._collapse_warned.add(epoch)
            log.warning(
                "step %d: the features have collapsed (relative spread of f^m %.3f, "
                "of the metric feature %.3f; collapse below %.2f): the images of a "
                "batch are nearly one point; see docs/training.md, 'Why a run "
                "collapses'",
                step,
                d["health/backbone/relative_std"],
                d["health/metric/relative_std"],
                COLLAPSE_RELATIVE_STD,
            )
        for name, reason in result.skipped.items():
            if name not in self._warned:
                self._warned.add(name)
                log.warning("loss term %r skipped at step %d: %s", name, step, reason)


class Validate(Hook):
    """Rank 0 scores ``val`` every ``data.val_every`` epochs and after the last (its
    ``val/*`` scores join the epoch's record) and saves a new best mAP as ``best.pt``."""

    def __init__(self, val: ValidationSet, config: RunConfig, checkpointer: Checkpointer):
        self.val = val
        self.data = config.data
        self.checkpointer = checkpointer

    def after_epoch(self, loop: TrainLoop) -> None:
        state, data = loop.state, self.data
        if not loop.is_main or not (state.epoch % data.val_every == 0 or loop.finished):
            return
        validation = evaluate(
            loop.model, self.val, data.input_size, loop.device, data.val_attribute_source
        )
        scores = validation.as_dict()
        loop.epoch_scores.update(scores)
        log.info(
            "epoch %d: validation rank-1 %.2f %%, mAP %.2f %%, attribute head "
            "balanced accuracy %s (%s split, %s attributes)",
            state.epoch,
            100 * validation.retrieval.rank(1),
            100 * validation.retrieval.mAP,
            "n/a"
            if validation.attribute_balanced_accuracy is None
            else f"{100 * validation.attribute_balanced_accuracy:.1f} %",
            data.val_split,
            data.val_attribute_source,
        )
        if state.best_val is None or validation.retrieval.mAP > state.best_val:
            state.best_val = validation.retrieval.mAP
            self.checkpointer.save("best", state, {"validation": scores})
            log.info("epoch %d: best validation mAP so far, %.4f", state.epoch, state.best_val)


class LastCheckpoint(Hook):
    """Rank 0 saves ``last.pt`` every ``checkpoint_every`` epochs, after the last epoch
    and when the run stops; a stop inside an epoch saves where it stopped."""

    def __init__(self, checkpointer: Checkpointer, checkpoint_every: int):
        self.checkpointer = checkpointer
        self.every = checkpoint_every

    def after_epoch(self, loop: TrainLoop) -> None:
        epoch = loop.state.epoch
        if loop.is_main and (epoch % self.every == 0 or loop.finished or loop.stopped):
            self.checkpointer.save("last", loop.state)

    def after_train(self, loop: TrainLoop) -> None:
        if loop.stopped and loop.state.batch_in_epoch > 0:
            if loop.is_main:
                self.checkpointer.save("last", loop.state)
            log.info("stopped after step %d (runtime.stop_after_steps)", loop.state.step)


class LogMetrics(Hook):
    """The epoch's progress bar (rank 0, ``runtime.progress``); on rank 0 a health probe
    every ``runtime.probe_every`` steps, a ``step`` record every ``runtime.log_every``
    steps, at a probe and at the epoch's last batch, an ``epoch`` record (loss means, the
    hooks' scores) after each epoch, and without a bar one log line per epoch.

    ``run_log`` is ``None`` on the other ranks; ``images_per_batch`` counts all ranks'.
    """

    def __init__(self, run_log: RunLog | None, config: RunConfig, images_per_batch: int):
        self.run_log = run_log
        self.runtime = config.runtime
        self.images_per_batch = images_per_batch
        self._bar: Any = None
        self._logging_now = False
        self._t_epoch = self._t_window = 0.0
        self._window = 0

    def before_epoch(self, loop: TrainLoop) -> None:
        rt, state = self.runtime, loop.state
        self._t_epoch = self._t_window = time.perf_counter()
        self._window = 0
        self._bar = tqdm(
            total=loop.batches_per_epoch,
            initial=state.batch_in_epoch,
            desc=f"epoch {state.epoch + 1}/{loop.epochs}",
            unit="batch",
            disable=not (rt.progress and loop.is_main),
            dynamic_ncols=True,
        )

    def before_step(self, loop: TrainLoop) -> None:
        rt, step = self.runtime, loop.state.step
        loop.probe = rt.probe_every > 0 and step % rt.probe_every == 0 and loop.is_main
        self._logging_now = (
            loop.probe
            or step % rt.log_every == 0
            or loop.state.batch_in_epoch == loop.batches_per_epoch
        )

    def after_step(self, loop: TrainLoop, result: StepResult) -> None:
        state = loop.state
        self._window += 1
        self._bar.update(1)
        if self._logging_now:
            now = time.perf_counter()
            rate = self._window * self.images_per_batch / max(now - self._t_window, 1e-9)
            self._t_window, self._window = now, 0
            self._bar.set_postfix(
                {k: f"{v:.3f}" for k, v in result.values.items()} | {"img/s": f"{rate:.0f}"}
            )
            if self.run_log is not None:
                self.run_log.write(
                    {
                        "kind": "step",
                        "epoch": state.epoch,
                        "step": state.step,
                        "lr": loop.optimizer.param_groups[1]["lr"],
                        "images_per_s": rate,
                        "fed_predicted": result.fed_predicted,
                        "skipped": sorted(result.skipped),
                        **{f"loss/{k}": v for k, v in result.values.items()},
                        **result.diagnostics,
                    }
                )
        if loop.stopped or state.batch_in_epoch == loop.batches_per_epoch:
            self._bar.close()  # before anything the epoch's end logs

    def after_epoch(self, loop: TrainLoop) -> None:
        self._bar.close()  # closed already unless the epoch had no batch
        if not loop.is_main:
            return
        state, means = loop.state, loop.epoch_loss_means
        assert self.run_log is not None
        self.run_log.write(
            {
                "kind": "epoch",
                "epoch": state.epoch - 1,
                "step": state.step,
                "lr": loop.optimizer.param_groups[1]["lr"],
                "seconds": time.perf_counter() - self._t_epoch,
                **{f"loss/{k}": v for k, v in means.items()},
                **loop.epoch_scores,
            }
        )
        if not self.runtime.progress:  # without bars, one line per epoch shows the run moving
            log.info(
                "epoch %d/%d (step %d): loss %.3f (%s), %.1f s",
                state.epoch,
                loop.epochs,
                state.step,
                means.get("total", float("nan")),
                ", ".join(f"{k} {v:.3f}" for k, v in means.items() if k != "total"),
                time.perf_counter() - self._t_epoch,
            )

    def after_train(self, loop: TrainLoop) -> None:
        if self._bar is not None:
            self._bar.close()


class RankFingerprints(Hook):
    """At the end, makes every rank's buffers rank 0's and gathers each rank's model
    fingerprint (:func:`paenet.train.distributed.state_fingerprint`) into
    ``fingerprints``; ranks that disagree are logged as an error."""

    def __init__(self) -> None:
        self.fingerprints: tuple[str, ...] = ()

    def after_train(self, loop: TrainLoop) -> None:
        D.broadcast_buffers(loop.model, loop.info)
        self.fingerprints = tuple(D.gather_fingerprints(loop.model, loop.info))
        if len(set(self.fingerprints)) > 1:
            log.error("ranks hold different model states: %s", self.fingerprints)


class FinalCheckpoint(Hook):
    """When the run finished, rank 0 saves ``final.pt`` (with the ranks' fingerprints)
    and draws ``plots/`` from ``metrics.jsonl``."""

    def __init__(self, checkpointer: Checkpointer, ranks: RankFingerprints, run_dir: Path):
        self.checkpointer = checkpointer
        self.ranks = ranks
        self.run_dir = run_dir

    def after_train(self, loop: TrainLoop) -> None:
        if not (loop.is_main and loop.finished):
            return
        final = self.checkpointer.save(
            "final", loop.state, {"rank_fingerprints": list(self.ranks.fingerprints)}
        )
        plot_metrics(self.run_dir / "metrics.jsonl", self.run_dir / "plots")
        log.info("training finished: %s", final)
