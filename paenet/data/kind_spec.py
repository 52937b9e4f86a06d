"""What a dataset kind must answer: :class:`DatasetKindSpec`, the base of every kind object.

A kind (SYSU-MM01, RegDB …) is one object, registered by name in
:mod:`paenet.data.kinds`. Every choice that differs between kinds — its folder and
cameras, how a root is read, which identities train, how a manifest's training set and
test protocols are chosen, the validation protocol — is a method or an attribute here,
so the readers, the exporter, the trainer and the evaluator ask the kind instead of
testing its name. ``docs/architecture.md`` ("Adding a dataset kind") says what a new
kind implements.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from paenet.data.protocol import SkipRule, TestProtocol
from paenet.data.records import Camera, DatasetIndex, Sample

if TYPE_CHECKING:
    from paenet.data.manifest import Manifest
    from paenet.data.manifest_schema import ManifestImage

TrainLists = dict[int, tuple[Sample, ...]]
"""Per-trial training samples (trial -> samples), written as the manifest's train lists."""


class ProtocolChoiceError(ValueError):
    """The test protocols asked of a manifest do not fit it or the model (the message
    says why and what to pass instead)."""


class DatasetKindSpec(ABC):
    """One dataset kind. Subclasses set the class attributes and implement the methods;
    instances hold no state (one per kind, in the registry of :mod:`paenet.data.kinds`)."""

    name: ClassVar[str]
    """The kind's name in manifests, the database and the command lines (``sysu``)."""
    title: ClassVar[str]
    """The dataset's own name, for messages (``SYSU-MM01``)."""
    folder: ClassVar[str]
    """The folder its layout lives in under a data root (``datasets/SYSU-MM01``)."""
    cameras: ClassVar[Mapping[int, Camera]]
    identity_split_type: ClassVar[type[StrEnum] | None]
    """The fixed split every identity carries; ``None``: identities carry none (their
    train/test parts are per trial)."""
    trials: ClassVar[tuple[int, ...]]
    """The test trials a manifest holds protocols of."""
    skip_rules: ClassVar[tuple[SkipRule, ...]] = ()
    """Camera pairs never compared, in every protocol of the kind (test and validation)."""
    unique_identity_cmc: ClassVar[bool] = False
    """Rank-k counts distinct gallery identities (see :class:`TestProtocol`)."""
    official_permutations: ClassVar[bool] = False
    """The dataset's authors publish gallery permutations (:meth:`load_permutations`)."""
    official_label_files: ClassVar[bool] = False
    """``paenet-export --format official`` can write the PAENet release's label files."""

    # ------------------------------------------------------------------ a root on disk
    @abstractmethod
    def read(self, root: Path | str) -> DatasetIndex:
        """Index a root of this kind (raises :class:`~paenet.data.errors.DatasetError`)."""

    @abstractmethod
    def split_of(self, ds: DatasetIndex, pid: int) -> StrEnum | None:
        """The identity split of ``pid`` (``None``: the kind has none, or ``pid`` is in none)."""

    def splits_of(self, ds: DatasetIndex) -> dict[int, StrEnum | None]:
        """Every identity of ``ds`` (ascending) -> its split (:meth:`split_of`)."""
        return {pid: self.split_of(ds, pid) for pid in ds.pids}

    @abstractmethod
    def train_ids(self, ds: DatasetIndex) -> tuple[int, ...]:
        """The identities that train in some training set of ``ds`` (ascending): their
        labels must be known before an export (``--unknown fail``)."""

    @abstractmethod
    def dataset_protocols(
        self, ds: DatasetIndex, permutations: Any = None
    ) -> tuple[list[TestProtocol], TrainLists]:
        """Every test protocol of ``ds`` and the per-trial training lists (empty when the
        training set is chosen by identity split). ``permutations``: what
        :meth:`load_permutations` returned, or ``None`` for the kind's own draw."""

    def load_permutations(self, path: Path | str) -> Any:
        """Read the authors' gallery permutations (only where :attr:`official_permutations`)."""
        raise ValueError(f"{self.title} has no official gallery permutations")

    @abstractmethod
    def sampling(self, permutations: Any) -> str:
        """How the test galleries were drawn, for the export's provenance."""

    @abstractmethod
    def without_identities(
        self, images: list[ManifestImage], train_lists: TrainLists, gone: set[int]
    ) -> tuple[list[ManifestImage], TrainLists]:
        """The export's images and train lists with the identities ``gone`` taken out of
        training (``paenet-export --unknown drop``)."""

    @abstractmethod
    def summarize(self, ds: DatasetIndex, permutations: Any = None) -> dict[str, Any]:
        """``paenet-data inspect``'s summary (see :mod:`paenet.data.summary`)."""

    # -------------------------------------------------------------------- a manifest
    @property
    def manifest_splits(self) -> frozenset[str | None]:
        """The values a manifest's ``split`` column may hold for this kind."""
        split_type = self.identity_split_type
        return frozenset({None, *(() if split_type is None else (s.value for s in split_type))})

    @abstractmethod
    def training_rows(
        self, manifest: Manifest, splits: Sequence[str] | str, trial: int | None
    ) -> list[int]:
        """The rows of ``manifest.images`` in the training set of ``splits`` or ``trial``
        (ValueError naming the choices when the selection does not fit the kind)."""

    @abstractmethod
    def protocol_trial(self, trial: int | None) -> int | None:
        """``trial`` checked for :meth:`Manifest.protocols` (``None``: every trial, where
        the kind allows it); ValueError otherwise."""

    @abstractmethod
    def training_problem(
        self, dataset: str, trial: int | None, val_split: str | None
    ) -> str | None:
        """Why a run's ``data.trial`` / ``data.val_split`` do not fit this kind, or None."""

    def training_splits(self, splits: Sequence[str]) -> list[str]:
        """The identity splits a run trains on, as its ``run.json`` records them (none for a
        kind whose training sets are per trial)."""
        return list(splits) if self.identity_split_type is not None else []

    def validation_protocol(
        self, query: Sequence[Sample], gallery: Sequence[Sample], split: str
    ) -> TestProtocol:
        """The model-selection protocol of the identity split ``split``: ``query`` against
        ``gallery`` (all-search) under the kind's skip rules and CMC definition."""
        return TestProtocol(
            dataset=self.name,
            query=tuple(query),
            gallery=tuple(gallery),
            skip_rules=self.skip_rules,
            unique_identity_cmc=self.unique_identity_cmc,
            params=MappingProxyType({"split": split, "mode": "all", "direction": "ir->visible"}),
        )

    @abstractmethod
    def select_test_protocols(
        self,
        manifest: Manifest,
        trials: Sequence[int] | None,
        own_trial: int | None,
        force: bool,
    ) -> tuple[list[TestProtocol], list[str]]:
        """The test protocols of ``trials`` (None: the default ones) for a model trained
        on trial ``own_trial`` of this kind (None: not trained per trial, or on another
        kind), and the notes any forced choice leaves on the result.

        Raises:
            ProtocolChoiceError: the choice does not fit (the message says why).
        """

    @abstractmethod
    def describe_sampling(self, samplings: Sequence[str]) -> str:
        """The gallery sampling of an evaluation report (``samplings``: its protocols')."""

    @abstractmethod
    def load_every_list(self, manifest: Manifest) -> None:
        """Build every protocol and training set of ``manifest`` once (``paenet-export
        --check``): a list naming an image that is not there raises."""

    def __repr__(self) -> str:
        return f"<dataset kind {self.name!r} ({self.title})>"
