"""Executing a plan: folders, split/idx files, attributes, images (in parallel), info.

Safety rules:

- An output folder must be new, empty, or a previous stand-in of the same config
  identity (layout, scale, seed, generator version): then the run resumes, keeping
  the images already there (every file is written to a temporary name and renamed
  with ``os.replace``, so a file under its final name is complete).
- ``synth_info.json`` is written last: its presence means the stand-in is complete.
  While a run is in progress, ``.synth_in_progress.json`` records its identity.
- Files are a pure function of the config: the per-image generator is seeded from
  ``(seed, pid, camera, frame)``, so worker count and scheduling change nothing.
"""

from __future__ import annotations

import io
import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from importlib import metadata
from pathlib import Path

import numpy as np
from tqdm import tqdm

from paenet.atomic import atomic_open
from paenet.attributes import ATTRIBUTE_KEYS
from paenet.data.paths import SYNTHETIC_MARKER
from paenet.data.records import Modality
from paenet.synth.config import GENERATOR_VERSION, SynthConfig, SynthReport
from paenet.synth.people import Person, make_people
from paenet.synth.plan import ImageJob, Plan, make_plan, synth_layout
from paenet.synth.render import render_image

log = logging.getLogger(__name__)

ATTRIBUTES_FILE = "synth_attributes.csv"
INFO_FILE = SYNTHETIC_MARKER
PROGRESS_FILE = ".synth_in_progress.json"
_PART = ".part"
_CHUNK = 256


ProgressCallback = Callable[[int, int], None]
"""Called as ``(images done, images to do)`` after every chunk of images."""


def synthesize(
    config: SynthConfig, progress: bool = False, on_progress: ProgressCallback | None = None
) -> SynthReport:
    """Write the stand-in dataset described by ``config`` under ``config.out``.

    ``progress`` shows a terminal bar; ``on_progress`` reports to a caller (a web page).

    Raises:
        FileExistsError: ``out`` is a non-empty folder that is not a stand-in of the
            same layout, scale, seed and generator version (or is a file).
        ValueError: an invalid config (raised by :class:`SynthConfig`).
    """
    t0 = time.perf_counter()
    out = config.out
    resuming = _check_output(config)
    plan = make_plan(config)
    out.mkdir(parents=True, exist_ok=True)
    _write_json(out / PROGRESS_FILE, config.identity())
    if resuming:
        _remove_partial_files(out)
    for folder in sorted({job.path.rpartition("/")[0] for job in plan.jobs}):
        (out / folder).mkdir(parents=True, exist_ok=True)
    for rel, text in plan.text_files.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        _write_bytes(out / rel, text.encode("utf-8"))
    attributes_path = out / ATTRIBUTES_FILE
    _write_bytes(attributes_path, attributes_csv(plan.people).encode("utf-8"))

    todo = [job for job in plan.jobs if not resuming or not (out / job.path).exists()]
    if resuming:
        log.info("resuming %s: %d of %d images left", out, len(todo), len(plan.jobs))
    written = _render_all(config, todo, progress, on_progress)

    info_path = out / INFO_FILE
    _write_json(info_path, _info(plan))
    (out / PROGRESS_FILE).unlink(missing_ok=True)
    seconds = time.perf_counter() - t0
    report = SynthReport(
        out=out,
        layout=config.layout,
        scale=config.scale,
        seed=config.seed,
        num_ids=len(plan.people),
        num_images=len(plan.jobs),
        images_written=written,
        seconds=seconds,
        attributes_path=attributes_path,
        info_path=info_path,
    )
    log.info("%s", report)
    return report


def _check_output(config: SynthConfig) -> bool:
    """True when ``out`` holds a stand-in of the same identity (resume); raise if foreign."""
    out = config.out
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} exists and is not a folder")
    if not out.exists() or not any(out.iterdir()):
        return False
    want = config.identity()
    for marker in (INFO_FILE, PROGRESS_FILE):
        path = out / marker
        if not path.is_file():
            continue
        try:
            found = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        have = {key: found.get(key) for key in want}
        if have == want:
            return True
        raise FileExistsError(
            f"{out} holds a different synthetic stand-in ({_describe(have)}), not "
            f"{_describe(want)}; choose another output folder or delete that one"
        )
    raise FileExistsError(
        f"{out} is not empty and is not a synthetic stand-in (no {INFO_FILE}); "
        "refusing to write into it: choose a new or empty folder"
    )


def _describe(identity: dict[str, object]) -> str:
    return ", ".join(f"{k}={v}" for k, v in identity.items())


def attributes_csv(people: Mapping[int, Person]) -> str:
    """``pid,<ATTRIBUTE_KEYS…>`` then one 0/1 row per identity, sorted by pid."""
    rows = [",".join(("pid", *ATTRIBUTE_KEYS))]
    for pid, person in sorted(people.items()):
        rows.append(",".join(str(v) for v in (pid, *person.attributes)))
    return "\n".join(rows) + "\n"


def _info(plan: Plan) -> dict[str, object]:
    cfg = plan.config
    try:
        version = metadata.version("paenet-attribute-studio")
    except metadata.PackageNotFoundError:
        version = "unknown"
    counts: dict[str, object] = {
        "ids": len(plan.people),
        "images": len(plan.jobs),
        "images_per_camera": {str(c): n for c, n in plan.images_per_camera().items()},
        "images_per_modality": {
            m.value: sum(1 for j in plan.jobs if j.modality is m) for m in Modality
        },
    }
    return {
        **cfg.identity(),
        "package_version": version,
        "what": "synthetic stand-in dataset written by paenet.synth (not real data)",
        "attributes_file": ATTRIBUTES_FILE,
        "attribute_keys": list(ATTRIBUTE_KEYS),
        "counts": counts,
        "notes": dict(plan.notes),
        "determinism": "per-image numpy SeedSequence of (seed, layout, pid, camera, frame); "
        "identity look from SeedSequence([seed, 0, pid])",
    }


# --- images -------------------------------------------------------------------------

_STATE: dict[str, object] = {}


def _init_worker(layout: str, seed: int, pids: Sequence[int]) -> None:
    _STATE["layout"] = layout
    _STATE["seed"] = seed
    _STATE["people"] = make_people(list(pids), seed)


def encode_job(job: ImageJob, person: Person, layout: str, seed: int) -> bytes:
    """The exact bytes of one image file (JPEG for SYSU, BMP for RegDB)."""
    spec = synth_layout(layout)
    rng = np.random.default_rng(np.random.SeedSequence(job.seed_words(layout, seed)))
    img = render_image(person, spec.look(job), rng, seed, back=job.back)
    buf = io.BytesIO()
    img.save(buf, format=spec.image_format, **spec.save_options)
    return buf.getvalue()


def _run_chunk(out: str, jobs: Sequence[ImageJob]) -> int:
    layout, seed = str(_STATE["layout"]), int(_STATE["seed"])  # type: ignore[call-overload]
    people: dict[int, Person] = _STATE["people"]  # type: ignore[assignment]
    for job in jobs:
        _write_bytes(Path(out) / job.path, encode_job(job, people[job.pid], layout, seed))
    return len(jobs)


def _chunks(jobs: Sequence[ImageJob], size: int) -> Iterator[Sequence[ImageJob]]:
    for i in range(0, len(jobs), size):
        yield jobs[i : i + size]


def _render_all(
    config: SynthConfig,
    jobs: list[ImageJob],
    progress: bool,
    on_progress: ProgressCallback | None = None,
) -> int:
    if not jobs:
        return 0
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        bar.update(n)
        if on_progress is not None:
            on_progress(done, len(jobs))

    default = 1 if config.scale == "tiny" else (os.cpu_count() or 1)
    workers = config.workers or default
    pids = sorted({job.pid for job in jobs})
    bar = tqdm(total=len(jobs), unit="img", desc=f"synth {config.layout}", disable=not progress)
    try:
        if workers == 1 or len(jobs) <= _CHUNK:
            _init_worker(config.layout, config.seed, pids)
            for chunk in _chunks(jobs, 64):
                advance(_run_chunk(str(config.out), chunk))
        else:
            pool = ProcessPoolExecutor(
                max_workers=workers,
                initializer=_init_worker,
                initargs=(config.layout, config.seed, pids),
            )
            try:
                futures = [
                    pool.submit(_run_chunk, str(config.out), chunk)
                    for chunk in _chunks(jobs, _CHUNK)
                ]
                for fut in futures:
                    advance(fut.result())
            except BaseException:
                # Ctrl-C or a failed chunk: drop the queued work instead of finishing it.
                pool.shutdown(wait=True, cancel_futures=True)
                raise
            pool.shutdown()
    finally:
        bar.close()
    return len(jobs)


# --- atomic files -------------------------------------------------------------------


def _write_bytes(path: Path, data: bytes) -> None:
    """Write ``path`` atomically: a hidden ``.NAME.PID.part`` file in the same folder, then
    rename (:mod:`paenet.atomic`)."""
    with atomic_open(path, "wb", suffix=_PART) as fh:
        fh.write(data)


def _write_json(path: Path, doc: object) -> None:
    _write_bytes(path, (json.dumps(doc, indent=2) + "\n").encode("utf-8"))


def _remove_partial_files(out: Path) -> None:
    """Temporary files a killed run may have left behind."""
    removed = 0
    for dirpath, _dirs, files in os.walk(out):
        for name in files:
            if name.startswith(".") and name.endswith(_PART):
                Path(dirpath, name).unlink(missing_ok=True)
                removed += 1
    if removed:
        log.info("removed %d partial files of an interrupted run", removed)


__all__ = ["GENERATOR_VERSION", "attributes_csv", "encode_job", "synthesize"]
