"""Data: register dataset roots, generate the stand-in, import labels, export labels.

Folders and files typed here must lie inside the data root or a folder listed in
``PAENET_ALLOWED_ROOTS`` (:func:`annotator.config.allowed_path`, one rule for every
path); our CSV can also be uploaded. Errors about a file that is not a valid labels
file never quote its content.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from annotator import runtime
from annotator.config import AppConfig, PathNotAllowedError, allowed_path
from annotator.defaults import ensure_registered
from annotator.export.csv_labels import export_csv
from annotator.store.errors import ImportFormatError, StoreError
from annotator.store.faults import display_url
from annotator.store.importers.common import ImportReport, SourceExistsError, UnknownIdsError
from annotator.store.importers.csv_labels import CSV_COLUMNS
from annotator.store.importers.run import ImportFormat, ImportOptions, run_import
from annotator.store.services.datasets import register_dataset
from annotator.store.services.records import DatasetInfo
from annotator.views.common import choose_dataset, datasets
from annotator.views.data_export import render_export
from annotator.views.data_predict import render_predict
from paenet.attributes import ATTRIBUTE_KEYS, LabelValue
from paenet.data.errors import DatasetError
from paenet.data.kinds import FOLDERS, KINDS
from paenet.synth.config import SCALES

ERRORS = (StoreError, DatasetError, ValueError, OSError)
FORMAT_LABELS: Mapping[ImportFormat, str] = {
    ImportFormat.PAENET_MAT: "PAENet .mat folder",
    ImportFormat.PAENET_XLSX: "PAENet label_finished.xlsx",
    ImportFormat.CSV: "our CSV",
    ImportFormat.SYNTH: "synthetic ground truth",
}
EXPECTED: Mapping[ImportFormat, str] = {
    ImportFormat.PAENET_MAT: "a folder holding cam1_att.mat … cam6_att.mat, each an (8, K) "
    "array of 0 and 1",
    ImportFormat.PAENET_XLSX: "the released workbook: sheet Sheet1, an ID column and one-hot "
    "attribute columns",
    ImportFormat.CSV: f"an export of this tool, header {','.join(CSV_COLUMNS)}",
    ImportFormat.SYNTH: "a stand-in root holding synth_attributes.csv (pid and the eight "
    "attributes)",
}
MIDDLE_CHOICES: Mapping[str, int] = {
    "short (0)": 0,
    "long (1)": 1,
    "unknown": int(LabelValue.UNKNOWN),
}
_PAGE_HINTS: tuple[tuple[type[Exception], str], ...] = (
    (SourceExistsError, "type another name under “Source name”"),
    (UnknownIdsError, "tick “Skip ids the dataset does not have” to import the others"),
)


def render() -> None:
    runtime.show_flashes()
    cfg = runtime.config()
    st.title("Data")
    known = datasets()
    if known:  # the dataset chosen on any page is the forms' first choice here
        chosen = choose_dataset(known)
        for key in ("import_dataset", "predict_dataset", "export_dataset"):
            if st.session_state.get("_data_forms_on") != chosen or key not in st.session_state:
                st.session_state[key] = chosen
        st.session_state["_data_forms_on"] = chosen
    _overview(cfg, known)
    _synthetic_section(cfg)
    _register_section(cfg)
    if not known:
        return
    _import_section(cfg, known)
    render_predict(cfg, known)
    _export_section(cfg)
    render_export(known)


def _overview(cfg: AppConfig, known: Mapping[str, DatasetInfo]) -> None:
    st.write(
        f"Database `{display_url(cfg.db_url)}` · data root `{cfg.data_root}`"
        + (f" · rand_perm_cam.mat `{cfg.rand_perm}`" if cfg.rand_perm else "")
    )
    if cfg.extra_roots:
        st.caption("Also allowed: " + ", ".join(f"`{r}`" for r in cfg.extra_roots))
    if known:
        st.dataframe(
            [
                {"name": d.name, "kind": d.kind, "root": d.root, "identities": d.identities,
                 "images": d.images}
                for d in known.values()
            ],
            hide_index=True,
        )  # fmt: skip


def _synthetic_section(cfg: AppConfig) -> None:
    st.header("Synthetic stand-in")
    st.caption("Writes SYSU-MM01 and RegDB stand-ins in the real layouts under the data root.")
    scale = st.radio("Scale", list(SCALES), horizontal=True, key="synth_scale")
    if st.button("Generate and register the stand-in"):
        try:
            _generate(cfg, scale)
        except ERRORS as exc:
            st.error(f"The stand-in was not written: {exc}")
            return
        added = ensure_registered(runtime.store(), cfg)
        st.success(f"Registered: {', '.join(added) or 'already registered'}")


def _generate(cfg: AppConfig, scale: str) -> None:
    """Write each missing stand-in with a progress bar per layout (a full one takes ~40 s)."""
    from paenet.synth import INFO_FILE, SynthConfig, synthesize

    for kind, folder in FOLDERS.items():
        out = cfg.synthetic_root / folder
        if (out / INFO_FILE).is_file():
            st.write(f"{folder}: already written")
            continue
        bar = st.progress(0.0, text=f"writing the {folder} stand-in…")

        def report(done: int, total: int, bar=bar, folder=folder) -> None:  # type: ignore[no-untyped-def]
            bar.progress(done / total, text=f"{folder}: {done}/{total} images")

        synthesize(SynthConfig(layout=kind, out=out, scale=scale, seed=0), on_progress=report)
        bar.progress(1.0, text=f"{folder} ready")


def _register_section(cfg: AppConfig) -> None:
    st.header("Register a dataset root")
    with st.form("register"):
        name = st.text_input("Name (used in links)", value="sysu")
        kind = st.selectbox("Layout", KINDS)
        root = st.text_input("Root folder", value=str(cfg.dataset_root("sysu")))
        if st.form_submit_button("Register / rescan"):
            try:
                folder = allowed_path(cfg, root)
                with runtime.store().write() as s:
                    info = register_dataset(s, name, kind, folder)
                st.success(f"{info.name}: {info.identities} identities, {info.images} images")
            except ERRORS as exc:
                st.error(str(exc))


def _import_section(cfg: AppConfig, known: Mapping[str, DatasetInfo]) -> None:
    st.header("Import labels")
    fmt = st.selectbox(
        "Format", list(FORMAT_LABELS), format_func=FORMAT_LABELS.__getitem__, key="import_format"
    )
    with st.form("import"):
        target = st.selectbox("Into dataset", sorted(known), key="import_dataset")
        path = st.text_input("Path (inside the data root or PAENET_ALLOWED_ROOTS)")
        upload = (
            st.file_uploader("… or upload our CSV", type=["csv"])
            if fmt is ImportFormat.CSV
            else None
        )
        options = _import_options(fmt)
        if st.form_submit_button("Import"):
            _run_import(cfg, fmt, target, path, upload, options)


def _import_options(fmt: ImportFormat) -> ImportOptions:
    """The form fields of the options that apply to ``fmt``."""
    if fmt is ImportFormat.CSV:
        return ImportOptions()
    source = st.text_input("Source name (empty: default)") or None
    if fmt is ImportFormat.SYNTH:
        return ImportOptions(source=source)
    flips: list[str] = []
    middle = 0
    if fmt is ImportFormat.PAENET_MAT:
        flips = st.multiselect("Flip polarity", ATTRIBUTE_KEYS)
    else:
        choice = st.radio(
            "Trousers length 'middle' counts as", list(MIDDLE_CHOICES), horizontal=True
        )
        middle = MIDDLE_CHOICES[choice]
    skip = st.checkbox("Skip ids the dataset does not have")
    return ImportOptions(
        source=source, flip=tuple(flips), middle_trousers=middle, skip_unknown_ids=skip
    )


def _run_import(
    cfg: AppConfig,
    fmt: ImportFormat,
    target: str,
    path: str,
    upload: UploadedFile | None,
    options: ImportOptions,
) -> None:
    with tempfile.TemporaryDirectory(prefix="paenet-upload-") as tmp:
        try:
            source, shown = _import_source(cfg, path, upload, Path(tmp))
        except (PathNotAllowedError, FileNotFoundError) as exc:
            st.error(str(exc))
            return
        try:
            with runtime.store().write() as s:
                rep = run_import(s, fmt, source, target, options)
        except ERRORS as exc:
            st.error(describe_import_error(exc, fmt, source, shown))
            return
    _show_report(rep)


def _import_source(
    cfg: AppConfig, path: str, upload: UploadedFile | None, tmp: Path
) -> tuple[Path, str]:
    """The file or folder to import, and how to name it to a person: an upload is saved
    under ``tmp``; a typed path must pass :func:`allowed_path` and exist."""
    if upload is not None:
        source = tmp / _safe_name(upload.name)
        source.write_bytes(upload.getvalue())
        return source, f"the uploaded file {upload.name!r}"
    source = allowed_path(cfg, path)
    if not source.exists():
        raise FileNotFoundError(f"{source} does not exist")
    return source, str(source)


def _safe_name(name: str) -> str:
    """An uploaded file's name as a plain file name (the CSV source is named after it)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).name).lstrip(".")
    return cleaned or "upload.csv"


def describe_import_error(exc: Exception, fmt: ImportFormat, source: Path, shown: str) -> str:
    """An import error in this page's words. A file that is not a valid labels file is
    named with what was expected, never with its content."""
    if isinstance(exc, ImportFormatError):
        return (
            f"{shown} is not a valid file for “{FORMAT_LABELS[fmt]}”: expected {EXPECTED[fmt]}. "
            "Nothing was imported."
        )
    message = str(exc).replace(str(source), shown)
    for kind, hint in _PAGE_HINTS:
        if isinstance(exc, kind):
            return f"{message} ({hint})"
    return message


def _show_report(rep: ImportReport) -> None:
    st.success(f"Imported {rep.labels} labels of {rep.identities} identities as {rep.source}.")
    for what, n in rep.skipped.items():
        st.write(f"skipped {n}: {what}")
    if rep.notes:
        st.warning(f"{len(rep.notes)} identities disagree across cameras (see Review).")


def _export_section(cfg: AppConfig) -> None:
    st.header("Export labels")
    if st.button("Export every label and decision to CSV"):
        out = cfg.data_root / "exports" / f"labels-{datetime.now(UTC):%Y%m%dT%H%M%S}.csv"
        with runtime.store().read() as s:
            n = export_csv(s, out)
        st.success(f"Wrote {n} rows to {out}")
        st.download_button("Download", out.read_bytes(), file_name=out.name, mime="text/csv")
