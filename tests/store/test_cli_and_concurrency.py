from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import pytest

from annotator.cli_labels import main
from annotator.store.db import open_store
from annotator.store.errors import StaleVersionError
from annotator.store.services.datasets import register_dataset
from annotator.store.services.label_reads import get_identity, history
from annotator.store.services.label_writes import set_label
from paenet.attributes import ATTRIBUTE_KEYS
from tests.data.trees import small_sysu


def test_cli_register_import_agreement_export(
    tmp_path: Path, reference_dir: Path, real_sysu_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = real_sysu_tree
    release = reference_dir / "paenet-attribute-release"
    db = ["--db", f"sqlite:///{tmp_path / 'db.sqlite3'}"]
    assert main([*db, "register", "--name", "sysu", "--kind", "sysu", str(root)]) == 0
    assert "513 identities, 45863 images" in capsys.readouterr().out
    assert main([*db, "import", "paenet-mat", str(release)]) == 0
    out = capsys.readouterr().out
    assert "skipped 73: placeholder columns cam1" in out and "200 identities disagree" in out
    assert main([*db, "import", "paenet-xlsx", str(release / "label_finished.xlsx")]) == 0
    capsys.readouterr()
    assert main([*db, "agreement", "paenet-mat", "paenet-xlsx", "--per-camera"]) == 0
    table = capsys.readouterr().out
    assert "gender             cohen" in table
    assert main([*db, "agreement", "paenet-mat", "paenet-xlsx", "--show-conflicts"]) == 0
    assert "\nbackpack: " in capsys.readouterr().out  # the disagreeing ids, listed
    assert main([*db, "export", str(tmp_path / "labels.csv"), "--dataset", "sysu"]) == 0
    assert (tmp_path / "labels.csv").read_text().startswith("kind,dataset,pid")
    assert main([*db, "import", "paenet-mat", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("paenet-labels: error:") and "nowhere" in err


def _worker(url: str, who: str, pids: list[int], rounds: int, queue: mp.Queue, start) -> None:  # type: ignore[no-untyped-def]
    """Save labels read-modify-write style; report every accepted and rejected save."""
    try:
        store = open_store(url)
    except Exception as exc:  # report it (the test then names it) instead of dying silently
        for _ in range(rounds * len(pids)):
            queue.put(("error", who, 0, f"open_store: {exc!r}"))
        start.wait(timeout=60)
        return
    start.wait(timeout=60)  # all writers begin together
    for r in range(rounds):
        for pid in pids:
            attr = ATTRIBUTE_KEYS[(r + len(who)) % len(ATTRIBUTE_KEYS)]
            with store.read() as s:
                version = get_identity(s, "sysu", pid).version
            try:
                with store.write() as s:
                    new = set_label(s, "sysu", pid, attr, r % 2, who, version)
                queue.put(("ok", who, pid, new))
            except StaleVersionError:
                queue.put(("stale", who, pid, version))
            except Exception as exc:  # anything else (e.g. "database is locked") is a failure
                queue.put(("error", who, pid, repr(exc)))
    store.dispose()


@pytest.mark.slow
def test_concurrent_writers_lose_nothing(tmp_path: Path, db_url: str) -> None:
    """Four processes save labels on shared and private identities at once (SQLite: one
    file in WAL with BEGIN IMMEDIATE; PostgreSQL: row locks). Every accepted save is in
    the database and in the history, every rejected one was reported as stale, and no
    other error (such as "database is locked") escapes."""
    store = open_store(db_url)
    with store.write() as s:
        register_dataset(s, "sysu", "sysu", small_sysu(tmp_path / "SYSU-MM01"))
    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()
    start = ctx.Barrier(4)
    plan = {"ann-a": [1, 2], "ann-bb": [1, 3], "ann-ccc": [1, 2, 4], "ann-dddd": [5]}
    procs = [
        ctx.Process(target=_worker, args=(db_url, w, p, 15, queue, start)) for w, p in plan.items()
    ]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in range(sum(15 * len(p) for p in plan.values()))]
    for p in procs:
        p.join(timeout=60)
    assert not [r for r in results if r[0] == "error"], results
    ok = [r for r in results if r[0] == "ok"]
    assert len(ok) + sum(r[0] == "stale" for r in results) == len(results)
    assert {r[2] for r in ok} == {1, 2, 3, 4, 5}  # every identity got saves through
    with store.read() as s:
        for pid in (1, 2, 3, 4, 5):
            view = get_identity(s, "sysu", pid)
            entries = history(s, "sysu", pid)
            accepted = sorted((r[3], r[1]) for r in ok if r[2] == pid)
            # every accepted save is exactly one history entry (same version, same person),
            # versions 1..n without gaps: nothing lost, nothing written twice
            assert accepted == [(e.version, e.annotator) for e in entries]
            assert [e.version for e in entries] == list(range(1, view.version + 1))
            # the database holds each person's last accepted value of each attribute
            last = {(e.annotator, e.attribute): e.new_value for e in entries}
            for (who, attr), value in last.items():
                assert view.label(f"annotator:{who}", attr) == value
    store.dispose()
