"""Identities of the stand-in: ground-truth attributes and a look that follows them.

An identity's look is drawn once from a generator seeded by ``(seed, pid)``, so it
does not depend on which cameras or how many images it has. Visible colour and
infrared response are drawn independently: each garment has a *material* with a
near-infrared reflectance (SYSU's active-IR cameras) and a thermal emission
(RegDB's thermal camera) that ignore its colour, as the real crops show (a yellow
jacket and blue jeans both come out near-white in SYSU IR).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from paenet.attributes import ATTRIBUTE_KEYS

RGB = tuple[float, float, float]

# Clothing colours (0..1) with sampling weights: dark and neutral colours dominate.
_CLOTH_COLOURS: tuple[tuple[RGB, float], ...] = (
    ((0.08, 0.08, 0.09), 3.0),  # black
    ((0.12, 0.15, 0.32), 2.0),  # navy
    ((0.45, 0.45, 0.47), 1.5),  # grey
    ((0.88, 0.88, 0.86), 1.5),  # white
    ((0.30, 0.42, 0.62), 1.5),  # denim
    ((0.90, 0.78, 0.15), 0.7),  # yellow
    ((0.72, 0.12, 0.12), 0.7),  # red
    ((0.18, 0.45, 0.25), 0.6),  # green
    ((0.85, 0.55, 0.65), 0.6),  # pink
    ((0.55, 0.40, 0.25), 0.7),  # brown / khaki
    ((0.20, 0.55, 0.75), 0.6),  # light blue
    ((0.45, 0.20, 0.45), 0.4),  # purple
)
_SKIN: tuple[RGB, ...] = ((0.93, 0.78, 0.65), (0.85, 0.67, 0.52), (0.74, 0.56, 0.42))
_HAIR: tuple[RGB, ...] = ((0.05, 0.04, 0.04), (0.12, 0.08, 0.06), (0.25, 0.17, 0.10))

PATTERNS: tuple[str, ...] = ("plain", "stripes", "check", "print")


@dataclass(frozen=True, slots=True)
class Material:
    """How a surface looks to each sensor: visible colour, NIR reflectance, thermal."""

    colour: RGB
    nir: float
    """Brightness in active near-infrared (SYSU cams 3, 6), 0..1."""
    thermal: float
    """Brightness in the thermal camera (RegDB), 0..1."""


@dataclass(frozen=True, slots=True)
class Person:
    """One identity: its attributes (``ATTRIBUTE_KEYS`` order) and how it looks."""

    pid: int
    attributes: tuple[int, ...]
    height: float
    """Fraction of a standard frame height, 0.88..1."""
    build: float
    """Shoulder width factor, about 0.85..1.2."""
    dress: bool
    """A dress (one garment, top colour continues below the waist); implies a skirt-type."""
    pattern: str
    skin: Material
    hair: Material
    top: Material
    top2: Material
    """Second colour of a patterned top (stripes, check, print)."""
    bottom: Material
    shoes: Material
    bag: Material
    stripe_period: int

    def attr(self, key: str) -> int:
        return self.attributes[ATTRIBUTE_KEYS.index(key)]


def sample_attributes(rng: np.random.Generator) -> dict[str, int]:
    """Plausibly correlated attributes (see ``paenet.attributes`` for polarity)."""
    female = rng.random() < 0.42
    long_hair = rng.random() < (0.8 if female else 0.05)
    glasses = rng.random() < (0.30 if female else 0.40)
    short_sleeve = rng.random() < 0.45
    skirt = rng.random() < (0.35 if female else 0.01)
    # Skirts are mostly short; trousers mostly long, shorts go with short sleeves.
    p_long = 0.4 if skirt else (0.65 if short_sleeve else 0.9)
    long_lower = rng.random() < p_long
    backpack = rng.random() < 0.35
    satchel = rng.random() < ((0.30 if female else 0.15) if not backpack else 0.06)
    values = {
        "gender": female,
        "hair_length": long_hair,
        "glasses": glasses,
        "sleeve_length": short_sleeve,
        "lower_body_type": skirt,
        "lower_body_length": long_lower,
        "backpack": backpack,
        "satchel": satchel,
    }
    return {key: int(values[key]) for key in ATTRIBUTE_KEYS}


def _cloth_colour(rng: np.random.Generator, avoid: int | None = None) -> tuple[int, RGB]:
    """A clothing colour and its palette index; ``avoid`` makes one entry unlikely."""
    weights = np.array([w for _, w in _CLOTH_COLOURS])
    if avoid is not None:
        weights[avoid] *= 0.05
    k = int(rng.choice(len(_CLOTH_COLOURS), p=weights / weights.sum()))
    base = np.array(_CLOTH_COLOURS[k][0])
    jitter = rng.normal(0.0, 0.04, size=3)
    return k, _rgb(np.clip(base * rng.uniform(0.85, 1.15) + jitter, 0.0, 1.0))


def _rgb(a: np.ndarray) -> RGB:
    return (float(a[0]), float(a[1]), float(a[2]))


def _garment(rng: np.random.Generator, colour: RGB) -> Material:
    # NIR reflectance of textiles is mostly high whatever the dye (Beta skewed to 1);
    # a few synthetic/dark-dyed fabrics absorb. Thermal: clothing mid-warm, varies with
    # thickness. Both independent of ``colour``.
    nir = float(0.25 + 0.72 * rng.beta(4.0, 1.4))
    thermal = float(rng.uniform(0.45, 0.75))
    return Material(colour, nir, thermal)


def make_person(pid: int, attributes: dict[str, int], rng: np.random.Generator) -> Person:
    """Appearance of one identity, drawn after its attributes from the same generator."""
    female = bool(attributes["gender"])
    skirt = bool(attributes["lower_body_type"])
    skin_rgb = _rgb(
        np.clip(np.array(_SKIN[rng.integers(len(_SKIN))]) + rng.normal(0, 0.03, 3), 0, 1)
    )
    hair_rgb = _HAIR[rng.integers(len(_HAIR))]
    top_k, top_rgb = _cloth_colour(rng)
    top = _garment(rng, top_rgb)
    _, top2_colour = _cloth_colour(rng, avoid=top_k)
    # The second colour of a pattern keeps the garment's material: lower IR contrast.
    top2 = Material(top2_colour, float(np.clip(top.nir + rng.normal(0, 0.08), 0, 1)), top.thermal)
    dress = skirt and rng.random() < 0.4
    bottom = top if dress else _garment(rng, _cloth_colour(rng, avoid=top_k)[1])
    shoes_rgb = _rgb(
        np.array((0.9, 0.9, 0.9)) if rng.random() < 0.35 else np.array((0.1, 0.1, 0.1))
    )
    _, bag_rgb = _cloth_colour(rng, avoid=top_k)
    return Person(
        pid=pid,
        attributes=tuple(attributes[k] for k in ATTRIBUTE_KEYS),
        height=float(rng.uniform(0.88, 1.0) if not female else rng.uniform(0.86, 0.97)),
        build=float(rng.uniform(0.98, 1.2) if not female else rng.uniform(0.85, 1.02)),
        dress=dress,
        pattern=str(rng.choice(PATTERNS, p=(0.5, 0.25, 0.1, 0.15))),
        skin=Material(skin_rgb, float(rng.uniform(0.55, 0.75)), float(rng.uniform(0.88, 1.0))),
        hair=Material(hair_rgb, float(rng.uniform(0.08, 0.22)), float(rng.uniform(0.45, 0.6))),
        top=top,
        top2=top2,
        bottom=bottom,
        shoes=Material(shoes_rgb, float(rng.uniform(0.2, 0.8)), float(rng.uniform(0.35, 0.5))),
        bag=Material(bag_rgb, float(rng.uniform(0.3, 0.85)), float(rng.uniform(0.25, 0.4))),
        stripe_period=int(rng.integers(3, 6)),
    )


def identity_rng(seed: int, pid: int) -> np.random.Generator:
    """The generator of one identity: ``SeedSequence([seed, 0, pid])``."""
    return np.random.default_rng(np.random.SeedSequence([seed, 0, pid]))


def make_people(pids: list[int] | tuple[int, ...], seed: int) -> dict[int, Person]:
    """Every identity of a dataset, each from its own generator (order-independent)."""
    people: dict[int, Person] = {}
    for pid in pids:
        rng = identity_rng(seed, pid)
        people[pid] = make_person(pid, sample_attributes(rng), rng)
    return people
