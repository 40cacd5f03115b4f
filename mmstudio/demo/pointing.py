"""The pointing game's cases on the demo world's held-out scenes, for any encoder and attention
method (``pointing_game(encoder, pointing_cases(), method)``, see
:mod:`mmstudio.analysis.attention.pointing`).

The scenes and captions are those of the built-in model's shipped numbers
(:func:`mmstudio.demo.evaluate.evaluate`: 2,000 scenes drawn with seed 777; on each two-object
scene, one caption per object naming that object only), so a checkpoint's row reads against the
built-in model's on the same cases.
"""

from __future__ import annotations

import numpy as np

from mmstudio.demo.captions import describe_object
from mmstudio.demo.render import render_image
from mmstudio.demo.world import make_scenes

HELD_OUT_SCENES = 2000
HELD_OUT_SEED = 777


def named_objects(scenes, seed: int) -> list[tuple]:
    """(scene, k, caption) for each object of each two-object scene, the caption naming object k only."""
    rng = np.random.default_rng(seed)
    pairs = [(s, k) for s in scenes if len(s.objects) == 2 for k in range(2)]
    return [(s, k, describe_object(s, k, rng).text) for s, k in pairs]


def pointing_cases(n: int = HELD_OUT_SCENES, seed: int = HELD_OUT_SEED) -> list:
    """The pointing cases of the first ``n`` scenes drawn with ``seed`` (about half have two objects)."""
    from PIL import Image

    from mmstudio.analysis.attention.pointing import PointingCase

    scenes = make_scenes(n, seed=seed)
    images = {}
    cases = []
    for scene, k, caption in named_objects(scenes, seed):
        if scene.index not in images:
            images[scene.index] = Image.fromarray(render_image(scene))
        others = tuple(o.box for j, o in enumerate(scene.objects) if j != k)
        cases.append(PointingCase(images[scene.index], caption, scene.objects[k].box, others))
    if not cases:
        raise ValueError(f"the first {n} scenes drawn with seed {seed} hold no two-object scene: give more scenes")
    return cases
