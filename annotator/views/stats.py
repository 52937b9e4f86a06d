"""Agreement & statistics: kappa per attribute, model suggestions against people's labels,
attribute balance, co-occurrence, activity."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import streamlit as st
from matplotlib.figure import Figure

from annotator import runtime
from annotator.store.services.agreement import MIN_KAPPA_ITEMS, agreement
from annotator.store.services.stats import (
    activity,
    balance,
    cooccurrence,
    label_table,
    sources_with_labels,
)
from annotator.store.services.suggestions import match_with_people, model_sources
from annotator.text import plain
from annotator.views.common import choose_dataset, datasets
from paenet.attributes import attribute
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
    splits = list(dict.fromkeys(bal["split"]))  # all identities first, then the splits
    split = st.selectbox("Split", splits, key="stats_split")
    part = bal[bal["split"] == split].drop(columns="split")
    shown = part.assign(
        attribute=[_with_values(k) for k in part["attribute"]]
    )  # "gender (male / female)": what value 0 and value 1 mean, on every row
    st.dataframe(shown, hide_index=True, height=_table_height(len(shown)))
    st.pyplot(balance_figure(part.set_index("attribute")), clear_figure=True)
    co = cooccurrence(table)
    fig, ax = plt.subplots(figsize=(5, 4))
    im = ax.imshow(co.to_numpy(dtype=float), vmin=0, vmax=1, cmap="viridis")
    ax.set_xticks(range(len(co)), co.columns, rotation=60, ha="right")
    ax.set_yticks(range(len(co)), co.index)
    ax.set_title("P(column = 1 | row = 1)")
    fig.colorbar(im, ax=ax)
    st.pyplot(fig, clear_figure=True, width=620)  # a square map: full width is too tall
    st.header("Progress over time")
    _progress(act)


def _with_values(key: str) -> str:
    a = attribute(key)
    return f"{key} ({a.value0} / {a.value1})"


def _table_height(rows: int) -> int:
    """Pixels for a dataframe that shows every row and its header without scrolling."""
    return (rows + 1) * 35 + 3


NO_KAPPA = "—"
"""The kappa cell below the minimum of items (the caption says why)."""
SEGMENTS = ("value 0", "value 1", "unknown", "unlabelled")
COLOURS = ("#4c72b0", "#dd8452", "#a0a0a0", "#e5e5e5")


def balance_figure(part: pd.DataFrame) -> Figure:
    """Stacked bars per attribute; each value segment is labelled with the attribute's own
    value name (the attributes differ: male/female, short/long …) and the legend sits
    below the axes, never over a bar."""
    fig, ax = plt.subplots(figsize=(8, 3.4))
    keys = list(part.index)
    total = float(part[list(SEGMENTS)].sum(axis=1).max() or 1)
    left = [0.0] * len(keys)
    for segment, colour in zip(SEGMENTS, COLOURS):
        widths = [float(part.loc[k, segment]) for k in keys]
        ax.barh(keys, widths, left=left, color=colour, label=segment)
        if segment in ("value 0", "value 1"):
            for i, (k, w) in enumerate(zip(keys, widths)):
                if w >= 0.12 * total:  # room for the name inside the bar
                    name = attribute(k).value_name(int(segment[-1]))
                    ax.text(left[i] + w / 2, i, f"{name} {int(w)}", ha="center",
                            va="center", fontsize=7, color="white")  # fmt: skip
        left = [a + b for a, b in zip(left, widths)]
    ax.invert_yaxis()  # the attributes top to bottom in their usual order
    ax.set_xlabel("identities")
    ax.set_yticks(range(len(keys)), [_with_values(k) for k in keys], fontsize=8)
    ax.legend(
        ["value 0 (first name)", "value 1 (second name)", *SEGMENTS[2:]],
        loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=4, fontsize=8, frameon=False,
    )  # fmt: skip
    fig.tight_layout()
    return fig


def _progress(act: pd.DataFrame) -> None:
    """Cumulative changes per annotator; a sentence instead of a chart while every change
    falls on one day (a line needs two days)."""
    if act.empty:
        st.caption("No human changes yet.")
        return
    days = sorted(act["day"].unique())
    if len(days) < 2:
        per = act.groupby("annotator")["changes"].sum().sort_values(ascending=False)
        st.write(
            plain(
                f"All {int(per.sum())} changes so far were made on {days[0]:%Y-%m-%d}: "
                + ", ".join(f"{name} {int(n)}" for name, n in per.items())
                + ". The chart appears once changes span two days."
            )
        )
        return
    st.line_chart(
        act.pivot_table(index="day", columns="annotator", values="changes", aggfunc="sum")
        .fillna(0)
        .cumsum()
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
    shown = df.assign(kappa=[NO_KAPPA if pd.isna(k) else f"{k:.3f}" for k in df["kappa"]])
    st.dataframe(shown, hide_index=True)
    st.caption(
        f"Kappa is shown from {MIN_KAPPA_ITEMS} items on (fewer say more about chance than "
        "about the raters); below that, compare the raw agreement and the number of items."
    )
    if df["kappa"].isna().all():
        return
    df = df[df["kappa"].notna()]  # no bar where there is no kappa (not a zero)
    fig, ax = plt.subplots(figsize=(7, 2.6))
    ax.bar(df["attribute"], df["kappa"], color="#4c72b0")
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
           "uncalibrated probabilities" + (f" ({cal['held_out']})" if cal.get("held_out") else ""))
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
    st.pyplot(fig, clear_figure=True, width=460)  # a square plot: full width is too tall
