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


def test_each_height_has_its_own_thumbnail(tmp_path: Path) -> None:
    """#21.5: the image size is part of the key: a larger size never shows (or replaces)
    the thumbnail made for a smaller one, and each is made once."""
    root = tmp_path / "ds"
    _image(root / "a.jpg", (100, 200))
    cache = ThumbnailCache(tmp_path / "thumbs", height=32)
    small, large = cache.get(root, "a.jpg", 64), cache.get(root, "a.jpg", 128)
    assert small != large
    assert small.parent.parent.name == "64px" and large.parent.parent.name == "128px"
    with Image.open(small) as a, Image.open(large) as b:
        assert (a.size, b.size) == ((32, 64), (64, 128))
    stamps = small.stat().st_mtime_ns, large.stat().st_mtime_ns
    assert cache.get(root, "a.jpg", 64) == small and cache.get(root, "a.jpg", 128) == large
    assert (small.stat().st_mtime_ns, large.stat().st_mtime_ns) == stamps  # not re-encoded
    assert cache.get(root, "a.jpg") not in (small, large)  # the cache's own height: 32
    with pytest.raises(ValueError, match="positive"):
        cache.get(root, "a.jpg", 0)


def test_a_source_smaller_than_the_height_is_not_enlarged(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    _image(root / "a.jpg", (40, 80))
    with Image.open(ThumbnailCache(tmp_path / "thumbs").get(root, "a.jpg", 864)) as im:
        assert im.size == (40, 80)  # the browser scales it; the cache stores no more pixels


def test_a_large_jpeg_is_scaled_to_the_height(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    _image(root / "a.jpg", (400, 1000))  # decoded at a reduced scale, then resized
    with Image.open(ThumbnailCache(tmp_path / "thumbs").get(root, "a.jpg", 256)) as im:
        assert im.size == (102, 256)


def test_many_thumbnails_in_order_with_the_failures_in_place(tmp_path: Path) -> None:
    """A strip's thumbnails come back in its order; an image that cannot be shown is its
    error in its place (the page shows a placeholder there)."""
    root = tmp_path / "ds"
    names = [f"{i}.jpg" for i in range(6)]
    for i, name in enumerate(names):
        _image(root / name, (10 + i, 100))
    (root / "bad.jpg").write_bytes(b"not an image")
    cache = ThumbnailCache(tmp_path / "thumbs")
    wanted = [*names[:3], "gone.jpg", "../x.jpg", "bad.jpg", *names[3:]]
    got = cache.get_many(root, wanted, 50)
    assert isinstance(got[3], FileNotFoundError)
    assert isinstance(got[4], UnsafePathError)
    assert isinstance(got[5], Image.UnidentifiedImageError)
    made = [p for p in got if isinstance(p, Path)]
    assert made == [cache.get(root, n, 50) for n in names]  # the order kept, made once
    for i, path in enumerate(made):
        with Image.open(path) as im:
            assert im.height == 50 and abs(im.width - (10 + i) / 2) <= 1
    assert cache.get_many(root, names[:2], 50) == made[:2]  # cached


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
