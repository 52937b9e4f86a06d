"""Every file a stand-in will hold, computed without drawing anything.

:func:`make_plan` returns the image jobs (relative path, person, camera, frame)
and the text files (split files, idx files) of a config, so the full-scale
structure can be checked in milliseconds and the writer only has to execute it.
Each dataset kind's stand-in is one :class:`SynthLayout` in :data:`SYNTH_LAYOUTS`
(its planner, how its images are seeded, drawn and encoded), looked up by the kind's
name: the planner and the writer do not test the name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np

from paenet.data import regdb, sysu
from paenet.data.records import Modality
from paenet.synth.cameras import REGDB_LOOKS, SYSU_LOOKS, CameraLook
from paenet.synth.config import SynthConfig
from paenet.synth.people import Person, make_people
from paenet.synth.structure import load_structure

REGDB_IDS = {"tiny": 20, "small": 206, "full": 412}
REGDB_IMAGES = {"tiny": 4, "small": 4, "full": 10}
"""Images per id and modality."""
_SYSU_CODE, _REGDB_CODE, _SPLIT_CODE = 1, 2, 3


@dataclass(frozen=True, slots=True)
class ImageJob:
    path: str
    """Relative to the dataset root, ``/``-separated."""
    pid: int
    camera: int
    """SYSU camera id; for RegDB the camera of :data:`paenet.data.regdb.CAMERA_OF`."""
    frame: int
    modality: Modality
    back: bool | None = None
    """Forced view (RegDB names say front/back); ``None`` draws it at random."""

    def seed_words(self, layout: str, seed: int) -> list[int]:
        """Entropy of this image's generator: the same bytes whatever the worker.

        RegDB's visible and thermal cameras are co-registered and shoot at once, so a
        pair shares its generator (same pose and crop); SYSU cameras are independent.
        """
        spec = synth_layout(layout)
        camera = 0 if spec.co_registered else self.camera
        return [seed, spec.seed_code, self.pid, camera, self.frame]


@dataclass(frozen=True)
class Plan:
    config: SynthConfig
    people: Mapping[int, Person]
    jobs: tuple[ImageJob, ...]
    text_files: Mapping[str, str]
    """Relative path -> exact content (split files, idx files)."""
    notes: Mapping[str, object] = field(default_factory=dict)
    """Facts for ``synth_info.json`` (how splits were made)."""

    def images_per_camera(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for job in self.jobs:
            out[job.camera] = out.get(job.camera, 0) + 1
        return dict(sorted(out.items()))


def make_plan(config: SynthConfig) -> Plan:
    return synth_layout(config.layout).plan(config)


def _plan_sysu(config: SynthConfig) -> Plan:
    st = load_structure(config.scale)
    jobs: list[ImageJob] = []
    for cam in sorted(st.counts):
        modality = sysu.CAMERAS[cam].modality
        for pid, n in st.counts[cam].items():
            base = f"{sysu.camera_dir(cam)}/{sysu.pid_dir(pid)}"
            jobs.extend(
                ImageJob(f"{base}/{k:04d}{sysu.IMAGE_SUFFIX}", pid, cam, k, modality)
                for k in range(1, n + 1)
            )
    # Like the real files: one line, comma-separated, no spaces, no trailing newline.
    text = {f"exp/{name}_id.txt": ",".join(map(str, ids)) for name, ids in st.splits.items()}
    notes = {
        "structure": {
            "full": "copied from the official rand_perm_cam.mat, train_id.mat, test_id.mat",
            "small": "strided subset of the full structure (paenet.synth.structure."
            "small_structure)",
            "tiny": "fixed tiny structure (paenet.synth.structure.tiny_structure)",
        }[config.scale],
        "val_rule": st.val_rule,
        "split_sizes": {name: len(ids) for name, ids in st.splits.items()},
        "val_ids": list(st.splits["val"]),
    }
    people = make_people(st.pids, config.seed)
    return Plan(config, MappingProxyType(people), tuple(jobs), MappingProxyType(text), notes)


def regdb_name(person: Person, modality: Modality, frame: int, back: bool) -> str:
    """A RegDB-shaped file name, e.g. ``female_front_v_03_17.bmp`` (frame 3 of id 17)."""
    gender = "female" if person.attr("gender") else "male"
    view = "back" if back else "front"
    letter = "v" if modality is Modality.VISIBLE else "t"
    return f"{gender}_{view}_{letter}_{frame:02d}_{person.pid}{regdb.IMAGE_SUFFIX}"


def _plan_regdb(config: SynthConfig) -> Plan:
    n_ids, n_img = REGDB_IDS[config.scale], REGDB_IMAGES[config.scale]
    pids = tuple(range(1, n_ids + 1))
    people = make_people(pids, config.seed)
    jobs: list[ImageJob] = []
    names: dict[tuple[int, Modality], list[str]] = {}
    for pid in pids:
        for modality, dirname in regdb.MODALITY_DIRS.items():
            files = names.setdefault((pid, modality), [])
            for k in range(1, n_img + 1):
                back = k > n_img // 2  # first half front views, second half back views
                name = regdb_name(people[pid], modality, k, back)
                files.append(name)
                path = f"{dirname}/{pid}/{name}"
                jobs.append(ImageJob(path, pid, regdb.CAMERA_OF[modality], k, modality, back))
    text: dict[str, str] = {}
    half = n_ids // 2
    for trial in regdb.TRIALS:
        rng = np.random.default_rng(np.random.SeedSequence([config.seed, _SPLIT_CODE, trial]))
        perm = rng.permutation(np.asarray(pids))
        parts = {
            "train": sorted(int(p) for p in perm[:half]),
            "test": sorted(int(p) for p in perm[half:]),
        }
        for part, ids in parts.items():
            for modality, dirname in regdb.MODALITY_DIRS.items():
                lines = [
                    f"{dirname}/{pid}/{name} {label}"
                    for label, pid in enumerate(ids)
                    for name in sorted(names[(pid, modality)])
                ]
                text[regdb.idx_file(Path(), part, modality, trial).as_posix()] = (
                    "\n".join(lines) + "\n"
                )
    notes = {
        "trials": f"trial k: numpy.random.default_rng(SeedSequence([seed, {_SPLIT_CODE}, k]))"
        f".permutation(ids); first {half} ids train, the rest test; labels = index in the "
        "sorted id list of that file",
        "images_per_id_and_modality": n_img,
        "views": "first half of each id's frames front, second half back (in the file name)",
    }
    return Plan(config, MappingProxyType(people), tuple(jobs), MappingProxyType(text), notes)


@dataclass(frozen=True)
class SynthLayout:
    """How the stand-in of one dataset kind is planned, seeded, drawn and encoded."""

    plan: Callable[[SynthConfig], Plan]
    seed_code: int
    """The layout's word in every image's seed (:meth:`ImageJob.seed_words`)."""
    co_registered: bool
    """The cameras shoot at once: the images of one (person, frame) share a generator."""
    look: Callable[[ImageJob], CameraLook]
    """The camera look an image is drawn with."""
    image_format: str
    """The PIL format of its image files."""
    save_options: Mapping[str, object] = field(default_factory=dict)
    """Extra arguments of ``PIL.Image.save`` (JPEG quality …)."""


def _sysu_look(job: ImageJob) -> CameraLook:
    return SYSU_LOOKS[job.camera]


def _regdb_look(job: ImageJob) -> CameraLook:
    return REGDB_LOOKS[job.modality]


JPEG_QUALITY = 90

SYNTH_LAYOUTS: Mapping[str, SynthLayout] = MappingProxyType(
    {
        sysu.NAME: SynthLayout(
            _plan_sysu,
            _SYSU_CODE,
            co_registered=False,
            look=_sysu_look,
            image_format="JPEG",
            save_options=MappingProxyType({"quality": JPEG_QUALITY}),
        ),
        regdb.NAME: SynthLayout(
            _plan_regdb, _REGDB_CODE, co_registered=True, look=_regdb_look, image_format="BMP"
        ),
    }
)
"""Every dataset kind with a synthetic stand-in, by the kind's name."""


def synth_layout(layout: str) -> SynthLayout:
    """The stand-in layout of the dataset kind ``layout``; ValueError naming the known ones."""
    try:
        return SYNTH_LAYOUTS[layout]
    except KeyError:
        raise ValueError(f"layout must be one of {tuple(SYNTH_LAYOUTS)}, got {layout!r}") from None
