"""Drawing one image: a person (label map), coloured for the sensor, over the camera's scene.

The person is drawn once as a label map (skin, hair, top, bottom, bag, …) with
``PIL.ImageDraw``; visible images colour the labels with the identity's colours,
infrared ones with the materials' NIR reflectance or thermal emission (never the
grayscale of the visible colours). Then lighting, contrast, blur and sensor noise.
Everything random comes from the generator passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from paenet.synth.cameras import CameraLook
from paenet.synth.people import Material, Person
from paenet.synth.scenes import scene_image

# Label values of the person map (0 = background).
SKIN, HAIR, TOP, TOP2, BOTTOM, SHOES, BAG, STRAP, GLASSES = range(1, 10)
_NUM_LABELS = 10
_GLASSES = Material((0.05, 0.05, 0.06), 0.12, 0.2)  # glass is opaque (cold) in thermal


@dataclass(frozen=True, slots=True)
class Pose:
    """Per-image pose: where the person stands and how."""

    back: bool
    """Seen from behind (backpack visible, face hidden)."""
    stride: float
    """Walking phase, -1..1: leg spread and arm swing."""
    cx: float
    top: float
    height: float
    """Person height in pixels."""
    squeeze: float
    """Horizontal foreshortening, 0.8..1 (a person turned slightly)."""
    mirror: bool


def sample_pose(
    rng: np.random.Generator,
    person: Person,
    look: CameraLook,
    w: int,
    h: int,
    back: bool | None = None,
) -> Pose:
    """A random pose; ``back`` forces the view (the draw is made either way)."""
    height = h * rng.uniform(*look.fill) * (0.93 + 0.07 * person.height)
    top = rng.uniform(0.02, 0.98) * max(h - height - 1, 0)
    drawn_back = bool(rng.random() < 0.5)
    return Pose(
        back=drawn_back if back is None else back,
        stride=float(rng.uniform(-1, 1)),
        cx=float(w / 2 + rng.normal(0, 0.05 * w)),
        top=float(top),
        height=float(height),
        squeeze=float(rng.uniform(0.8, 1.0)),
        mirror=bool(rng.random() < 0.5),
    )


@dataclass(frozen=True)
class _Canvas:
    """The drawing surface of one person and the pose's frame: ``X``/``Y`` turn offsets in
    units of the person's height into pixels (``X`` mirrored with the pose)."""

    d: ImageDraw.ImageDraw
    H: float
    cx: float
    y0: float
    sx: float
    mirror: bool
    sw: float
    """Half shoulder width in pixels."""
    hw: float
    """Half head width in pixels."""

    def X(self, f: float) -> float:
        return self.cx + (-f if self.mirror else f) * self.H * self.sx

    def Y(self, f: float) -> float:
        return self.y0 + f * self.H

    def quad(
        self, x0: float, ya: float, x1: float, yb: float, wa: float, wb: float, fill: int
    ) -> None:
        self.d.polygon(((x0 - wa, ya), (x0 + wa, ya), (x1 + wb, yb), (x1 - wb, yb)), fill=fill)


def draw_person(person: Person, pose: Pose, w: int, h: int) -> np.ndarray:
    """The person's label map, shape ``(h, w)`` uint8 (see the label constants).

    Drawn back to front: what is behind the body, legs and lower garment, torso and
    head, arms, backpack, hair and glasses, satchel; then the top's pattern.
    """
    img = Image.new("L", (w, h), 0)
    H, sx = pose.height, pose.squeeze
    female = bool(person.attr("gender"))
    c = _Canvas(
        d=ImageDraw.Draw(img),
        H=H,
        cx=pose.cx,
        y0=pose.top,
        sx=sx,
        mirror=pose.mirror,
        sw=0.105 * H * person.build * sx,
        hw=0.053 * H * sx if not female else 0.048 * H * sx,
    )
    _draw_behind_body(c, person, pose)
    _draw_legs(c, person, pose)
    head = _draw_torso_and_head(c, person, pose)
    _draw_arms(c, person, pose)
    _draw_backpack(c, person, pose)
    _draw_hair_and_glasses(c, person, pose, head)
    _draw_satchel(c, person, pose)
    labels = np.asarray(img).copy()
    _pattern_top(labels, person)
    return labels


def _draw_behind_body(c: _Canvas, person: Person, pose: Pose) -> None:
    """Front view: long hair behind the shoulders and the backpack's bulk beside the
    torso, drawn first so that the body covers them."""
    cx, hw, sw, Y = c.cx, c.hw, c.sw, c.Y
    if person.attr("hair_length") and not pose.back:
        c.d.polygon(
            ((cx - hw * 1.25, Y(0.04)), (cx + hw * 1.25, Y(0.04)),
             (cx + hw * 1.45, Y(0.27)), (cx - hw * 1.45, Y(0.27))),
            fill=HAIR,
        )  # fmt: skip
    if person.attr("backpack") and not pose.back:
        c.d.rectangle((cx - sw * 1.12, Y(0.19), cx + sw * 1.12, Y(0.40)), fill=BAG)


def _draw_legs(c: _Canvas, person: Person, pose: Pose) -> None:
    """Legs (skin under skirts and shorts, trousers otherwise), shoes, and the pelvis of
    the trousers or the skirt."""
    H, sx, cx, sw, X, Y, s = c.H, c.sx, c.cx, c.sw, c.X, c.Y, pose.stride
    skirt = bool(person.attr("lower_body_type"))
    long_lower = bool(person.attr("lower_body_length"))
    hip_y, knee_y, ankle_y = Y(0.50), Y(0.72), Y(0.955)
    legw_top, legw_bot = 0.042 * H * sx, 0.026 * H * sx
    for side in (-1, 1):
        x_hip = X(side * 0.045)
        x_ank = X(side * 0.04 + side * s * 0.06)
        trousers = not skirt
        c.quad(x_hip, hip_y, x_ank, ankle_y, legw_top, legw_bot, BOTTOM if trousers else SKIN)
        if trousers and not long_lower:
            xk = (x_hip + x_ank) / 2 + (x_ank - x_hip) * 0.05
            c.quad(xk, knee_y - 0.02 * H, x_ank, ankle_y, legw_top * 0.8, legw_bot, SKIN)
        c.d.ellipse((x_ank - 0.035 * H, ankle_y - 0.012 * H, x_ank + 0.035 * H,
                     ankle_y + 0.022 * H), fill=SHOES)  # fmt: skip
    if not skirt:
        c.d.rectangle((cx - sw * 0.78, Y(0.46), cx + sw * 0.78, Y(0.56)), fill=BOTTOM)
    else:
        hem = Y(0.86) if long_lower else Y(0.67)
        flare = 1.3 if long_lower else 1.08
        c.d.polygon(
            ((cx - sw * 0.72, Y(0.44)), (cx + sw * 0.72, Y(0.44)),
             (cx + sw * flare, hem), (cx - sw * flare, hem)),
            fill=BOTTOM,
        )  # fmt: skip


def _draw_torso_and_head(
    c: _Canvas, person: Person, pose: Pose
) -> tuple[float, float, float, float]:
    """Torso (the top, with its print in front), neck and head; returns the head's box."""
    H, cx, sw, hw, Y = c.H, c.cx, c.sw, c.hw, c.Y
    waist = 0.70 if person.attr("gender") else 0.8
    c.d.polygon(
        ((cx - sw, Y(0.16)), (cx + sw, Y(0.16)), (cx + sw * 0.95, Y(0.26)),
         (cx + sw * waist, Y(0.44)), (cx + sw * 0.82, Y(0.50)), (cx - sw * 0.82, Y(0.50)),
         (cx - sw * waist, Y(0.44)), (cx - sw * 0.95, Y(0.26))),
        fill=TOP,
    )  # fmt: skip
    if not pose.back and person.pattern == "print":
        c.d.rectangle((cx - sw * 0.4, Y(0.22), cx + sw * 0.4, Y(0.33)), fill=TOP2)
    c.d.rectangle((cx - 0.022 * H, Y(0.11), cx + 0.022 * H, Y(0.17)), fill=SKIN)
    head = (cx - hw, Y(0.005), cx + hw, Y(0.125))
    c.d.ellipse(head, fill=SKIN)
    return head


def _draw_arms(c: _Canvas, person: Person, pose: Pose) -> None:
    """Arms swing against the legs; sleeves cover the upper arm or all of it."""
    H, sx, X, Y, s = c.H, c.sx, c.X, c.Y, pose.stride
    short_sleeve = bool(person.attr("sleeve_length"))
    for side in (-1, 1):
        xs = X(side * 0.092 * person.build)
        xw = X(side * 0.108 * person.build + 0.02 * s)
        yw = Y(0.47 - 0.025 * s * side)
        aw = 0.026 * H * sx
        if short_sleeve:
            c.quad(xs, Y(0.17), xw, yw, aw, aw * 0.8, SKIN)
            c.quad(xs, Y(0.165), xs + (xw - xs) * 0.35, Y(0.27), aw * 1.25, aw * 1.15, TOP)
        else:
            c.quad(xs, Y(0.17), xw, yw, aw * 1.1, aw * 0.9, TOP)
        c.d.ellipse((xw - aw, yw - aw * 0.3, xw + aw, yw + aw * 1.5), fill=SKIN)


def _draw_backpack(c: _Canvas, person: Person, pose: Pose) -> None:
    """The backpack itself from behind, its straps from the front."""
    if not person.attr("backpack"):
        return
    H, cx, sw, Y = c.H, c.cx, c.sw, c.Y
    if pose.back:
        c.d.rounded_rectangle(
            (cx - sw * 0.82, Y(0.18), cx + sw * 0.82, Y(0.43)), radius=0.03 * H, fill=BAG
        )
    else:
        for side in (-1, 1):
            c.quad(cx + side * sw * 0.55, Y(0.16), cx + side * sw * 0.62, Y(0.38),
                   0.014 * H, 0.014 * H, STRAP)  # fmt: skip


def _draw_hair_and_glasses(
    c: _Canvas, person: Person, pose: Pose, head: tuple[float, float, float, float]
) -> None:
    H, cx, hw, Y = c.H, c.cx, c.hw, c.Y
    long_hair = bool(person.attr("hair_length"))
    if pose.back:
        c.d.ellipse((head[0] - 1, head[1] - 1, head[2] + 1, head[3] - 0.01 * H), fill=HAIR)
        if long_hair:
            c.d.polygon(
                ((cx - hw * 1.1, Y(0.06)), (cx + hw * 1.1, Y(0.06)),
                 (cx + hw * 1.35, Y(0.28)), (cx - hw * 1.35, Y(0.28))),
                fill=HAIR,
            )  # fmt: skip
        return
    c.d.chord((head[0] - 1, head[1] - 1, head[2] + 1, Y(0.1)), 180, 360, fill=HAIR)
    if long_hair:
        for side in (-1, 1):
            xo = cx + side * hw * 0.85
            c.quad(xo, Y(0.04), xo + side * 0.008 * H, Y(0.2), 0.02 * H, 0.025 * H, HAIR)
    if person.attr("glasses"):
        # Two small dark lenses and a thin bridge at eye level.
        gy = Y(0.06)
        lh = max(1.0, 0.012 * H)
        c.d.line((cx - hw * 0.6, gy, cx + hw * 0.6, gy), fill=GLASSES, width=1)
        for side in (-1, 1):
            x = cx + side * hw * 0.42
            c.d.rectangle((x - hw * 0.24, gy, x + hw * 0.24, gy + lh), fill=GLASSES)


def _draw_satchel(c: _Canvas, person: Person, pose: Pose) -> None:
    """A strap across the chest and a bag at the hip."""
    if not person.attr("satchel"):
        return
    H, cx, sw, X, Y = c.H, c.cx, c.sw, c.X, c.Y
    side = 1 if pose.back else -1
    xb = X(side * 0.135 * person.build)
    c.quad(cx - side * sw * 0.7, Y(0.16), xb, Y(0.46), 0.008 * H, 0.008 * H, STRAP)
    c.d.rectangle((xb - 0.05 * H, Y(0.44), xb + 0.05 * H, Y(0.56)), fill=BAG)


def _pattern_top(labels: np.ndarray, person: Person) -> None:
    """Stripes or checks: part of the top becomes its second colour (in place)."""
    if person.pattern not in ("stripes", "check"):
        return
    h, w = labels.shape
    p = person.stripe_period
    rows = (np.arange(h) // p) % 2 == 0
    pat = np.broadcast_to(rows[:, None], labels.shape)
    if person.pattern == "check":
        pat = pat ^ ((np.arange(w) // p) % 2 == 0)[None, :]
    labels[(labels == TOP) & pat] = TOP2


def _palettes(person: Person, sensor: str) -> np.ndarray:
    mats = {
        SKIN: person.skin, HAIR: person.hair, TOP: person.top, TOP2: person.top2,
        BOTTOM: person.bottom, SHOES: person.shoes, BAG: person.bag, GLASSES: _GLASSES,
    }  # fmt: skip
    strap = person.bag
    mats[STRAP] = Material(tuple(0.6 * c for c in strap.colour), strap.nir * 0.8, strap.thermal)  # type: ignore[arg-type]
    if sensor == "visible":
        pal = np.zeros((_NUM_LABELS, 3), np.float32)
        for k, m in mats.items():
            pal[k] = m.colour
        return pal
    pal1 = np.zeros(_NUM_LABELS, np.float32)
    for k, m in mats.items():
        pal1[k] = m.nir if sensor == "nir" else m.thermal
    return pal1


@lru_cache(maxsize=4)
def _noise_tile(channels: int) -> np.ndarray:
    """A fixed noise tile (same in every process); images take a random window of it."""
    rng = np.random.default_rng(12345 + channels)
    return rng.standard_normal((256, 256, channels)).astype(np.float32)


def render_image(
    person: Person,
    look: CameraLook,
    rng: np.random.Generator,
    seed: int,
    back: bool | None = None,
) -> Image.Image:
    """One RGB image of ``person`` by camera ``look``; IR images have three equal channels.

    ``seed`` selects the scene (backgrounds depend on it); ``back`` forces the view.
    """
    jit = 1.0 + (rng.uniform(-look.size_jitter, look.size_jitter) if look.size_jitter else 0.0)
    w = round(look.size[0] * jit / 2) * 2
    h = round(look.size[1] * jit / 2) * 2
    visible = look.sensor == "visible"

    # Background: a random window of the scene, resized to the frame.
    scene = scene_image(look.scene, look.sensor, seed)
    sw_, sh_ = scene.size
    ch = sh_ * rng.uniform(0.55, 0.85)
    cw = min(ch * w / h, sw_)
    x0, y0 = rng.uniform(0, sw_ - cw), rng.uniform(0, sh_ - ch)
    bg_img = scene.resize((w, h), Image.Resampling.BILINEAR, box=(x0, y0, x0 + cw, y0 + ch))
    bg = np.asarray(bg_img, dtype=np.float32) * (1 / 255)

    pose = sample_pose(rng, person, look, w, h, back)
    labels = draw_person(person, pose, w, h)
    pal = _palettes(person, look.sensor)
    # Cylinder shading across the body, stronger in visible light.
    dx = (np.arange(w, dtype=np.float32) - pose.cx) / (0.16 * pose.height)
    shade = 1.0 - (0.28 if visible else 0.12) * np.clip(dx * dx, 0, 1)
    mask = labels > 0
    light = look.gain * rng.uniform(0.85, 1.15)
    if visible:
        fg = pal[labels] * shade[None, :, None]
        img = np.where(mask[..., None], fg, bg)
        img = img * (light * np.asarray(look.white_balance, np.float32))
    else:
        fg = pal[labels] * shade[None, :]
        img = np.where(mask, fg, bg) * light
        lo, hi = look.contrast
        img = lo + (hi - lo) * img
    tile = _noise_tile(3 if visible else 1)
    if h > tile.shape[0] or w > tile.shape[1]:
        raise ValueError(f"frame {w}x{h} is larger than the noise tile")
    ty, tx = rng.integers(0, tile.shape[0] - h + 1), rng.integers(0, tile.shape[1] - w + 1)
    noise = tile[ty : ty + h, tx : tx + w]
    img = img + look.noise * (noise if visible else noise[..., 0])
    out = Image.fromarray(
        np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8), "RGB" if visible else "L"
    )
    out = out.filter(ImageFilter.GaussianBlur(float(rng.uniform(*look.blur))))
    return out if visible else Image.merge("RGB", (out, out, out))
