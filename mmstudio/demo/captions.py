"""Captions with varied templates and synonyms, and which object each word speaks of.

A caption is a list of (word, owner) pairs: ``owner`` is the index of the object the word
describes, or -1 for words about no single object ("a", "then", the echo). The owners are
what the token-level training objective aligns words with patches and sound frames by.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmstudio.demo.world import Scene, WorldObject

SYNONYMS = {
    "red": ["red", "crimson", "scarlet"], "orange": ["orange", "amber", "tangerine"],
    "yellow": ["yellow", "golden", "lemon"], "green": ["green", "emerald", "lime"],
    "blue": ["blue", "azure", "navy"], "purple": ["purple", "violet", "lilac"],
    "circle": ["circle", "disc", "dot"], "square": ["square", "box", "block"],
    "triangle": ["triangle", "wedge", "pyramid"], "star": ["star", "starburst", "asterisk"],
    "cross": ["cross", "plus", "crossmark"], "ring": ["ring", "hoop", "donut"],
    "small": ["small", "little", "tiny"], "large": ["large", "big", "huge"],
    "striped": ["striped", "stripy", "banded"], "plain": ["plain", "solid", "flat"],
}
ECHO = [["with", "an", "echo"], ["echoing"], ["reverberating"], ["with", "reverb"]]
DRY = [["dry"], ["without", "echo"], ["with", "no", "echo"], ["dry", "sounding"]]
SIDES = {0: ["on", "the", "left"], 1: ["on", "the", "right"]}
JOINERS = [["then"], ["and", "then"], ["followed", "by"], ["and"]]


@dataclass(frozen=True)
class Caption:
    words: tuple[str, ...]
    owners: tuple[int, ...]

    @property
    def text(self) -> str:
        return " ".join(self.words)


def _pick(rng, options):
    return options[int(rng.integers(len(options)))]


def object_phrase(obj: WorldObject, rng, *, stripes: bool = True) -> list[str]:
    size = _pick(rng, SYNONYMS[obj.size])
    color = _pick(rng, SYNONYMS[obj.color])
    shape = _pick(rng, SYNONYMS[obj.shape])
    stripe = _pick(rng, SYNONYMS["striped" if obj.striped else "plain"])
    order = int(rng.integers(3)) if stripes else 3
    if order == 0:
        return [size, stripe, color, shape]
    if order == 1:
        return [stripe, size, color, shape]
    if order == 2:
        return [size, color, shape, *(["with", "stripes"] if obj.striped else ["without", "stripes"])]
    return [size, color, shape]


def describe(scene: Scene, rng) -> Caption:
    """A full caption: every object in left-to-right order, its stripes, and the echo."""
    pairs: list[tuple[str, int]] = []
    pairs.append((_pick(rng, ["a", "one", "the"]), -1))
    for k, obj in enumerate(scene.objects):
        if k:
            pairs += [(w, -1) for w in _pick(rng, JOINERS)] + [("a", -1)]
        pairs += [(w, k) for w in object_phrase(obj, rng)]
        if rng.random() < 0.4:
            side = k if len(scene.objects) == 2 else (0 if obj.center[0] < 28 else 1 if obj.center[0] > 36 else None)
            if side is not None:
                pairs += [(w, k if w not in ("on", "the") else -1) for w in SIDES[side]]
    pairs += [(w, -1) for w in _pick(rng, ECHO if scene.echo else DRY)]
    words, owners = zip(*pairs)
    return Caption(tuple(words), tuple(owners))


def describe_object(scene: Scene, k: int, rng) -> Caption:
    """A caption naming one object only ("a big crimson disc"): every word is about object ``k``."""
    obj = scene.objects[k]
    words = [_pick(rng, ["a", "the", "one"]), *object_phrase(obj, rng, stripes=rng.random() < 0.5)]
    return Caption(tuple(words), tuple([k] * len(words)))


def vocabulary() -> list[str]:
    """Every word a caption can contain, sorted."""
    words = {w for options in SYNONYMS.values() for w in options}
    for group in (ECHO, DRY, JOINERS, list(SIDES.values())):
        words |= {w for phrase in group for w in phrase}
    words |= {"a", "one", "the", "with", "without", "stripes"}
    return sorted(words)


def random_caption(scene: Scene, seed: int) -> Caption:
    return describe(scene, np.random.default_rng(seed))
