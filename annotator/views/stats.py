"""Agreement & statistics: kappa per attribute, model suggestions against people's labels,
attribute balance, co-occurrence, activity."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import streamlit as st

from annotator import runtime
from annotator.store.services.agreement import agreement
from annotator.store.services.stats import (
    activity,
    balance,
    cooccurrence,
    label_table,
    sources_with_labels,
)
from annotator.store.services.suggestions import match_with_people, model_sources
from annotator.views.common import choose_dataset, datasets
from paenet.suggest.calibration import reliability_bins


def render() -> None:
    st.title("Agreement & statistics")
    known = datasets()
    if not known:
        st.info("No dataset registered yet (see Data).")
        return
    dataset = choose_dataset(known)
    with runtime.store().read() as s:
        sources = sources_with_labels(s, dataset)  # only those with labels here
    st.header("Agreement")
    if len(sources) < 2:
        st.info(
            f"Agreement compares two or more sources, and {dataset} has labels from "
            + (f"only one ({sources[0]})." if sources else "none yet.")
            + " Label identities on **Annotate** under your name, or import the published "
            "labels on **Data**, to compare them here."
        )
    else:
        _agreement(dataset, sources)
    _suggestions(dataset)
    st.header("Attribute balance and co-occurrence")
    if not sources:
        st.info(f"No labels on {dataset} yet: nothing to count.")
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


def _agreement(dataset: str, sources: list[str]) -> None:
    """Kappa per attribute between the picked sources (two preselected)."""
    if any(s not in sources for s in st.session_state.get("agree_sources", [])):
        st.session_state.pop("agree_sources")  # picked on another dataset
    picked = st.multiselect(
        "Sources / annotators to compare", sources, default=sources[:2], key="agree_sources"
    )
    per_camera = st.checkbox("Compare per camera (effective per-camera labels)", key="agree_cam")
    if len(picked) < 2:
        st.caption("Pick two or more sources.")
        return
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
    if not df["items"].any():
        st.info(f"No identity of {dataset} is labelled by all of {', '.join(picked)} yet.")
        return
    st.dataframe(df, hide_index=True)
    if df["kappa"].isna().all():
        st.caption("Kappa is undefined on these few items (every rater gave one value).")
        return
    fig, ax = plt.subplots(figsize=(7, 2.6))
    ax.bar(df["attribute"], df["kappa"].fillna(0), color="#4c72b0")
    ax.set_ylabel("kappa")
    ax.set_ylim(min(0.0, float(df["kappa"].min(skipna=True) or 0)), 1)
    ax.tick_params(axis="x", rotation=30)
    st.pyplot(fig, clear_figure=True)


def _suggestions(dataset: str) -> None:
    """How often a model's suggestions matched people's labels, and its reliability."""
    with runtime.store().read() as s:
        models = model_sources(s, dataset)
    if not models:
        return
    st.header("Model suggestions")
    names = [m.name for m in models]
    name = st.selectbox("Model source", names, key="stats_model")
    model = models[names.index(name)]
    with runtime.store().read() as s:
        matches, pairs = match_with_people(s, dataset, name)
    cal = model.details.get("calibration", {})
    st.caption(
        f"checkpoint {model.checkpoint_sha[:12]} · run {model.details.get('run')} · "
        + ("calibrated on " + str(cal.get("held_out")) if model.calibrated else
           "uncalibrated probabilities (" + str(cal.get("held_out", "")) + ")")
    )  # fmt: skip
    per_attr = cal.get("attributes", {})
    df = pd.DataFrame(
        [
            {
                "attribute": m.key,
                "compared with people": m.compared,
                "suggestion matched": m.matched,
                "match rate": m.rate,
                "temperature": per_attr.get(m.key, {}).get("temperature"),
                "ECE before": per_attr.get(m.key, {}).get("ece_before"),
                "ECE after": per_attr.get(m.key, {}).get("ece_after"),
            }
            for m in matches
        ]
    )
    st.dataframe(df, hide_index=True, height=(len(df) + 1) * 35 + 3)
    if not pairs:
        st.caption("No identity has both a suggestion and a person's 0/1 label yet.")
        return
    probs, labels = zip(*pairs)
    cells = reliability_bins(probs, labels)
    fig, ax = plt.subplots(figsize=(4, 3.2))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="calibrated")
    ax.plot([c.mean_probability for c in cells], [c.positive_rate for c in cells], marker="o",
            label=f"{name} ({len(pairs)} labels)")  # fmt: skip
    ax.set_xlabel("suggested probability of value 1")
    ax.set_ylabel("fraction labelled 1 by people")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title("Reliability (all attributes)")
    st.pyplot(fig, clear_figure=True)
