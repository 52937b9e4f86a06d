"""The training loop: epochs of :func:`paenet.train.steps.train_step`, with hooks around it.

:class:`TrainLoop` only draws the batches, runs the steps, steps the scheduler and keeps
the :class:`~paenet.train.state.TrainState`; everything else a run does (validation,
checkpoints, logs, the ranks' fingerprints) is a :class:`Hook` (:mod:`paenet.train.hooks`).
The loop calls, in the order the hooks were given:

- ``before_train`` once; then for each epoch ``before_epoch`` (the sampler has drawn the
  epoch; ``state.epoch`` is the 0-based epoch about to run);
- for each batch ``before_step`` (the batch is loaded; ``state.step`` and
  ``state.batch_in_epoch`` already count it; a hook may set ``loop.probe``) and
  ``after_step`` with the step's :class:`~paenet.train.steps.StepResult`;
- ``after_epoch`` once the epoch's batches are done: the scheduler has stepped,
  ``state.epoch`` counts the epoch, ``epoch_loss_means`` holds its loss means and every
  rank's buffers are rank 0's; then all ranks wait for each other;
- ``after_train`` once when the loop ends without an error: all epochs done
  (``finished``) or stopped by ``runtime.stop_after_steps`` (``stopped``; inside an epoch
  when ``state.batch_in_epoch`` > 0).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from paenet.data.images import normalize_batch
from paenet.train import distributed as D
from paenet.train.config import RunConfig
from paenet.train.sampler import CrossModalitySampler
from paenet.train.state import TrainState
from paenet.train.steps import StepResult, feeds_predicted, loss_config, train_step


class Hook:
    """Something a run does around its steps; override the calls it needs (each does
    nothing here). Hooks read and may change the loop's public attributes."""

    def before_train(self, loop: TrainLoop) -> None:
        pass

    def before_epoch(self, loop: TrainLoop) -> None:
        pass

    def before_step(self, loop: TrainLoop) -> None:
        pass

    def after_step(self, loop: TrainLoop, result: StepResult) -> None:
        pass

    def after_epoch(self, loop: TrainLoop) -> None:
        pass

    def after_train(self, loop: TrainLoop) -> None:
        pass


class TrainLoop:
    """Runs a run's remaining epochs from ``state``.

    ``model`` is the plain network (saved, validated); ``net`` what the steps call (the
    model, or its DDP / compiled wrapper).
    """

    def __init__(
        self,
        *,
        config: RunConfig,
        model: nn.Module,
        net: nn.Module,
        loader: torch.utils.data.DataLoader,
        sampler: CrossModalitySampler,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
        scaler: torch.amp.GradScaler,
        device: torch.device,
        dtype: torch.dtype | None,
        channels_last: bool,
        attribute_rates: torch.Tensor,
        info: D.DistInfo,
        state: TrainState,
        hooks: Sequence[Hook],
    ) -> None:
        self.config = config
        self.model = model
        self.net = net
        self.loader = loader
        self.sampler = sampler
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.scaler = scaler
        self.device = device
        self.dtype = dtype
        self.channels_last = channels_last
        self.attribute_rates = attribute_rates
        self.info = info
        self.state = state
        self.hooks = list(hooks)
        self.epochs = config.optim.epochs
        self.batches_per_epoch = len(sampler)
        """Batches this rank runs per epoch."""
        self.probe = False
        """Set by a ``before_step`` hook: the coming step measures the health instruments."""
        self.stopped = False
        """``runtime.stop_after_steps`` was reached."""
        self.epoch_loss_means: dict[str, float] = {}
        """Mean of each loss term over the epoch just done (this rank's batches)."""
        self.epoch_scores: dict[str, float] = {}
        """Scores hooks add for the epoch just done (validation); logged with its means."""

    @property
    def is_main(self) -> bool:
        return self.info.is_main

    @property
    def finished(self) -> bool:
        return self.state.epoch >= self.epochs

    def run(self) -> None:
        """Train until the last epoch or ``runtime.stop_after_steps``."""
        self._call("before_train")
        while not self.finished and not self.stopped:
            self._run_epoch()
        self._call("after_train")

    def _call(self, name: str) -> None:
        for hook in self.hooks:
            getattr(hook, name)(self)

    def _run_epoch(self) -> None:
        state, loss, stop_after = self.state, self.config.loss, self.config.runtime.stop_after_steps
        self.sampler.set_epoch(state.epoch)
        losses = loss_config(loss, state.epoch, self.epochs)  # this epoch's weights
        self.sampler.skip(state.batch_in_epoch)
        self.net.train()
        self._call("before_epoch")
        for batch in self.loader:
            state.step += 1
            state.batch_in_epoch += 1
            self.probe = False
            self._call("before_step")
            result = train_step(
                self.net,
                normalize_batch(batch.images, self.device, self.channels_last),
                batch.labels.to(self.device, non_blocking=True),
                batch.modality.to(self.device, non_blocking=True),
                batch.attributes.to(self.device, non_blocking=True),
                optimizer=self.optimizer,
                scaler=self.scaler,
                losses=losses,
                feed_predicted=feeds_predicted(
                    state.epoch, state.step, self.epochs, loss, self.config.runtime.seed
                ),
                dtype=self.dtype,
                step=state.step,
                probe=self.probe,
                attribute_rates=self.attribute_rates,
            )
            for k, v in result.values.items():
                state.loss_sums[k] = state.loss_sums.get(k, 0.0) + v
            self.stopped = stop_after is not None and state.step >= stop_after
            for hook in self.hooks:
                hook.after_step(self, result)
            if self.stopped:
                break
        if self.stopped and state.batch_in_epoch < self.batches_per_epoch:
            return  # inside the epoch: after_train saves where it stopped
        self.scheduler.step()
        count = max(state.batch_in_epoch, 1)
        self.epoch_loss_means = {k: v / count for k, v in state.loss_sums.items()}
        self.epoch_scores = {}
        state.epoch += 1
        state.batch_in_epoch = 0
        state.loss_sums = {}
        D.broadcast_buffers(self.model, self.info)
        self._call("after_epoch")
        D.barrier(self.info)
