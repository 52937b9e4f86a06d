"""Drawing: attributes show in the pixels; infrared ignores visible colour."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from paenet.attributes import ATTRIBUTE_KEYS
from paenet.data.records import Modality
from paenet.synth.cameras import REGDB_LOOKS, SYSU_LOOKS
from paenet.synth.people import Material, Person, make_people
from paenet.synth.render import render_image


def _person() -> Person:
    people = make_people(list(range(1, 60)), seed=0)
    # A plain-topped person without bags, so that adding one is the only change.
    return next(
        p
        for p in people.values()
        if p.pattern == "plain" and not p.attr("backpack") and not p.attr("satchel")
    )


def _with(person: Person, **attrs: int) -> Person:
    values = list(person.attributes)
    for key, v in attrs.items():
        values[ATTRIBUTE_KEYS.index(key)] = v
    return dataclasses.replace(person, attributes=tuple(values))


def _draw(person: Person, cam: int, back: bool) -> np.ndarray:
    rng = np.random.default_rng(7)
    return np.asarray(render_image(person, SYSU_LOOKS[cam], rng, seed=0, back=back)).astype(int)


@pytest.mark.parametrize("cam", [1, 3])
@pytest.mark.parametrize(
    "key, back", [("backpack", True), ("satchel", False), ("sleeve_length", False)]
)
def test_an_attribute_changes_the_image(cam: int, key: str, back: bool) -> None:
    person = _person()
    a = _draw(_with(person, **{key: 0}), cam, back)
    b = _draw(_with(person, **{key: 1}), cam, back)
    changed = (np.abs(a - b).max(axis=2) > 20).mean()
    assert changed > 0.01, f"{key} changed only {changed:.2%} of the pixels"


def test_infrared_ignores_visible_colour_but_visible_does_not() -> None:
    person = _person()
    yellow = Material((0.9, 0.8, 0.1), person.top.nir, person.top.thermal)
    navy = Material((0.1, 0.1, 0.3), person.top.nir, person.top.thermal)
    for look, visible in (
        (SYSU_LOOKS[3], False),
        (SYSU_LOOKS[1], True),
        (REGDB_LOOKS[Modality.INFRARED], False),
    ):
        imgs = [
            np.asarray(
                render_image(
                    dataclasses.replace(person, top=m, top2=m),
                    look,
                    np.random.default_rng(3),
                    seed=0,
                    back=False,
                )
            )
            for m in (yellow, navy)
        ]
        assert (not np.array_equal(*imgs)) == visible, look.key


def test_infrared_is_not_the_grayscale_of_visible() -> None:
    """Garment brightness order differs between the visible and the NIR palettes."""
    people = make_people(list(range(1, 200)), seed=0)
    luma = [
        0.299 * p.top.colour[0] + 0.587 * p.top.colour[1] + 0.114 * p.top.colour[2]
        for p in people.values()
    ]
    nir = [p.top.nir for p in people.values()]
    assert abs(np.corrcoef(luma, nir)[0, 1]) < 0.3
    assert np.mean(nir) > np.mean([p.hair.nir for p in people.values()]) + 0.4


def test_label_maps_are_those_of_this_generator_version() -> None:
    """The label maps of 40 people, front and back, hash to what generator version 2 drew
    before ``draw_person`` was split into steps. A change here changes every stand-in
    written (bump ``GENERATOR_VERSION``), whether from the drawing code or from Pillow."""
    import hashlib

    from paenet.synth.render import draw_person, sample_pose

    people = make_people(list(range(1, 41)), 0)
    looks = list(SYSU_LOOKS.values())
    rng = np.random.default_rng(7)
    digest = hashlib.sha256()
    for pid, person in people.items():
        for back in (False, True):
            pose = sample_pose(rng, person, looks[pid % len(looks)], 64, 128, back=back)
            digest.update(draw_person(person, pose, 64, 128).tobytes())
    assert digest.hexdigest() == "ec47178caa657f74bf35f3db79e1c5b1a35f362cbce74f4d19107aedac1bbda7"
