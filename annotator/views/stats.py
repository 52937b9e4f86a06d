"""Agreement & statistics: kappa per attribute, attribute balance, co-occurrence, activity."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import streamlit as st

from annotator import runtime
from annotator.store.services.agreement import agreement
from annotator.store.services.common import list_sources
from annotator.store.services.stats import activity, balance, cooccurrence, label_table
from annotator.views.common import choose_dataset, datasets


def render() -> None:
    st.title("Agreement & statistics")
    known = datasets()
    if not known:
        st.info("No dataset registered yet (see Data).")
        return
    dataset = choose_dataset(known)
    with runtime.store().read() as s:
        sources = list_sources(s)
    st.header("Agreement")
    picked = st.multiselect(
        "Sources / annotators to compare", sources, default=sources[:2], key="agree_sources"
    )
    per_camera = st.checkbox("Compare per camera (effective per-camera labels)", key="agree_cam")
    if len(picked) >= 2:
        with runtime.store().read() as s:
            rows = agreement(s, dataset, picked, per_camera=per_camera)
        df = pd.DataFrame(
            [
                {
                    "attribute": r.attribute,
                    "method": r.method,
                    "items": r.items,
                    "raw agreement": r.raw,
                    "kappa": r.kappa,
                    "conflicts": len(r.conflicts),
                }
                for r in rows
            ]
        )
        st.dataframe(df, hide_index=True)
        fig, ax = plt.subplots(figsize=(7, 2.6))
        ax.bar(df["attribute"], df["kappa"].fillna(0), color="#4c72b0")
        ax.set_ylabel("kappa")
        ax.set_ylim(min(0.0, float(df["kappa"].min(skipna=True) or 0)), 1)
        ax.tick_params(axis="x", rotation=30)
        st.pyplot(fig, clear_figure=True)
    else:
        st.caption("Pick two or more sources.")
    st.header("Attribute balance and co-occurrence")
    if not sources:
        st.caption("No labels yet.")
        return
    source = st.selectbox("Labels of", sources, key="stats_source")
    with runtime.store().read() as s:
        table = label_table(s, dataset, source)
        act = activity(s, dataset)
    bal = balance(table)
    st.dataframe(bal, hide_index=True, height=240)
    split = st.selectbox("Split", sorted(bal["split"].unique()), key="stats_split")
    part = bal[bal["split"] == split].set_index("attribute")[
        ["value 0", "value 1", "unknown", "unlabelled"]
    ]
    fig, ax = plt.subplots(figsize=(7, 2.8))
    part.plot.barh(stacked=True, ax=ax)
    ax.set_xlabel("identities")
    st.pyplot(fig, clear_figure=True)
    co = cooccurrence(table)
    fig, ax = plt.subplots(figsize=(5, 4))
    im = ax.imshow(co.to_numpy(dtype=float), vmin=0, vmax=1, cmap="viridis")
    ax.set_xticks(range(len(co)), co.columns, rotation=60, ha="right")
    ax.set_yticks(range(len(co)), co.index)
    ax.set_title("P(column = 1 | row = 1)")
    fig.colorbar(im, ax=ax)
    st.pyplot(fig, clear_figure=True)
    st.header("Progress over time")
    if act.empty:
        st.caption("No human changes yet.")
    else:
        st.line_chart(
            act.pivot_table(
                index="day", columns="annotator", values="changes", aggfunc="sum"
            ).cumsum()
        )
