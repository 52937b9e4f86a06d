"""Annotate: one identity at a time, eight three-state attributes, saved on every click.

Where the labeller has no value, each row marks the value ``Enter`` would save: the
model's suggestion (``paenet-predict``; a light bulb and the probability, the row says
"suggested"), else the dataset's usual value (a return-key icon, "usual"). Neither is a
label until accepted (``Enter`` or the Accept button: the labeller's label, its history
row saying where it came from).

Keyboard (``annotator.components.keys.shortcuts``): ``Enter`` save the marked values,
``1``–``8`` flip attribute i away from what is shown, ``Shift+1``–``8`` unknown,
``Left``/``Right`` previous/next identity, ``N`` next needing work, ``U`` undo. The
keys are queued in the browser and applied in order (:mod:`annotator.views.annotate_keys`),
none is dropped.
"""

from __future__ import annotations

import streamlit as st

from annotator import runtime
from annotator.components.keys.shortcuts import HELP, flip_key, unknown_key
from annotator.store.errors import StaleVersionError, StoreError, UnknownIdentityError
from annotator.store.services.label_reads import get_identity, history, labels_seen_by
from annotator.store.services.label_writes import (
    AcceptSuggestions,
    apply_key_batch,
    set_label,
    undo_last,
)
from annotator.store.services.lookups import dataset_row
from annotator.store.services.queue import (
    ProgressReport,
    Status,
    neighbour,
    next_identity,
    progress,
    statuses,
)
from annotator.store.services.records import IdentityView
from annotator.store.services.suggestions import (
    Suggested,
    UsualValue,
    model_sources,
    next_least_confident,
    suggestions_of,
    usual_values,
)
from annotator.text import plain
from annotator.views import annotate_keys
from annotator.views.common import (
    camera_label,
    choose_dataset,
    choose_image_size,
    datasets,
    image_strip,
    large_image,
    show_place,
)
from paenet.attributes import ATTRIBUTES, LabelValue
from paenet.data.kinds import identity_splits

SPLITS_ALL = "all splits"
NO_SUGGESTIONS = "(none)"
QUEUE_NEEDING_WORK = "next needing work"
QUEUE_LEAST_CONFIDENT = "least confident first"
SUGGESTED_ICON = ":material/lightbulb:"
USUAL_ICON = ":material/keyboard_return:"
"""On the button of the dataset's usual value of an attribute nobody suggested: Enter
saves it."""
PANEL_KEY = "label-panel"
STICKY_PANEL_CSS = """<style>
div[data-testid="stLayoutWrapper"]:has(> .st-key-label-panel),
.st-key-label-panel { position: sticky; top: 3.75rem; z-index: 3; }
</style>"""
"""The label panel stays in view while the camera strips scroll (real identities have up to
~40 images per camera). The panel's wrapper is the sticky one: the panel itself is as tall
as its wrapper (no room to stick), the wrapper sits in the column, which spans the strips."""


def _split_filter() -> str | None:
    split = st.session_state.get("split", SPLITS_ALL)
    return None if split == SPLITS_ALL else split


def _go(pid: int | None) -> None:
    if pid is None:
        runtime.flash("info", "No identity there.")
        return
    st.session_state["pid"] = pid


def _suggestion_source() -> str | None:
    source = st.session_state.get("suggest_source", NO_SUGGESTIONS)
    return None if source in (None, NO_SUGGESTIONS) else source


def _least_confident() -> bool:
    return bool(
        _suggestion_source() and st.session_state.get("queue_order") == QUEUE_LEAST_CONFIDENT
    )


def _next_needing_work(dataset: str) -> None:
    who = runtime.annotator_name() or ""
    source = _suggestion_source()
    with runtime.store().read() as s:
        current = st.session_state.get("pid")
        if _least_confident() and source:
            pid = next_least_confident(s, dataset, who, source, _split_filter(), current)
        else:
            pid = next_identity(s, dataset, who, _split_filter(), current)
    if pid is None:
        runtime.flash("success", "Every identity in this selection is fully labelled.")
    else:
        st.session_state["pid"] = pid


def _step(dataset: str, pid: int, step: int) -> None:
    with runtime.store().read() as s:
        _go(neighbour(s, dataset, pid, step, _split_filter()))


def _save(dataset: str, pid: int, attribute: str, value: int | None, camera: int | None) -> None:
    """Save one click; ``camera=None`` is the identity-wide label. A save stale only
    because of this annotator's own newer saves builds on them (the service's rule)."""
    who = runtime.annotator_name()
    if not who:
        runtime.flash("warning", "Enter your name in the sidebar first: every change is signed.")
        return
    try:
        with runtime.store().write() as s:
            st.session_state["seen_version"] = set_label(
                s, dataset, pid, attribute, value, who, st.session_state["seen_version"],
                camera, build_on_own=True,
            )  # fmt: skip
    except StaleVersionError as exc:
        runtime.flash("error", str(exc))


def _save_override(
    dataset: str, pid: int, attribute: str, camera: int, key: str, current: int | None
) -> None:
    """Save a per-camera override; a control that reports the value already stored (a
    freshly drawn control during fast reruns reports "none") saves nothing."""
    choice = st.session_state.get(key)
    value = (
        None
        if choice in (None, "identity")
        else {"0": 0, "1": 1, "?": int(LabelValue.UNKNOWN)}[choice]
    )
    if value != current:
        _save(dataset, pid, attribute, value, camera)


def _accept(dataset: str, pid: int, source: str) -> None:
    """Save the shown value of every attribute the labeller has not set (``source``'s
    suggestions, else the dataset's usual values), in one transaction."""
    who = runtime.annotator_name()
    if not who:
        runtime.flash("warning", "Enter your name in the sidebar first: every change is signed.")
        return
    try:
        with runtime.store().write() as s:
            result = apply_key_batch(
                s, dataset, pid, [AcceptSuggestions(source)], who,
                st.session_state["seen_version"], build_on_own=True,
            )  # fmt: skip
        st.session_state["seen_version"] = result.version
        for line in result.skipped:
            runtime.flash("info", line)
    except StoreError as exc:
        runtime.flash("error", str(exc))


def _undo(dataset: str, pid: int) -> None:
    who = runtime.annotator_name()
    if not who:
        return
    try:
        with runtime.store().write() as s:
            version = undo_last(s, dataset, pid, who, st.session_state["seen_version"])
        st.session_state["seen_version"] = version
    except StoreError as exc:  # stale version or nothing to undo
        runtime.flash("warning", str(exc))


def render() -> None:
    keyboard = st.container()  # first in the page: the key capture keeps its place
    known = datasets()
    if not known:
        runtime.show_flashes()
        st.title("Annotate")
        st.info(
            "No dataset is registered yet. Open **Data** to register a SYSU-MM01 or RegDB root "
            "or to generate the synthetic stand-in."
        )
        return
    dataset = choose_dataset(known)  # follows a pasted link; another dataset forgets pid
    st.session_state["_view_dataset"] = dataset
    kind = known[dataset].kind
    splits = [SPLITS_ALL, *identity_splits(kind)]  # RegDB: none (its splits are per trial)
    if st.session_state.get("split") not in splits:
        st.session_state["split"] = SPLITS_ALL
    st.sidebar.selectbox("Split", splits, key="split")
    _suggestion_controls(dataset)
    annotate_keys.process(dataset, _split_filter(), _suggestion_source(), _least_confident())
    runtime.show_flashes()
    who = runtime.annotator_name()
    store = runtime.store()
    with store.read() as s:

        def first() -> int | None:  # first unfinished identity, else the first one
            return next_identity(s, dataset, who or "", _split_filter()) or neighbour(
                s, dataset, 0, 1, _split_filter()
            )

        pid = st.session_state.get("pid")
        if pid is None:
            pid = first()
        try:
            view = get_identity(s, dataset, pid) if pid is not None else None
        except UnknownIdentityError as exc:  # e.g. a link to an id the dataset lacks
            st.error(plain(f"{exc}; showing the first identity needing work instead."))
            pid = first()
            view = get_identity(s, dataset, pid) if pid is not None else None
        status = statuses(s, dataset, who) if who else {}
        report = progress(s, dataset, who, status) if who else None
        hist = history(s, dataset, view.pid) if view is not None else []
        source = _suggestion_source()
        suggested = suggestions_of(s, dataset, view.pid, source) if view and source else {}
        usual = usual_values(s, dataset_row(s, dataset).id)
    _sidebar_progress(report)
    _status_list(status, dataset)
    if view is None:
        st.info(
            "Nothing to show: every identity of this selection is labelled, or the split is empty."
        )
        return
    st.session_state["pid"] = view.pid
    st.session_state["seen_version"] = view.version
    show_place(dataset, view.pid)
    _header(view, dataset, source if suggested else None)
    with keyboard:
        annotate_keys.mount(enabled=bool(who))
    if not who:
        st.warning("Enter your name in the sidebar to label: every change is signed.")
    size = choose_image_size()  # sidebar; remembered by this browser
    strips, panel = st.columns([1, 1], gap="medium")
    with strips:
        image_strip(view, kind, size=size)
    with panel, st.container(key=PANEL_KEY):
        _attribute_controls(view, dataset, who, suggested, usual)
    st.html(STICKY_PANEL_CSS)
    _overrides(view, dataset, kind, who)
    _history(hist, dataset, view)


def _suggestion_controls(dataset: str) -> None:
    """Sidebar: which model's suggestions to show, and the order ``N`` follows."""
    with runtime.store().read() as s:
        names = [m.name for m in model_sources(s, dataset)]
    options = [NO_SUGGESTIONS, *names]
    if st.session_state.get("suggest_source") not in options:
        st.session_state["suggest_source"] = names[0] if names else NO_SUGGESTIONS
    if not names:
        return  # nothing to choose: no model has predicted this dataset
    st.sidebar.selectbox(
        "Suggestions from", options, key="suggest_source",
        help="a model source written by paenet-predict; its suggestions are shown where you "
        "have no value yet, and Enter accepts them",
    )  # fmt: skip
    st.sidebar.radio(
        "Queue (key N)", [QUEUE_NEEDING_WORK, QUEUE_LEAST_CONFIDENT], key="queue_order",
        help="least confident first: the identities whose suggestions are closest to 50 % "
        "(smallest |p − 0.5| over the eight attributes) come first",
        disabled=_suggestion_source() is None,
    )  # fmt: skip


def _sidebar_progress(report: ProgressReport | None) -> None:
    if report is None:
        return
    shown = [(SPLITS_ALL, report.overall)]
    split = _split_filter()
    if split is not None and split in report.by_split:
        shown.append((split, report.by_split[split]))
    for name, row in shown:
        st.sidebar.progress(
            row.fraction,
            text=f"{name}: {row.done}/{row.total} done · {row.partial} partial · "
            f"{row.conflict} in conflict",
        )


def _status_list(status: dict[int, Status], dataset: str) -> None:
    """Identities filterable by status; choosing one opens it."""
    if not status:
        return
    with st.sidebar.expander("Identities by status"):
        wanted = st.multiselect(
            "Status",
            [s.value for s in Status],
            default=[Status.UNLABELLED.value, Status.PARTIAL.value, Status.CONFLICT.value],
            key="status_filter",
        )
        pids = [pid for pid, st_ in sorted(status.items()) if st_.value in wanted]
        st.caption(f"{len(pids)} identities")
        st.selectbox(
            "Open identity", pids, index=None, key=f"jump-{dataset}",
            format_func=lambda p: f"{p} ({status[p].value})",
            on_change=_jump, args=(f"jump-{dataset}",),
        )  # fmt: skip


def _jump(key: str) -> None:
    if st.session_state.get(key) is not None:
        st.session_state["pid"] = st.session_state[key]
        st.session_state[key] = None


def _header(view: IdentityView, dataset: str, suggestions: str | None = None) -> None:
    st.title(plain(f"{dataset} · id {view.pid}"))
    st.caption(
        plain(
            (f"split {view.split} · " if view.split else "")  # RegDB: splits are per trial
            + f"version {view.version}"
            + (" · reviewed" if view.reviewed else "")
            + f" · link: ?dataset={dataset}&pid={view.pid}"
        )
    )
    c1, c2, c3, c4, c5 = st.columns([1, 1, 1.2, 1.2, 1.4])
    c1.button(
        "← Previous", on_click=_step, args=(dataset, view.pid, -1), help="key `←`", width="stretch"
    )
    c2.button(
        "Next →", on_click=_step, args=(dataset, view.pid, 1), help="key `→`", width="stretch"
    )
    c3.button(
        "Next needing work",
        on_click=_next_needing_work,
        args=(dataset,),
        help="key `N`",
        type="primary",
        width="stretch",
    )
    c4.button(
        "Undo my last change",
        on_click=_undo,
        args=(dataset, view.pid),
        help="key `U`",
        width="stretch",
    )
    c5.button(
        "Accept the suggestions" if suggestions else "Accept the usual values",
        icon=SUGGESTED_ICON if suggestions else USUAL_ICON,
        on_click=_accept,
        args=(dataset, view.pid, suggestions or ""),
        help="key `Enter`: every attribute you have not labelled takes the value shown "
        + (f"({suggestions}'s suggestion" if suggestions else "(the dataset's usual value")
        + "; your label, signed, its history line says where it came from)",
        disabled=not runtime.annotator_name(),
        width="stretch",
    )
    st.caption(HELP)


def _attribute_controls(
    view: IdentityView,
    dataset: str,
    who: str | None,
    suggested: dict[str, Suggested],
    usual: dict[str, UsualValue],
) -> None:
    """One row per attribute. Where the labeller has no value, the value Enter would save
    is marked: the model's suggestion (light bulb, probability), else the dataset's usual
    value (return-key icon)."""
    seen = labels_seen_by(view, who)
    for attr in ATTRIBUTES:
        current, others = seen[attr.key].mine, seen[attr.key].others
        hint = suggested.get(attr.key) if current is None else None
        default = usual[attr.key] if current is None and hint is None else None
        cols = st.columns([1.4, 1.2, 1.2, 1.2], vertical_alignment="center")
        cols[0].markdown(f"**{attr.index + 1}. {attr.title}**")
        for col, value, label in (
            (cols[1], 0, attr.value0),
            (cols[2], 1, attr.value1),
            (cols[3], int(LabelValue.UNKNOWN), "unknown"),
        ):
            is_hint = hint is not None and hint.value == value
            is_default = default is not None and default.value == value
            keys = (
                f"key `{unknown_key(attr.index)}`"
                if value == int(LabelValue.UNKNOWN)
                else f"key `{flip_key(attr.index)}` flips, `Enter` saves the marked value"
            )
            col.button(
                f"{label} {hint.confidence:.0%}" if is_hint and hint else label,
                key=f"set-{attr.key}-{value}",
                on_click=_save,
                args=(dataset, view.pid, attr.key, value, None),
                type="primary" if current == value else "secondary",
                icon=SUGGESTED_ICON if is_hint else USUAL_ICON if is_default else None,
                help=keys
                + (f" · suggested by the model (p = {hint.confidence:.2f})"
                   if is_hint and hint else " · the usual value in this dataset"
                   if is_default else ""),
                disabled=not who,
                width="stretch",
            )  # fmt: skip
        notes = [f"{src}: {attr.value_name(v)}" for src, v in sorted(others.items())]
        if hint is not None:
            notes.insert(0, f"suggested: {attr.value_name(hint.value)} ({hint.confidence:.0%})")
        elif default is not None:
            share = (f"{default.share:.0%} of {default.labelled} labels"
                     if default.share is not None else "no labels yet")  # fmt: skip
            notes.insert(0, f"usual: {attr.value_name(default.value)} ({share})")
        if notes:
            st.caption(plain(" · ".join(notes)))


def _overrides(view: IdentityView, dataset: str, kind: str, who: str | None) -> None:
    with st.expander("Per-camera overrides (an attribute that differs by camera)"):
        cam = st.selectbox(
            "Camera",
            sorted(view.images),
            format_func=lambda c: camera_label(kind, c),
            key="override_camera",
        )
        seen = labels_seen_by(view, who, cam) if cam is not None else {}
        for attr in ATTRIBUTES:
            current = seen[attr.key].mine if cam is not None else None
            key = f"ov-{view.pid}-{cam}-{attr.key}-{view.version}"
            st.segmented_control(
                attr.title,
                ["identity", "0", "1", "?"],
                format_func=lambda o, a=attr: {
                    "identity": "as identity",
                    "0": a.value0,
                    "1": a.value1,
                    "?": "unknown",
                }[o],
                default={None: "identity", 0: "0", 1: "1", LabelValue.UNKNOWN: "?"}[current],
                key=key,
                on_change=_save_override,
                args=(dataset, view.pid, attr.key, cam, key, current),
                disabled=not who,
            )


def _history(hist, dataset: str, view: IdentityView) -> None:  # type: ignore[no-untyped-def]
    with st.expander(f"History of this identity ({len(hist)} changes)"):
        if not hist:
            st.caption("No changes yet.")
        for h in reversed(hist[-50:]):
            st.text(f"v{h.version} {h.at:%Y-%m-%d %H:%M:%S} {h.describe()}")
    with st.expander("Larger view"):
        choices = [im for cam in sorted(view.images) for im in view.images[cam]]
        pick = st.selectbox("Image", choices, format_func=lambda im: im.path, key="large_view")
        if pick is not None:
            large_image(view, pick.path)
