"""The Annotate keyboard without a browser: key names, the queue protocol, and applying
a queue in order on a real migrated SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from annotator.components.keys.capture import Applied, KeyQueue, new_keys, parse_queue
from annotator.components.keys.queue import Cursor, apply_keys
from annotator.components.keys.shortcuts import ACTIONS, Nav, action, keys_for
from annotator.store.db import Store, open_store
from annotator.store.services.datasets import register_dataset
from annotator.store.services.label_reads import get_identity, history
from annotator.store.services.label_writes import AcceptSuggestions, Flip, SetValue, Undo, set_label
from annotator.store.services.suggestions import SuggestionRow, write_suggestions
from paenet.attributes import ATTRIBUTE_KEYS
from tests.data.trees import small_sysu

ORDER = ["gender", "hair_length", "glasses", "sleeve_length"]


def test_key_names() -> None:
    assert action("1") == Flip("gender")
    assert action("Shift+3") == SetValue("glasses", -1)
    assert (action("Left"), action("Right"), action("N"), action("U")) == (
        Nav.PREVIOUS, Nav.NEXT, Nav.NEEDING_WORK, Undo(),
    )  # fmt: skip
    assert action("Enter") == AcceptSuggestions("")  # the page names the model source
    assert len(ACTIONS) == 8 * 2 + 5
    with pytest.raises(ValueError, match="'Alt\\+1' is not an Annotate shortcut"):
        action("Alt+1")  # left to the browser (tab switching)
    with pytest.raises(ValueError, match="'9' is not an Annotate shortcut"):
        action("9")
    # the keys a labeller types for one attribute, given what the page shows
    assert [keys_for(t, 0, 2) for t in (0, 1, -1)] == [[], ["3"], ["Shift+3"]]
    assert keys_for(0, 1, 7) == ["8"]


def test_queue_protocol_parses_and_skips_what_was_applied() -> None:
    raw = {"client": "tab", "attempt": 3, "keys": [[5, "2"], [4, "1"], ["x", 1], [6, "N"]]}
    queue = parse_queue(raw)
    assert queue == KeyQueue("tab", 3, ((4, "1"), (5, "2"), (6, "N")))  # sorted, bad dropped
    assert parse_queue(None) is None and parse_queue({"client": 1}) is None
    assert new_keys(queue, Applied("tab", seq=4)) == [(5, "2"), (6, "N")]
    assert new_keys(queue, Applied("tab", seq=6)) == []
    assert new_keys(queue, Applied("other tab", seq=9)) == [(4, "1"), (5, "2"), (6, "N")]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'annotations.sqlite3'}")
    with s.write() as session:
        register_dataset(session, "sysu", "sysu", small_sysu(tmp_path / "SYSU-MM01"))
    yield s
    s.dispose()


def _mine(store: Store, pid: int, who: str = "ann") -> list[int | None]:
    with store.read() as s:
        view = get_identity(s, "sysu", pid)
    return [view.label(f"annotator:{who}", k) for k in ORDER]


def test_one_two_three_n_four_labels_three_here_and_one_on_the_next(store: Store) -> None:
    with store.write() as s:  # id 2 fully labelled by ann: "next needing work" skips it
        v = 0
        for key in ("gender", "hair_length", "glasses", "sleeve_length", "lower_body_type",
                    "lower_body_length", "backpack", "satchel"):  # fmt: skip
            v = set_label(s, "sysu", 2, key, 1, "ann", v)
    out = apply_keys(store, "sysu", Cursor(1, 0), ["1", "2", "3", "N", "4"], "ann", None)
    # a digit flips away from the value shown: the usual one, 1 (id 2's labels), so 0
    assert _mine(store, 1) == [0, 0, 0, None]
    assert _mine(store, 2) == [1, 1, 1, 1]  # untouched
    assert _mine(store, 3) == [None, None, None, 0]
    assert out.cursor == Cursor(3, 1)
    assert out.saved == (
        "id 1: gender = male", "id 1: hair_length = short", "id 1: glasses = no",
        "id 3: sleeve_length = long",
    )  # fmt: skip
    assert (out.notes, out.error, out.consumed) == ((), None, 5)


def test_arrows_undo_and_the_ends_of_the_list(store: Store) -> None:
    out = apply_keys(store, "sysu", Cursor(1, 0),
                     ["Left", "Shift+1", "Right", "Shift+2", "U", "U", "Right"], "ann", None)  # fmt: skip
    assert out.notes == ("No identity there.", "nothing of ann's to undo on sysu id 2")
    assert _mine(store, 1) == [-1, None, None, None]
    assert _mine(store, 2) == [None, None, None, None]  # Shift+2 then undone
    assert out.cursor == Cursor(3, 0)
    split = apply_keys(store, "sysu", Cursor(1, 1), ["Right", "1"], "ann", "val")
    assert split.cursor == Cursor(3, 1) and _mine(store, 3)[0] == 1  # val: 3, 9


def test_a_conflict_stops_the_queue_and_says_how_many_keys_were_dropped(store: Store) -> None:
    with store.write() as s:
        set_label(s, "sysu", 1, "glasses", 0, "bob", 0)
    out = apply_keys(store, "sysu", Cursor(1, 0), ["1", "2", "Right", "3"], "ann", None)
    assert out.error is not None and "bob set glasses" in out.error
    assert "The 2 key(s) typed after it were not applied." in out.error
    assert out.cursor == Cursor(1, 1)  # the version the page will show next
    assert _mine(store, 1) == [None, None, None, None] and _mine(store, 2)[2] is None
    assert out.consumed == 4  # dropped, not retried


def test_without_a_name_label_keys_do_nothing_navigation_works(store: Store) -> None:
    out = apply_keys(store, "sysu", Cursor(1, 0), ["1", "Right", "2", "bogus"], None, None)
    assert out.notes == (
        "1 label key(s) ignored: enter your name first.",
        "1 label key(s) ignored: enter your name first.",
    )
    assert out.cursor == Cursor(2, 0) and out.saved == ()
    with store.read() as s:
        assert get_identity(s, "sysu", 1).version == 0


def _suggest(store: Store, probs: dict[int, float]) -> None:
    """Model ``m`` suggests value 1 for every attribute of each id with probability p."""
    rows = [SuggestionRow(pid, k, 0, p) for pid, p in probs.items() for k in ATTRIBUTE_KEYS]
    with store.write() as s:
        write_suggestions(s, "sysu", "m", {"checkpoint": {"sha256": "c" * 64}}, rows)


def test_flip_unknown_enter_n_applies_in_order(store: Store) -> None:
    """With model m (value 1 everywhere): ``1`` flips gender away from the suggestion,
    ``Shift+2`` makes hair unknown, Enter accepts the other six; on id 2 (no suggestions)
    Enter saves the usual values, which id 1's labels now define."""
    _suggest(store, {1: 0.9, 3: 0.8})
    out = apply_keys(store, "sysu", Cursor(1, 0), ["1", "Shift+2", "Enter", "N", "Enter", "3"],
                     "ann", None, suggestions="m")  # fmt: skip
    assert _mine(store, 1) == [0, -1, 1, 1]  # typed keys kept, the other six accepted
    # id 2: usual = id 1's values (gender 0; hair: no 0/1 label yet, so 0); then 3 flips glasses
    assert _mine(store, 2) == [0, 0, 0, 1]
    assert out.saved == (
        "id 1: gender = male", "id 1: hair_length = unknown",
        "id 1: accepted 6 suggestion(s) of m", "id 2: accepted 8 usual value(s)",
        "id 2: glasses = no",
    )  # fmt: skip
    assert out.cursor.pid == 2 and out.notes == ()
    with store.read() as s:
        notes = {h.note for h in history(s, "sysu", 2)}
    assert notes == {"accepted the dataset's usual value (100% of 1 labels)",
                     "accepted the dataset's usual value (no labels)",
                     None}  # fmt: skip


def test_n_follows_the_least_confident_order_when_asked(store: Store) -> None:
    _suggest(store, {1: 0.9, 2: 0.55, 3: 0.7, 4: 0.99})
    out = apply_keys(store, "sysu", Cursor(1, 0), ["N", "N"], "ann", None, "m", True)
    assert out.cursor.pid == 3  # 2 (margin 0.05) then 3 (0.2)
    by_id = apply_keys(store, "sysu", Cursor(1, 0), ["N"], "ann", None, "m", False)
    assert by_id.cursor.pid == 2  # next by id
