"""Project-wide test fixtures: where the real reference files are."""

from __future__ import annotations

import os
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
