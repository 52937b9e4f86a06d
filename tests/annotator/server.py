"""Start ``streamlit run annotator/app.py`` on a free localhost port for browser tests,
and drive it with Chromium (:func:`app_in_chromium`, the helpers the browser tests share)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from annotator.store.db import Store, open_store
from annotator.store.services.label_reads import get_identity
from annotator.store.services.lookups import dataset_row
from annotator.store.services.suggestions import usual_values
from paenet.attributes import ATTRIBUTES
from tests.conftest import REPO_ROOT

APP = REPO_ROOT / "annotator" / "app.py"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def streamlit_server(
    app_args: Sequence[str], log_path: Path, env: Mapping[str, str] | None = None
) -> Iterator[str]:
    """Run the app until the block ends; yields its base URL once ``/_stcore/health`` is ok."""
    port = free_port()
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
        "--", *app_args,
    ]  # fmt: skip
    full_env = {**os.environ, **(env or {})}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=REPO_ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"streamlit exited early; log: {log_path.read_text()}")
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                        if r.read().decode().strip() == "ok":
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"streamlit not healthy in 90 s; log: {log_path.read_text()}"
                    )
                time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


SYSU = "sysu-synthetic"
NAME_BOX = "Your name (every change is signed)"
ANNOTATOR = "Ada"
JS_STATE = "() => JSON.stringify({...globalThis.__paenetKeys, host: String(globalThis.__paenetKeys?.host), active: document.activeElement?.outerHTML?.slice(0, 200)})"
"""What the key component holds and which element has the focus (for failure messages)."""


@dataclass(frozen=True)
class BrowserApp:
    """The app served on a test's data root, one Chromium page on it and the store."""

    url: str
    page: Any  # playwright.sync_api.Page
    store: Store
    outside: list[str]
    """Every request the page made to another host than the app's, in order."""

    def labels(self, pid: int, annotator: str = ANNOTATOR) -> dict[str, int | None]:
        """``annotator``'s identity-wide label of each attribute of SYSU id ``pid``."""
        with self.store.read() as s:
            view = get_identity(s, SYSU, pid)
        return {a.key: view.label(f"annotator:{annotator}", a.key) for a in ATTRIBUTES}

    def label(self, pid: int, key: str) -> int | None:
        return self.labels(pid)[key]

    def open(self, pid: int) -> None:
        """Go to SYSU id ``pid`` on the Annotate page and wait until it shows."""
        from playwright.sync_api import expect

        self.page.goto(f"{self.url}/?dataset={SYSU}&pid={pid}")
        expect(self.page.get_by_text(f"{SYSU} · id {pid}")).to_be_visible(timeout=60_000)

    def sign_in(self, name: str = ANNOTATOR) -> Any:
        """Type ``name`` into the name box, Enter, and wait for the run; returns the box."""
        box = self.page.get_by_label(NAME_BOX)
        box.fill(name)
        box.press("Enter")
        settle(self.page)
        return box


@contextlib.contextmanager
def app_in_chromium(data_root: Path, tmp_path: Path, height: int = 1300) -> Iterator[BrowserApp]:
    """The app on ``data_root`` (its ``annotations.sqlite3``) and a 1400 × ``height`` page
    of headless Chromium, until the block ends. Without Chromium the test is skipped
    (failed in CI)."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} missing in CI (scripts/install-system-deps.sh installs it)")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium): browser test skipped")
    from playwright.sync_api import sync_playwright

    db_url = f"sqlite:///{data_root / 'annotations.sqlite3'}"
    store = open_store(db_url)
    outside: list[str] = []

    def elsewhere(request: Any) -> None:
        if urlparse(request.url).hostname not in ("127.0.0.1", None) and request.url.startswith(
            "http"
        ):
            outside.append(request.url)

    args = ["--db", db_url, "--data-root", str(data_root)]
    try:
        with (
            streamlit_server(args, tmp_path / "streamlit.log") as url,
            sync_playwright() as pw,
        ):
            browser = pw.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 1400, "height": height})
            page.on("request", elsewhere)
            yield BrowserApp(url, page, store, outside)
            browser.close()
    finally:
        store.dispose()


def wait_for(predicate, timeout: float = 20.0, state=None) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in time; state: {state() if state else '?'}")
        time.sleep(0.25)


def settle(page) -> None:  # type: ignore[no-untyped-def]
    """Wait until the script run finished (keys would be queued anyway; clicks need it)."""
    page.wait_for_selector(
        '[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=30_000
    )


def usual(store: Store) -> dict[str, int]:
    """The dataset's usual value of each attribute (what a digit flips away from)."""
    with store.read() as s:
        return {k: u.value for k, u in usual_values(s, dataset_row(s, SYSU).id).items()}


def panel_in_view(page, height: int) -> None:  # type: ignore[no-untyped-def]
    """Scroll down over the strips as far as they go (at most 1000 px, their column's end
    still below the viewport): the strips move, the panel stays whole in the viewport."""
    strip = page.get_by_text("cam1 · visible").first
    panel = page.locator(".st-key-label-panel")
    column = page.locator('div[data-testid="stColumn"]:has(.st-key-label-panel)')
    before, col = strip.bounding_box(), column.bounding_box()
    assert before and col
    distance = min(1000.0, col["y"] + col["height"] - height - 20)
    assert distance > 300, (col, height)  # 40 images per camera: the strips outgrow the page
    page.mouse.move(before["x"] + 20, height // 2)
    page.mouse.wheel(0, distance)
    page.wait_for_timeout(400)
    after, box = strip.bounding_box(), panel.bounding_box()
    assert after and box
    assert after["y"] < before["y"] - distance + 50, (before, after)  # the page did scroll
    assert box["y"] >= 0 and box["y"] + box["height"] <= height + 1, (box, height)
