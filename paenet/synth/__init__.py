"""The synthetic stand-in dataset: SYSU-MM01 and RegDB layouts with drawn people.

    from paenet.synth import SynthConfig, synthesize
    report = synthesize(SynthConfig(layout="sysu", out=Path("out"), scale="tiny", seed=0))

Modules: :mod:`.structure` (real SYSU-MM01 structure, bundled as JSON),
:mod:`.people` (attributes and looks of identities), :mod:`.scenes` and
:mod:`.cameras` (backgrounds and camera looks), :mod:`.render` (drawing one image),
:mod:`.plan` (every file of a stand-in, without drawing), :mod:`.writer` (writing it).
"""

from paenet.synth.config import GENERATOR_VERSION, SynthConfig, SynthReport
from paenet.synth.plan import Plan, make_plan
from paenet.synth.writer import ATTRIBUTES_FILE, INFO_FILE, synthesize

__all__ = [
    "ATTRIBUTES_FILE",
    "GENERATOR_VERSION",
    "INFO_FILE",
    "Plan",
    "SynthConfig",
    "SynthReport",
    "make_plan",
    "synthesize",
]
