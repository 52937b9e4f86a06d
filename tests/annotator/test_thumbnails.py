from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from annotator.config import load_config
from annotator.thumbnails import ThumbnailCache, UnsafePathError, resolve_inside


def _image(path: Path, size: tuple[int, int] = (64, 128)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (200, 10, 10)).save(path)
    return path


def test_thumbnail_made_once_and_reused(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    _image(root / "cam1" / "0001" / "0001.jpg")
    cache = ThumbnailCache(tmp_path / "thumbs", height=32)
    first = cache.get(root, "cam1/0001/0001.jpg")
    with Image.open(first) as im:
        assert im.size == (16, 32)
    stamp = first.stat().st_mtime_ns
    assert cache.get(root, "cam1/0001/0001.jpg") == first
    assert first.stat().st_mtime_ns == stamp  # not re-encoded
    assert not list((tmp_path / "thumbs").rglob("*.tmp"))


def test_changed_source_gets_a_new_thumbnail(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    src = _image(root / "a.jpg")
    cache = ThumbnailCache(tmp_path / "thumbs", height=32)
    first = cache.get(root, "a.jpg")
    _image(src, (32, 32))
    os.utime(src, ns=(1, 10**18))
    assert cache.get(root, "a.jpg") != first


@pytest.mark.parametrize("rel", ["../secret.jpg", "/etc/passwd", "cam1/../../x.jpg", ""])
def test_paths_outside_the_root_are_refused(tmp_path: Path, rel: str) -> None:
    (tmp_path / "ds").mkdir()
    with pytest.raises(UnsafePathError):
        resolve_inside(tmp_path / "ds", rel)


def test_symlink_leaving_the_root_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    root.mkdir()
    outside = _image(tmp_path / "outside.jpg")
    (root / "link.jpg").symlink_to(outside)
    with pytest.raises(UnsafePathError, match="leaves the root"):
        ThumbnailCache(tmp_path / "t").get(root, "link.jpg")


def test_config_precedence(tmp_path: Path) -> None:
    env = {"PAENET_DATA_ROOT": str(tmp_path / "env-root"), "PAENET_DB_URL": "sqlite:///env.db"}
    cfg = load_config([], env)
    assert cfg.data_root == (tmp_path / "env-root").resolve()
    assert cfg.db_url == "sqlite:///env.db"
    cfg = load_config(["--db", "sqlite:///flag.db", "--data-root", str(tmp_path)], env)
    assert cfg.db_url == "sqlite:///flag.db" and cfg.data_root == tmp_path.resolve()
    cfg = load_config(["--data-root", str(tmp_path)], {})
    assert cfg.db_url == f"sqlite:///{tmp_path.resolve() / 'annotations.sqlite3'}"
    assert cfg.thumb_dir == tmp_path.resolve() / ".thumbnails"
    with pytest.raises(SystemExit):
        load_config(["--no-such-flag"], {})
