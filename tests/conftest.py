"""Project-wide test fixtures: where the real reference files are; one torch thread for the
tests that run networks."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_REFERENCE = REPO_ROOT.parent / "shared" / "reference"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """``../shared/reference`` beside the checkout; required in CI, skipped elsewhere."""
    if not SHARED_REFERENCE.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"CI run without the shared reference files at {SHARED_REFERENCE}")
        pytest.skip(f"shared reference files not found at {SHARED_REFERENCE}")
    return SHARED_REFERENCE


TORCH_TEST_FOLDERS = frozenset({"model", "train", "evaluation"})
"""Test folders whose tests run networks: one torch thread each (on a busy 2-core machine
the same training took 134 s with 2 threads and 13 s with 1)."""


@pytest.fixture(autouse=True)
def one_torch_thread(request: pytest.FixtureRequest) -> Iterator[None]:
    if TORCH_TEST_FOLDERS.isdisjoint(request.path.relative_to(REPO_ROOT / "tests").parts):
        yield
        return
    import torch  # only the network tests pay for the import

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
