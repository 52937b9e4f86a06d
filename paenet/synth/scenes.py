"""Camera backgrounds: one scene per physical place, seen by a visible or infrared sensor.

A scene is drawn once as a label map (wall, floor, door, …) with one material per
label, then coloured for the sensor that looks at it. Cameras that share a place
(SYSU cam2 and cam3 in room2; RegDB's visible/thermal pair) share the geometry and
differ only in how the materials respond. Scenes depend on the seed and are cached
per process; each image crops a random window out of its scene.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

from paenet.synth.people import Material

SCENE_SIZE = (160, 256)
"""(width, height) of a scene before cropping."""
SENSORS: tuple[str, ...] = ("visible", "nir", "thermal")

_W, _H = SCENE_SIZE
Drawer = Callable[[ImageDraw.ImageDraw, np.random.Generator], dict[int, Material]]


def _m(rgb: tuple[float, float, float], nir: float, thermal: float) -> Material:
    return Material(rgb, nir, thermal)


def _room1(d: ImageDraw.ImageDraw, rng: np.random.Generator) -> dict[int, Material]:
    horizon = int(_H * rng.uniform(0.52, 0.6))
    d.rectangle((0, horizon, _W, _H), fill=2)
    for _ in range(3):  # desks, cabinets, chairs
        x = int(rng.uniform(-20, _W - 10))
        top = horizon - int(rng.uniform(10, 50))
        d.rectangle(
            (x, top, x + int(rng.uniform(20, 60)), horizon + int(rng.uniform(5, 30))), fill=3
        )
    d.rectangle((int(_W * 0.6), int(_H * 0.12), int(_W * 0.9), int(_H * 0.3)), fill=4)
    return {
        1: _m((0.76, 0.79, 0.74), 0.5, 0.3),  # wall
        2: _m((0.55, 0.60, 0.55), 0.38, 0.25),  # floor
        3: _m((0.20, 0.20, 0.22), 0.35, 0.28),  # furniture
        4: _m((0.90, 0.92, 0.95), 0.85, 0.2),  # window
    }


def _room2(d: ImageDraw.ImageDraw, rng: np.random.Generator) -> dict[int, Material]:
    horizon = int(_H * rng.uniform(0.6, 0.68))
    d.rectangle((0, horizon, _W, _H), fill=2)
    for _ in range(2):  # doors with frames
        x = int(rng.uniform(0, _W - 40))
        d.rectangle((x, int(_H * 0.15), x + 40, horizon), fill=3)
        d.rectangle((x + 4, int(_H * 0.18), x + 36, horizon), fill=4)
    d.line((0, horizon, _W, horizon), fill=3, width=2)
    return {
        1: _m((0.88, 0.88, 0.86), 0.55, 0.3),  # white wall
        2: _m((0.40, 0.42, 0.48), 0.3, 0.25),  # floor
        3: _m((0.70, 0.60, 0.45), 0.7, 0.3),  # door frame
        4: _m((0.60, 0.62, 0.66), 0.45, 0.28),  # door
    }


def _gate(d: ImageDraw.ImageDraw, rng: np.random.Generator) -> dict[int, Material]:
    horizon = int(_H * rng.uniform(0.4, 0.5))
    d.rectangle((0, 0, _W, horizon), fill=2)
    for k in range(6):  # pedestrian crossing stripes
        y = horizon + 12 + k * 22
        d.polygon(((0, y), (_W, y - 6), (_W, y + 6), (0, y + 12)), fill=3)
    x = int(rng.uniform(-30, _W - 60))
    d.rounded_rectangle((x, horizon - 30, x + 90, horizon + 25), radius=10, fill=4)
    return {
        1: _m((0.52, 0.52, 0.54), 0.5, 0.35),  # road
        2: _m((0.78, 0.80, 0.82), 0.7, 0.3),  # building / sky
        3: _m((0.85, 0.85, 0.85), 0.8, 0.32),  # road paint
        4: _m((0.65, 0.12, 0.10), 0.55, 0.4),  # a parked car
    }


def _garden(d: ImageDraw.ImageDraw, rng: np.random.Generator) -> dict[int, Material]:
    horizon = int(_H * rng.uniform(0.5, 0.6))
    d.rectangle((0, horizon, _W, _H), fill=1)
    for _ in range(5):  # tree crowns and trunks
        x, y = rng.uniform(-20, _W), rng.uniform(-20, horizon * 0.7)
        r = rng.uniform(25, 50)
        d.ellipse((x - r, y - r, x + r, y + r), fill=3)
        d.rectangle((x - 4, y, x + 4, horizon), fill=4)
    return {
        1: _m((0.55, 0.52, 0.48), 0.55, 0.35),  # pavement
        2: _m((0.35, 0.45, 0.32), 0.75, 0.3),  # hedge
        3: _m((0.18, 0.32, 0.15), 0.9, 0.28),  # leaves: bright in NIR
        4: _m((0.30, 0.22, 0.15), 0.4, 0.3),  # trunks
    }


def _outdoor_ir(d: ImageDraw.ImageDraw, rng: np.random.Generator) -> dict[int, Material]:
    horizon = int(_H * rng.uniform(0.55, 0.65))
    d.rectangle((0, horizon, _W, _H), fill=2)
    for _ in range(3):  # pillars
        x = int(rng.uniform(0, _W - 20))
        d.rectangle((x, 0, x + int(rng.uniform(10, 24)), horizon), fill=3)
    return {
        1: _m((0.5, 0.5, 0.5), 0.38, 0.3),  # building face
        2: _m((0.45, 0.45, 0.45), 0.3, 0.3),  # ground
        3: _m((0.7, 0.7, 0.7), 0.6, 0.3),  # pillars
    }


def _street(d: ImageDraw.ImageDraw, rng: np.random.Generator) -> dict[int, Material]:
    horizon = int(_H * rng.uniform(0.45, 0.55))
    d.rectangle((0, horizon, _W, _H), fill=2)
    d.rectangle((0, 0, _W, int(horizon * 0.35)), fill=3)
    for _ in range(3):  # shop windows
        x = int(rng.uniform(0, _W - 40))
        d.rectangle((x, int(horizon * 0.4), x + 35, horizon - 8), fill=4)
    return {
        1: _m((0.62, 0.58, 0.52), 0.5, 0.25),  # facade
        2: _m((0.48, 0.48, 0.50), 0.4, 0.2),  # sidewalk
        3: _m((0.75, 0.82, 0.90), 0.7, 0.05),  # sky: cold in thermal
        4: _m((0.25, 0.30, 0.35), 0.3, 0.18),  # windows
    }


SCENES: dict[str, Drawer] = {
    "room1": _room1,
    "room2": _room2,
    "gate": _gate,
    "garden": _garden,
    "outdoor-ir": _outdoor_ir,
    "street": _street,
}


@lru_cache(maxsize=32)
def scene_image(name: str, sensor: str, seed: int) -> Image.Image:
    """The scene ``name`` seen by ``sensor``: an RGB (visible) or L (nir, thermal) image."""
    if sensor not in SENSORS:
        raise ValueError(f"sensor must be one of {SENSORS}, got {sensor!r}")
    # One generator per (seed, scene): the same geometry for every sensor of the place.
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1, *name.encode()]))
    labels = Image.new("L", SCENE_SIZE, 1)
    materials = SCENES[name](ImageDraw.Draw(labels), rng)
    lab = np.asarray(labels)
    coarse = rng.uniform(0.85, 1.15, size=(_H // 16, _W // 16)).astype(np.float32)
    texture = np.asarray(
        Image.fromarray(coarse, mode="F").resize(SCENE_SIZE, Image.Resampling.BILINEAR)
    )
    texture = texture * rng.uniform(0.94, 1.06, size=texture.shape).astype(np.float32)
    if sensor == "visible":
        pal = np.zeros((256, 3), np.float32)
        for k, mat in materials.items():
            pal[k] = mat.colour
        out = pal[lab] * texture[..., None]
        return Image.fromarray(np.clip(out * 255, 0, 255).astype(np.uint8), "RGB")
    pal1 = np.zeros(256, np.float32)
    for k, mat in materials.items():
        pal1[k] = mat.nir if sensor == "nir" else mat.thermal
    out1 = pal1[lab] * (1 + (texture - 1) * (0.5 if sensor == "thermal" else 1.0))
    return Image.fromarray(np.clip(out1 * 255, 0, 255).astype(np.uint8), "L")
