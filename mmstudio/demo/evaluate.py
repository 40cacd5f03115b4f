"""Held-out quality of a tri-modal model on the demo world: the numbers the built-in model ships with.

Everything goes through the encoder's public path (raw pixels, raw audio, caption strings),
on scenes drawn with a seed the model never trained on.
"""

from __future__ import annotations

import numpy as np

from mmstudio.demo.captions import describe
from mmstudio.demo.pointing import named_objects
from mmstudio.demo.render import render_image, render_sound
from mmstudio.demo.world import IMAGE_SIZE, make_scenes

RETRIEVAL = (("image", "text"), ("text", "image"), ("audio", "text"), ("text", "audio"),
             ("image", "audio"), ("audio", "image"))


def signature(scene, kind: str) -> tuple:
    """What a pair of modalities can agree on (see :meth:`WorldArrays.signature`)."""
    objs = tuple((o.shape, o.color, o.size) for o in scene.objects)
    if kind == "image-text":
        return objs, tuple(o.striped for o in scene.objects)
    if kind == "audio-text":
        return objs, scene.echo
    return objs


def _pair_kind(a: str, b: str) -> str:
    pair = {a, b}
    return "image-text" if pair == {"image", "text"} else "audio-text" if pair == {"audio", "text"} else "image-audio"


def embed_world(encoder, scenes, seed: int, batch: int = 256) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    media = {"image": [render_image(s) for s in scenes], "audio": [render_sound(s) for s in scenes],
             "text": [describe(s, rng).text for s in scenes]}
    return {m: np.concatenate([encoder.embed(m, items[i:i + batch]).vectors for i in range(0, len(items), batch)])
            for m, items in media.items()}


def retrieval_at_1(scenes, vectors: dict[str, np.ndarray]) -> dict[str, float]:
    """Attribute-level R@1: a hit when the top item has the query's attributes (those both modalities carry)."""
    out = {}
    for q, g in RETRIEVAL:
        kind = _pair_kind(q, g)
        sigs = [signature(s, kind) for s in scenes]
        top = np.argmax(vectors[q] @ vectors[g].T, axis=1)
        out[f"{q}->{g}"] = float(np.mean([sigs[i] == sigs[j] for i, j in enumerate(top)]))
    return out


def pointing(encoder, scenes, seed: int, batch: int = 128) -> dict[str, float]:
    """On two-object scenes, for a caption naming one object: does each map peak on that object?

    The maps are those of :class:`mmstudio.analysis.attention.heatmaps.AttentionSession` (cross-attention:
    layers, heads and the caption's words averaged; patch similarity: patch tokens against the
    caption's embedding), computed here in batches. :func:`mmstudio.demo.pointing.demo_pointing`
    plays the same game on the same cases for any encoder and method, one map at a time.
    """
    from mmstudio.analysis.attention.heatmaps import SPECIAL, pointing_hit, upsample

    named = named_objects(scenes, seed)
    pairs = [(s, k) for s, k, _ in named]
    captions = [caption for _, _, caption in named]
    hits = {"cross_attention": [], "patch_similarity": [], "audio_time": []}
    step = encoder.cfg.audio_seconds / encoder.cfg.audio_tokens
    g = encoder.cfg.grid
    size = (IMAGE_SIZE, IMAGE_SIZE)
    for start in range(0, len(pairs), batch):
        chunk, texts = pairs[start:start + batch], captions[start:start + batch]
        images = [render_image(s) for s, _ in chunk]
        sounds = [render_sound(s) for s, _ in chunk]
        w_img, words = encoder.cross_attention_maps("image", encoder.media_states("image", images), texts)
        w_aud, _ = encoder.cross_attention_maps("audio", encoder.media_states("audio", sounds), texts)
        patches = encoder.embed("image", images, tokens=True).tokens
        text_vecs = encoder.embed("text", texts).vectors
        for i, (scene, k) in enumerate(chunk):
            content = [j for j, w in enumerate(words[i]) if w not in SPECIAL]
            obj = scene.objects[k]
            img_map = w_img[i].mean(axis=(0, 1))[content].mean(axis=0).reshape(g, g)
            hits["cross_attention"].append(pointing_hit(upsample(img_map, size), obj.box))
            tok = patches[i].vectors / np.linalg.norm(patches[i].vectors, axis=1, keepdims=True)
            hits["patch_similarity"].append(pointing_hit(upsample((tok @ text_vecs[i]).reshape(g, g), size), obj.box))
            t = (int(np.argmax(w_aud[i].mean(axis=(0, 1))[content].mean(axis=0))) + 0.5) * step
            hits["audio_time"].append(obj.segment[0] <= t <= obj.segment[1])
    return {k: float(np.mean(v)) for k, v in hits.items()}


def xor_probes(scenes, vectors: dict[str, np.ndarray], seed: int = 0) -> dict[str, float]:
    """``xor`` from the image alone, the audio alone (linear probes) and both (an early-fusion MLP)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    y = np.array([s.xor for s in scenes])
    order = np.random.default_rng(seed).permutation(len(y))
    train, test = order[: len(y) // 2], order[len(y) // 2:]
    out = {}
    for name, x in (("image", vectors["image"]), ("audio", vectors["audio"])):
        probe = LogisticRegression(max_iter=2000).fit(x[train], y[train])
        out[name] = float(probe.score(x[test], y[test]))
    both = np.concatenate([vectors["image"], vectors["audio"]], axis=1)
    mlp = MLPClassifier(hidden_layer_sizes=(128,), max_iter=2000, random_state=seed).fit(both[train], y[train])
    out["image+audio (early-fusion MLP)"] = float(mlp.score(both[test], y[test]))
    return out


def evaluate(encoder, n: int = 2000, seed: int = 777, progress=None) -> dict:
    """All quality numbers on ``n`` held-out scenes drawn with ``seed``."""
    scenes = make_scenes(n, seed=seed)
    vectors = embed_world(encoder, scenes, seed)
    if progress:
        progress("retrieval")
    result = {"held_out_seed": seed, "held_out_scenes": n,
              "retrieval_r1": retrieval_at_1(scenes, vectors),
              "xor_accuracy": xor_probes(scenes, vectors, seed)}
    if progress:
        progress("pointing")
    result["pointing"] = pointing(encoder, scenes, seed)
    return result

