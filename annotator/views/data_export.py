"""The Data page's export section: the same export as ``paenet-export``, with its choices."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import streamlit as st

from annotator import runtime
from annotator.export.official import OFFICIAL_FORMAT, OfficialFormatError
from annotator.export.run import UNKNOWN_POLICIES, ExportOptions, UnknownLabelsError, run_export
from annotator.store.errors import StoreError
from annotator.store.services.lookups import list_sources
from annotator.store.services.records import DatasetInfo
from paenet.data.errors import DatasetError
from paenet.data.manifest import ManifestError

ERRORS = (StoreError, DatasetError, ManifestError, OfficialFormatError, ValueError, OSError)
POLICY_LABEL = "Unknown or undecided values of training identities"
POLICY_HINT = (
    f"Label or decide them, or choose another “{POLICY_LABEL}” above: drop (leave those "
    "identities out of training), 0 or 1 (fill)."
)
POLICY_HELP = {
    "fail": "stop and list them",
    "drop": "leave those identities out of training",
    "0": "fill with 0",
    "1": "fill with 1",
}


def render_export(known: Mapping[str, DatasetInfo]) -> None:
    """Header, form and outcome of one export (the result stays shown until the next one)."""
    cfg = runtime.config()
    st.header("Manifests")
    st.caption(
        "Writes an attribute-augmented manifest (images with per-image labels and their "
        "provenance, the test protocols), exactly as `paenet-export` does; the trainer "
        "and the evaluator read only that directory."
    )
    with runtime.store().read() as s:
        sources = list_sources(s)
    with st.form("export_manifest"):
        dataset = st.selectbox("Dataset", sorted(known), key="export_dataset")
        chosen = st.multiselect(
            "Label sources, in priority order (empty: the annotators' agreed value; "
            "imported sources count only when chosen)",
            sources,
            key="export_sources",
        )
        policy = st.radio(
            POLICY_LABEL,
            UNKNOWN_POLICIES,
            format_func=lambda p: f"{p}: {POLICY_HELP[p]}",
            horizontal=True,
            key="export_unknown",
        )
        official = st.checkbox(
            f"Also write cam1_att.mat … cam6_att.mat ({OFFICIAL_FORMAT}, SYSU-MM01 only)",
            key="export_official",
        )
        out_text = st.text_input(
            "Output directory (empty: <data root>/manifests/<dataset>)", key="export_out"
        )
        st.caption(
            "SYSU gallery sampling: "
            + (
                f"official, `{cfg.rand_perm}`"
                if cfg.rand_perm
                else "seeded (no rand_perm_cam.mat set)"
            )
        )
        submitted = st.form_submit_button("Export")
    if submitted and dataset:
        out = Path(out_text) if out_text.strip() else cfg.data_root / "manifests" / dataset
        options = ExportOptions(
            dataset=dataset,
            out=out,
            sources=tuple(chosen) if chosen else None,
            unknown=policy,
            formats=("manifest", OFFICIAL_FORMAT) if official else ("manifest",),
            rand_perm=cfg.rand_perm,
        )
        _run(options)


def _run(options: ExportOptions) -> None:
    try:
        with st.spinner(f"Exporting {options.dataset}…"):
            result = run_export(runtime.store(), options)
    except UnknownLabelsError as exc:
        st.error("Export stopped: unknown or undecided attributes of training identities.")
        st.code(exc.summary.describe(how=POLICY_HINT), language=None, wrap_lines=True)
        return
    except ERRORS as exc:
        st.error(str(exc))
        return
    directory = result.directory.resolve()
    st.success(
        f"Wrote {result.images} images of {result.identities} identities and "
        f"{result.protocols} protocols to {directory}"
    )
    # the path to copy (button on the right): a file:// link is blocked from an http page
    st.caption("Output folder")
    st.code(str(directory), language=None, wrap_lines=True)
    notes = []
    if result.dropped:
        notes.append(f"dropped {len(result.dropped)} training identities")
    if result.filled:
        notes.append(f"filled {result.filled} unknown values with {options.unknown}")
    if result.test_unknowns:
        notes.append(f"kept {result.test_unknowns} unknown values of test identities")
    if result.files:
        notes.append("also wrote " + ", ".join(result.files))
    for note in notes:
        st.write(note)
