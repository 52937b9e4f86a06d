"""``python -m annotator.serve`` (#21.8): how the app is served is said when the server
starts, not after the first browser visit; what the app would refuse is refused at once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from annotator.serve import streamlit_flags
from tests.annotator.server import free_port
from tests.conftest import REPO_ROOT


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAENET_")}
    return {**env, **extra}


def test_the_serving_line_comes_at_start_before_any_visit(data_root: Path, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    cmd = [sys.executable, "-m", "annotator.serve", "--server.port", str(port),
           "--server.headless", "true", "--server.fileWatcherType", "none",
           "--", "--data-root", str(data_root)]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=REPO_ROOT, env=_env(), stdout=out, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 60
            while f"http://127.0.0.1:{port}" not in log.read_text():  # Streamlit is up
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.3)
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    text = log.read_text()
    line = f"no lab password: serving 127.0.0.1 port {port} only, open to anyone there"
    assert line in text
    assert text.index(line) < text.index(f"http://127.0.0.1:{port}")  # before Streamlit's


def test_no_password_on_the_network_is_refused_at_once() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "annotator.serve", "--server.address", "0.0.0.0"],
        cwd=REPO_ROOT, env=_env(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("annotator.serve: error: No lab password is set")


def test_streamlit_flags_are_read_like_streamlit_reads_them() -> None:
    argv = ["--server.address", "0.0.0.0", "--server.port=8600", "--", "--db", "x"]
    assert streamlit_flags(argv) == {"server_address": "0.0.0.0", "server_port": "8600"}
