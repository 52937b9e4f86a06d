"""A wheel install works: migrations ship with the package, found without the source tree.

The wheel is built from a copy of the checkout and installed into a fresh virtual
environment that sees the dependencies of the running interpreter (torch, streamlit, …)
through a ``.pth`` line, never the source tree: ``.pth`` files inside that folder (such
as an editable install's finder) are not processed, ``PYTHONPATH`` is cleared, and the
commands run from a directory outside the repository.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.data.trees import write_regdb

_NOT_SHIPPED = (".git", ".venv", "datasets", "tests", "benchmarks", "build", "dist", "runs",
                "__pycache__", "*.egg-info", ".pytest_cache", ".ruff_cache", "test-artifacts")  # fmt: skip


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".")[:2] if p.isdigit())


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """``(venv bin folder, environment)`` of a fresh venv holding only the built wheel."""
    base = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    src = base / "src"
    shutil.copytree(REPO_ROOT, src, symlinks=True, ignore=shutil.ignore_patterns(*_NOT_SHIPPED))
    dist = base / "dist"
    # this interpreter's setuptools builds the wheel when it can (no network); an older one
    # (no bdist_wheel of its own) leaves it to pip's isolated build
    local = _version(metadata.version("setuptools")) >= (70, 1)
    offline = ["--no-build-isolation", "--no-index"] if local else []
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", *offline, "-w", str(dist), str(src)],
         base, env)  # fmt: skip
    (wheel,) = dist.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "annotator/store/migrations/env.py" in names
    assert "annotator/store/migrations/script.py.mako" in names
    assert "annotator/store/migrations/versions/0001_initial_schema.py" in names
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], base, env)
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
          "--no-index", str(wheel)], base, env)  # fmt: skip
    shutil.rmtree(src)  # nothing of the copy stays reachable either
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                   base, env).strip()  # fmt: skip
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(purelib) / "paenet_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    return venv / "bin", env


@pytest.mark.slow
def test_wheel_install_registers_a_dataset_and_saves_a_label(
    installed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    bindir, env = installed
    work = tmp_path / "elsewhere"
    work.mkdir()
    assert not work.resolve().is_relative_to(REPO_ROOT)
    where = _run(
        [str(bindir / "python"), "-c",
         "import sys, annotator, paenet; print(annotator.__file__); print(paenet.__file__);"
         "print('\\n'.join(sys.path))"],
        work, env,
    )  # fmt: skip
    lines = where.splitlines()
    assert all(Path(p).is_relative_to(bindir.parent) for p in lines[:2]), lines[:2]
    deps = {Path(sysconfig.get_paths()[k]).resolve() for k in ("purelib", "platlib")}
    inside = [  # the dependencies' site-packages may live in the checkout's .venv; nothing else
        p
        for p in lines[2:]
        if p and Path(p).resolve().is_relative_to(REPO_ROOT) and Path(p).resolve() not in deps
    ]
    assert not inside, f"the source tree is importable from the installed venv: {inside}"
    root = write_regdb(tmp_path / "RegDB", num_ids=4)
    db = f"sqlite:///{tmp_path / 'labels.sqlite3'}"
    out = _run([str(bindir / "paenet-labels"), "--db", db, "register", "--name", "regdb",
                "--kind", "regdb", str(root)], work, env)  # fmt: skip
    assert "4 identities, 16 images" in out
    _run(
        [str(bindir / "python"), "-c",
         "import sys\n"
         "from annotator.store.db import open_store\n"
         "from annotator.store.services.label_writes import set_label\n"
         "store = open_store(sys.argv[1])\n"
         "with store.write() as s:\n"
         "    set_label(s, 'regdb', 3, 'glasses', 1, 'ann', expected_version=0)\n"
         "store.dispose()\n",
         db],
        work, env,
    )  # fmt: skip
    out_csv = tmp_path / "labels.csv"
    _run([str(bindir / "paenet-labels"), "--db", db, "export", str(out_csv)], work, env)
    rows = out_csv.read_text().splitlines()
    assert rows[1].startswith("label,regdb,3,glasses,0,annotator:ann,annotator,1,ann,")
    assert len(rows) == 2


def test_alembic_ini_at_the_repository_root_still_works(tmp_path: Path) -> None:
    """Developers run ``alembic`` from the root: ``alembic/`` links to the packaged scripts."""
    from annotator.store.db import Store, current_revision, head_revision

    assert (REPO_ROOT / "alembic" / "env.py").resolve() == (
        REPO_ROOT / "annotator" / "store" / "migrations" / "env.py"
    )
    url = f"sqlite:///{tmp_path / 'dev.sqlite3'}"
    env = {**os.environ, "PAENET_DB_URL": url}
    _run([sys.executable, "-m", "alembic", "-c", "alembic.ini", "upgrade", "head"], REPO_ROOT, env)
    store = Store(url)
    assert current_revision(store) == head_revision()
    store.dispose()
