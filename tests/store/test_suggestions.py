"""Model suggestions in the store: kept apart from labels, replaced per run, accepted by a
person with one key (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from annotator.store.db import Store
from annotator.store.errors import StoreError
from annotator.store.models import Label, Source, Suggestion
from annotator.store.services.label_policy import effective_labels
from annotator.store.services.label_reads import get_identity, history
from annotator.store.services.label_writes import (
    AcceptSuggestions,
    SetValue,
    apply_key_batch,
    set_labels,
)
from annotator.store.services.suggestions import (
    NotAModelSourceError,
    SuggestionRow,
    least_confident,
    match_with_people,
    model_sources,
    next_least_confident,
    suggestions_of,
    write_suggestions,
)
from paenet.attributes import ATTRIBUTE_KEYS

DETAILS = {"checkpoint": {"path": "/runs/x/final.pt", "sha256": "ab" * 32}}


def _rows(pid: int, probs: list[float], camera: int = 0) -> list[SuggestionRow]:
    return [SuggestionRow(pid, k, camera, p) for k, p in zip(ATTRIBUTE_KEYS, probs)]


P4 = [0.9, 0.2, 0.45, 0.7, 0.05, 0.99, 0.6, 0.3]
P5 = [0.8, 0.1, 0.1, 0.9, 0.1, 0.9, 0.9, 0.1]


def test_suggestions_are_stored_apart_from_labels_and_replaced_per_run(sysu_store: Store) -> None:
    with sysu_store.write() as s:
        assert write_suggestions(s, "sysu", "model-sysu", DETAILS, _rows(4, P4) + _rows(5, P5)) == 1
    with sysu_store.read() as s:
        got = suggestions_of(s, "sysu", 4, "model-sysu")
        assert [got[k].value for k in ATTRIBUTE_KEYS] == [1, 0, 0, 1, 0, 1, 1, 0]
        assert got["glasses"].probability == pytest.approx(0.45)
        assert got["glasses"].confidence == pytest.approx(0.55)
        assert s.scalar(select(func.count()).select_from(Label)) == 0  # never a label
        view = get_identity(s, "sysu", 4)
        assert set(effective_labels(view, 1).values()) == {-1}  # nobody labelled anything
        (src,) = model_sources(s, "sysu")
        assert src.name == "model-sysu" and src.checkpoint_sha == "ab" * 32
        assert src.details["run"] == 1 and not src.calibrated
        # least confident first: id 4's weakest margin is |0.45 - 0.5| = 0.05, id 5's 0.3
        assert least_confident(s, "sysu", "model-sysu") == [
            (4, pytest.approx(0.05)),
            (5, pytest.approx(0.3)),
        ]
    with sysu_store.write() as s:  # a second run replaces, it does not add
        assert write_suggestions(s, "sysu", "model-sysu", DETAILS, _rows(4, P5)) == 2
    with sysu_store.read() as s:
        assert s.scalar(select(func.count()).select_from(Suggestion)) == 8
        assert suggestions_of(s, "sysu", 5, "model-sysu") == {}
        assert model_sources(s)[0].details["run"] == 2


def test_a_person_or_import_source_name_is_refused(sysu_store: Store) -> None:
    with sysu_store.write() as s:
        s.add(Source(name="paenet-mat", kind="import", origin="cam1_att.mat"))
    with pytest.raises(NotAModelSourceError, match="an import source"), sysu_store.write() as s:
        write_suggestions(s, "sysu", "paenet-mat", DETAILS, _rows(4, P4))
    with pytest.raises(StoreError, match="no identity 999"), sysu_store.write() as s:
        write_suggestions(s, "sysu", "model-sysu", DETAILS, _rows(999, P4))
    with sysu_store.read() as s:  # the refused run left nothing behind
        assert model_sources(s) == []


def test_enter_accepts_the_open_suggestions_in_order_with_a_note(sysu_store: Store) -> None:
    with sysu_store.write() as s:
        write_suggestions(s, "sysu", "model-sysu", DETAILS, _rows(4, P4) + _rows(4, P5, camera=1))
    # "1 2 Enter" as keys: gender and hair typed, Enter fills the other six
    steps = [SetValue("gender", 0), SetValue("hair_length", 1), AcceptSuggestions("model-sysu")]
    with sysu_store.write() as s:
        result = apply_key_batch(s, "sysu", 4, steps, "ann", 0)
    assert result.version == 3
    assert result.saved[-1] == "accepted 6 suggestion(s) of model-sysu"
    with sysu_store.read() as s:
        view = get_identity(s, "sysu", 4)
        mine = {k: view.label("annotator:ann", k) for k in ATTRIBUTE_KEYS}
        # typed values kept (gender 0 although the model said 1), the rest from the model
        assert mine == dict(zip(ATTRIBUTE_KEYS, [0, 1, 0, 1, 0, 1, 1, 0]))
        assert view.label("annotator:ann", "gender", 1) is None  # camera suggestions stay
        entries = history(s, "sysu", 4)
        accepted = [e for e in entries if e.version == 3]
        assert len(accepted) == 6 and all(e.annotator == "ann" for e in accepted)
        note = f"accepted suggestion from model source model-sysu, checkpoint {'ab' * 6}"
        assert all(e.note == note for e in accepted)
        assert accepted[0].describe().endswith(f"({note})")
    with sysu_store.write() as s:  # nothing left to accept: skipped, no version
        again = apply_key_batch(s, "sysu", 4, [AcceptSuggestions("model-sysu")], "ann", 3)
    assert again.version == 3 and again.skipped


def test_details_are_json_with_dataset_and_run(sysu_store: Store) -> None:
    with sysu_store.write() as s:
        write_suggestions(s, "sysu", "m", {**DETAILS, "calibration": {"calibrated": True}}, [])
    with sysu_store.read() as s:
        (src,) = model_sources(s, "sysu")
        assert src.calibrated and json.loads(json.dumps(dict(src.details)))["dataset"] == "sysu"


def test_least_confident_queue_and_match_with_people(sysu_store: Store) -> None:
    with sysu_store.write() as s:
        write_suggestions(s, "sysu", "model-sysu", DETAILS, _rows(4, P4) + _rows(5, P5))
    with sysu_store.read() as s:
        assert next_least_confident(s, "sysu", "ann", "model-sysu") == 4
        assert next_least_confident(s, "sysu", "ann", "model-sysu", current=4) == 5
    steps = [SetValue("gender", 1), SetValue("glasses", 1), SetValue("backpack", -1)]
    with sysu_store.write() as s:
        apply_key_batch(s, "sysu", 4, steps, "ann", 0)
    with sysu_store.read() as s:
        matches, pairs = match_with_people(s, "sysu", "model-sysu")
        by_key = {m.key: m for m in matches}
        assert (by_key["gender"].compared, by_key["gender"].matched) == (1, 1)
        assert (by_key["glasses"].compared, by_key["glasses"].matched) == (1, 0)
        assert by_key["backpack"].compared == 0 and by_key["backpack"].rate is None  # unknown
        assert sorted(pairs) == [(pytest.approx(0.45), 1), (pytest.approx(0.9), 1)]
    with sysu_store.write() as s:  # id 4 fully labelled: the queue moves past it
        rest = {k: 0 for k in ATTRIBUTE_KEYS}
        set_labels(s, "sysu", 4, rest, "ann", 3)
    with sysu_store.read() as s:
        assert next_least_confident(s, "sysu", "ann", "model-sysu") == 5
        assert next_least_confident(s, "sysu", "ann", "model-sysu", current=5) is None


def test_flip_moves_away_from_what_is_shown(sysu_store: Store) -> None:
    """Usual values come from everyone's identity-wide 0/1 labels of the dataset; a flip
    of an unset attribute takes the other value, of a set one its other value, of an
    unknown the shown value; with a model source its suggestion is what is shown."""
    from annotator.store.services.label_writes import Flip
    from annotator.store.services.suggestions import usual_values

    with sysu_store.write() as s:  # bob: gender female on 4 and 5, male on 6 -> usual 1
        for pid, value in ((4, 1), (5, 1), (6, 0)):
            apply_key_batch(s, "sysu", pid, [SetValue("gender", value)], "bob", 0)
    with sysu_store.read() as s:
        from annotator.store.services.lookups import dataset_row

        usual = usual_values(s, dataset_row(s, "sysu").id)
        assert (usual["gender"].value, usual["gender"].labelled) == (1, 3)
        assert usual["gender"].share == pytest.approx(2 / 3)
        assert (usual["glasses"].value, usual["glasses"].share) == (0, None)  # no labels
    steps = [Flip("gender"), Flip("gender"), SetValue("gender", -1), Flip("gender")]
    with sysu_store.write() as s:
        result = apply_key_batch(s, "sysu", 7, steps, "ann", 0)
    assert result.saved == (
        "gender = male", "gender = female", "gender = unknown", "gender = female",
    )  # fmt: skip
    with sysu_store.write() as s:  # model m suggests glasses yes: a flip says no
        write_suggestions(
            s, "sysu", "m", DETAILS, _rows(8, [0.2, 0.2, 0.9, 0.2, 0.2, 0.2, 0.2, 0.2])
        )
        out = apply_key_batch(s, "sysu", 8, [Flip("glasses", "m"), Flip("hair_length")], "ann", 0)
    assert out.saved == ("glasses = no", "hair_length = long")  # no source: usual 0 -> 1
