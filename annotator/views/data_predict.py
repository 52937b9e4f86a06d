"""Data page: run ``paenet-predict`` from the browser (the same :func:`run_predict`).

The checkpoint path follows the page's one path rule (inside the data root or a folder of
``PAENET_ALLOWED_ROOTS``). Prediction runs in the page's own request, with a status box:
on 2 CPU cores the full-scale stand-in (45,863 images) takes a few minutes, a real
dataset on a GPU well under one.
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st
from sqlalchemy import select

from annotator import runtime
from annotator.config import AppConfig, PathNotAllowedError, allowed_path
from annotator.predict import PredictOptions, run_predict
from annotator.store.errors import StoreError
from annotator.store.models import Source
from annotator.store.services.records import DatasetInfo
from paenet.data.errors import DatasetError

NO_CALIBRATION_SOURCE = "(the training manifest's held-out identities)"


def render_predict(cfg: AppConfig, known: Mapping[str, DatasetInfo]) -> None:
    st.header("Suggest attributes with a trained model")
    st.caption(
        "Runs a paenet-train checkpoint's attribute head over every image of the dataset and "
        "stores its suggestions (never labels): Annotate shows them where you have no value, "
        "Enter accepts them. Same as `paenet-predict --checkpoint CKPT --dataset NAME`."
    )
    with runtime.store().read() as s:
        label_sources = list(
            s.scalars(select(Source.name).where(Source.kind != "model").order_by(Source.name))
        )
    with st.form("predict"):
        target = st.selectbox("Dataset", sorted(known), key="predict_dataset")
        checkpoint = st.text_input(
            "Checkpoint (.pt, inside the data root or PAENET_ALLOWED_ROOTS)", key="predict_ckpt"
        )
        source = st.text_input("Model source name (empty: model-DATASET)", key="predict_source")
        calibrate_on = st.selectbox(
            "Calibrate on", [NO_CALIBRATION_SOURCE, *label_sources], key="predict_calibrate"
        )
        if not st.form_submit_button("Predict"):
            return
    try:
        path = allowed_path(cfg, checkpoint)
    except PathNotAllowedError as exc:
        st.error(str(exc))
        return
    options = PredictOptions(
        checkpoint=path,
        dataset=target,
        source=source.strip() or None,
        calibrate_on=None if calibrate_on == NO_CALIBRATION_SOURCE else calibrate_on,
        progress=False,
    )
    from paenet.data.images import ImageDecodeError
    from paenet.model.loading import CheckpointError

    with st.status("Predicting…", expanded=True) as box:
        try:
            report = run_predict(runtime.store(), options, on_progress=st.write)
        except (CheckpointError, DatasetError, ImageDecodeError, StoreError, ValueError,
                RuntimeError, OSError) as exc:  # fmt: skip
            box.update(label="Prediction failed", state="error")
            st.error(str(exc))
            return
        box.update(label="Suggestions stored", state="complete")
    st.success("\n\n".join(report.lines()[:2]))
    st.text("\n".join(report.lines()[2:]))
