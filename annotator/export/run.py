"""One export: database labels + dataset on disk -> a manifest directory.

:func:`run_export` reads the labels (one short read transaction), scans the
registered dataset root, resolves every image's labels (:mod:`.resolve`), applies the
unknown policy to the training identities, builds the protocols and writes the
directory atomically with :func:`paenet.data.manifest_write.write_manifest`.

Unknown policy (``--unknown``), always recorded in ``manifest.json``:

- ``fail`` (default): any unknown value of a training identity (SYSU train/val;
  RegDB every identity, as each trains in some trial) stops the export with
  :class:`UnknownLabelsError` and its summary; test identities may stay unknown.
- ``drop``: training identities with any unknown value are left out of training
  (SYSU: their images are not exported; RegDB: they leave every trial's train list,
  their images stay for the test lists of the other trials).
- ``0`` / ``1``: every unknown value (training and test) is filled, provenance ``fill:V``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from annotator.export.official import OFFICIAL_FORMAT, official_files
from annotator.export.resolve import (
    DatasetLabels,
    all_source_names,
    check_sources,
    load_dataset_labels,
    resolve,
)
from annotator.export.unknowns import UnknownLabelsError, summarize_unknowns
from annotator.store.db import Store
from annotator.store.faults import public_url
from paenet.attributes import NUM_ATTRIBUTES, LabelValue
from paenet.data.kind_spec import DatasetKindSpec
from paenet.data.kinds import kind_spec, kind_specs
from paenet.data.manifest import ManifestImage
from paenet.data.manifest_write import write_manifest
from paenet.data.outdir import MANIFEST, check_output

log = logging.getLogger(__name__)

UNKNOWN_POLICIES: tuple[str, ...] = ("fail", "drop", "0", "1")
FORMATS: tuple[str, ...] = ("manifest", OFFICIAL_FORMAT)
TEST_NOTE = (
    "test identities may keep unknown (-1) attributes: they are only needed by the 'gt' "
    "evaluation mode"
)

__all__ = ["ExportOptions", "ExportResult", "UnknownLabelsError", "public_url", "run_export"]


@dataclass(frozen=True)
class ExportOptions:
    dataset: str
    out: Path
    sources: tuple[str, ...] | None = None
    """Label sources in priority order; None = the human annotators' agreed value."""
    unknown: str = "fail"
    formats: tuple[str, ...] = ("manifest",)
    rand_perm: Path | None = None
    """SYSU ``rand_perm_cam.mat``: official gallery sampling; None = seeded."""

    def __post_init__(self) -> None:
        if self.unknown not in UNKNOWN_POLICIES:
            raise ValueError(f"--unknown must be one of {UNKNOWN_POLICIES}, got {self.unknown!r}")
        bad = [f for f in self.formats if f not in FORMATS]
        if bad:
            raise ValueError(f"unknown format(s) {bad}; expected among {FORMATS}")


@dataclass(frozen=True)
class ExportResult:
    directory: Path
    images: int
    identities: int
    protocols: int
    dropped: tuple[int, ...] = ()
    filled: int = 0
    test_unknowns: int = 0
    files: tuple[str, ...] = field(default_factory=tuple)


def run_export(
    store: Store, options: ExportOptions, *, label: str = "output folder"
) -> ExportResult:
    """Export ``options.dataset`` to ``options.out``.

    The output folder is checked before any work (it must be absent, empty or a manifest,
    and outside the dataset root: :mod:`paenet.data.outdir`, whose refusals name it as
    ``label``), and again under the writers' lock just before it is replaced.
    """
    check_output(options.out, MANIFEST, label=label)
    with store.read() as s:
        labels = load_dataset_labels(s, options.dataset)
        sources = (
            check_sources(options.sources, all_source_names(s))
            if options.sources is not None
            else None
        )
    check_output(options.out, MANIFEST, label=label, outside=labels.root)
    kind = kind_spec(labels.kind)
    if OFFICIAL_FORMAT in options.formats and not kind.official_label_files:
        able = " / ".join(k.title for k in kind_specs() if k.official_label_files)
        raise ValueError(
            f"--format {OFFICIAL_FORMAT} is {able} only; {options.dataset} is {kind.name}"
        )
    ds = kind.read(labels.root)
    rand_perm = (
        kind.load_permutations(options.rand_perm)
        if options.rand_perm and kind.official_permutations
        else None
    )
    images = _label_images(kind, ds, labels, sources)
    training = set(kind.train_ids(ds))
    summary = summarize_unknowns(images, training)
    dropped: tuple[int, ...] = ()
    filled = 0
    if summary.total and options.unknown == "fail":
        raise UnknownLabelsError(summary)
    protocols, train_lists = kind.dataset_protocols(ds, rand_perm)
    if options.unknown == "drop":
        dropped = summary.identities
        images, train_lists = kind.without_identities(images, train_lists, set(dropped))
    elif options.unknown in ("0", "1"):
        images, filled = _fill(images, int(options.unknown))
    test_unknowns = sum(v == LabelValue.UNKNOWN for im in images for v in im.attributes)
    extra = official_files(images) if OFFICIAL_FORMAT in options.formats else {}
    write_manifest(
        options.out,
        dataset=labels.name,
        kind=labels.kind,
        root=labels.root,
        images=images,
        protocols=protocols,
        train_lists=train_lists,
        labels={
            "sources": list(sources) if sources is not None else None,
            "policy": "decisions, then "
            + (
                "the named sources in order"
                if sources is not None
                else "the human annotators' agreed value"
            ),
            "annotator_sources": list(labels.annotator_sources) if sources is None else [],
            "decisions_in_database": labels.decisions,
            "unknown_policy": options.unknown,
            "unknown_before_policy": summary.as_dict(),
            "dropped_identities": list(dropped),
            "filled_values": filled,
            "test_unknown_values": test_unknowns,
            "note": TEST_NOTE,
        },
        provenance={
            "command": "paenet-export",
            "options": _options_dict(options),
            "database": public_url(store.url),
            "sampling": kind.sampling(rand_perm),
        },
        extra_files=extra,
    )
    pids = {im.sample.pid for im in images}
    return ExportResult(
        directory=options.out,
        images=len(images),
        identities=len(pids),
        protocols=len(protocols),
        dropped=dropped,
        filled=filled,
        test_unknowns=test_unknowns,
        files=tuple(sorted(extra)),
    )


def _label_images(
    kind: DatasetKindSpec, ds, labels: DatasetLabels, sources: Sequence[str] | None
) -> list[ManifestImage]:
    splits = kind.splits_of(ds)
    humans = labels.annotator_sources
    cache: dict[tuple[int, int], tuple[tuple[int, ...], tuple[str, ...]]] = {}
    missing: set[int] = set()
    out: list[ManifestImage] = []
    for s in ds.samples:
        key = (s.pid, s.camera)
        if key not in cache:
            view = labels.views.get(s.pid)
            if view is None:
                missing.add(s.pid)
                cache[key] = (
                    (int(LabelValue.UNKNOWN),) * NUM_ATTRIBUTES,
                    ("unknown",) * NUM_ATTRIBUTES,
                )
            else:
                cache[key] = resolve(view, s.camera, sources, humans)
        values, prov = cache[key]
        out.append(ManifestImage(s, splits.get(s.pid), values, prov))
    if missing:
        log.warning(
            "%d identities on disk are not registered in the database (rescan the dataset): %s",
            len(missing), sorted(missing)[:10],
        )  # fmt: skip
    return out


def _fill(images: list[ManifestImage], value: int) -> tuple[list[ManifestImage], int]:
    out: list[ManifestImage] = []
    n = 0
    for im in images:
        if LabelValue.UNKNOWN not in im.attributes:
            out.append(im)
            continue
        vals = tuple(value if v == LabelValue.UNKNOWN else v for v in im.attributes)
        prov = tuple(
            f"fill:{value}" if v == LabelValue.UNKNOWN else p
            for v, p in zip(im.attributes, im.provenance)
        )
        n += sum(v == LabelValue.UNKNOWN for v in im.attributes)
        out.append(ManifestImage(im.sample, im.split, vals, prov))
    return out, n


def _options_dict(options: ExportOptions) -> dict[str, Any]:
    d = asdict(options)
    del d["out"]  # where it was written is not part of the content
    d["rand_perm"] = str(options.rand_perm) if options.rand_perm else None
    d["sources"] = list(options.sources) if options.sources is not None else None
    d["formats"] = list(options.formats)
    return d
