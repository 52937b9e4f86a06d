"""Data: register dataset roots, import published labels or CSV, export labels."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import streamlit as st

from annotator import runtime
from annotator.defaults import ensure_registered
from annotator.store.errors import StoreError
from annotator.store.importers.csvio import export_csv, import_csv
from annotator.store.importers.paenet import import_paenet_mat, import_paenet_xlsx
from annotator.store.services.datasets import register_dataset
from annotator.views.common import datasets
from annotator.views.data_export import render_export
from paenet.attributes import ATTRIBUTE_KEYS
from paenet.data.errors import DatasetError

ERRORS = (StoreError, DatasetError, ValueError, OSError)


def render() -> None:
    runtime.show_flashes()
    cfg = runtime.config()
    st.title("Data")
    known = datasets()
    st.write(
        f"Database `{cfg.db_url}` · data root `{cfg.data_root}`"
        + (f" · rand_perm_cam.mat `{cfg.rand_perm}`" if cfg.rand_perm else "")
    )
    if known:
        st.dataframe(
            [
                {
                    "name": d.name,
                    "kind": d.kind,
                    "root": d.root,
                    "identities": d.identities,
                    "images": d.images,
                }
                for d in known.values()
            ],
            hide_index=True,
        )
    st.header("Synthetic stand-in")
    st.caption("Writes SYSU-MM01 and RegDB stand-ins in the real layouts under the data root.")
    scale = st.radio("Scale", ["tiny", "full"], horizontal=True, key="synth_scale")
    if st.button("Generate and register the stand-in"):
        from paenet.synth import SynthConfig, synthesize

        bar = st.progress(0.0, text="writing the SYSU-MM01 stand-in…")
        for i, (layout, folder) in enumerate((("sysu", "SYSU-MM01"), ("regdb", "RegDB"))):
            out = cfg.synthetic_root / folder
            if not (out / "synth_info.json").is_file():
                synthesize(SynthConfig(layout=layout, out=out, scale=scale, seed=0))
            bar.progress((i + 1) / 2, text=f"{folder} ready")
        added = ensure_registered(runtime.store(), cfg)
        st.success(f"Registered: {', '.join(added) or 'already registered'}")
    st.header("Register a dataset root")
    with st.form("register"):
        name = st.text_input("Name (used in links)", value="sysu")
        kind = st.selectbox("Layout", ["sysu", "regdb"])
        root = st.text_input("Root folder", value=str(cfg.data_root / "SYSU-MM01"))
        if st.form_submit_button("Register / rescan"):
            try:
                with runtime.store().write() as s:
                    info = register_dataset(s, name, kind, Path(root))
                st.success(f"{info.name}: {info.identities} identities, {info.images} images")
            except ERRORS as exc:
                st.error(str(exc))
    if not known:
        return
    st.header("Import labels")
    with st.form("import"):
        target = st.selectbox("Into dataset", sorted(known))
        fmt = st.selectbox(
            "Format", ["PAENet .mat folder", "PAENet label_finished.xlsx", "our CSV"]
        )
        path = st.text_input("Path (folder with cam1_att.mat … or a file)")
        source = st.text_input("Source name (empty: default)")
        flips = st.multiselect("Flip polarity (.mat)", ATTRIBUTE_KEYS)
        skip = st.checkbox("Skip ids the dataset does not have")
        if st.form_submit_button("Import"):
            try:
                with runtime.store().write() as s:
                    if fmt.endswith("folder"):
                        rep = import_paenet_mat(
                            s, target, path, source or "paenet-mat", flips, skip
                        )
                    elif fmt.endswith("xlsx"):
                        rep = import_paenet_xlsx(
                            s, target, path, source or "paenet-xlsx", skip_unknown_ids=skip
                        )
                    else:
                        rep = import_csv(s, path)
                st.success(
                    f"Imported {rep.labels} labels of {rep.identities} identities as {rep.source}."
                )
                for what, n in rep.skipped.items():
                    st.write(f"skipped {n}: {what}")
                if rep.notes:
                    st.warning(f"{len(rep.notes)} identities disagree across cameras (see Review).")
            except ERRORS as exc:
                st.error(str(exc))
    st.header("Export labels")
    if st.button("Export every label and decision to CSV"):
        out = cfg.data_root / "exports" / f"labels-{datetime.now(UTC):%Y%m%dT%H%M%S}.csv"
        with runtime.store().read() as s:
            n = export_csv(s, out)
        st.success(f"Wrote {n} rows to {out}")
        st.download_button("Download", out.read_bytes(), file_name=out.name, mime="text/csv")
    render_export(known)
