"""Attention maps: a new query on an already-encoded image vs recomputing the image each time.

Model: a ViT-B/32-shaped CLIP (224 px, 32 px patches, width 768, 12 layers, random weights,
built offline); image: a 640×480 photo-like JPEG; method: patch-similarity. The baseline is
the same map without the session's cache (the image re-encoded for every query). Also
reports the built-in model's cross-attention on a demo image.

    python benchmarks/attention.py [--queries 20]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))


def timed_queries(session, image, queries, method, fresh_session=None):
    times = []
    for q in queries:
        s = fresh_session() if fresh_session else session
        start = time.perf_counter()
        s.map(image, q, method=method)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--work", default=str(ROOT / "benchmarks" / "_work"))
    args = parser.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

    import numpy as np
    import tiny_models
    import torch
    from encode import photo_like

    from mmstudio.analysis.attention.heatmaps import AttentionSession
    from mmstudio.demo.render import render_image
    from mmstudio.demo.world import make_scenes
    from mmstudio.encoders.registry import load_encoder

    work = Path(args.work)
    folder = tiny_models.build_tiny_clip(work / "clip-b32-shaped", image_size=224, patch_size=32, hidden=768,
                                         layers=12, heads=12, proj_dim=512)
    clip = load_encoder(str(folder), device="cpu")
    image = photo_like(np.random.default_rng(3))
    words = "red green blue small large round square dog cat car tree sky".split()
    rng = np.random.default_rng(0)
    queries = [" ".join(rng.choice(words, 5)) for _ in range(args.queries)]

    session = AttentionSession(clip)
    session.map(image, "warm up", method="patch-similarity")
    cached = timed_queries(session, image, queries, "patch-similarity")
    uncached = timed_queries(None, image, queries, "patch-similarity", fresh_session=lambda: AttentionSession(clip))
    relevance = timed_queries(session, image, queries[:5], "relevance")

    builtin = load_encoder("builtin", device="cpu")
    demo = render_image(make_scenes(1, seed=1, objects="2")[0])
    bsession = AttentionSession(builtin)
    bsession.map(demo, "warm up")
    b_cached = timed_queries(bsession, demo, queries, "cross-attention")
    b_uncached = timed_queries(None, demo, queries, "cross-attention", fresh_session=lambda: AttentionSession(builtin))

    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, CPU",
        "clip_b32_new_query_ms": round(cached, 1), "clip_b32_reencode_ms": round(uncached, 1),
        "clip_speedup": round(uncached / cached, 1), "clip_relevance_ms": round(relevance, 1),
        "builtin_new_query_ms": round(b_cached, 1), "builtin_reencode_ms": round(b_uncached, 1),
    }
    print(f"{result['machine']}")
    print(f"ViT-B/32-shaped CLIP, 224 px, patch-similarity: new query on a cached image {cached:.1f} ms "
          f"(target ≤ 150 ms) vs {uncached:.1f} ms re-encoding the image → {uncached / cached:.1f}× faster")
    print(f"  relevance (needs a forward and backward pass through the image every query): {relevance:.1f} ms")
    print(f"built-in model, cross-attention: {b_cached:.1f} ms cached vs {b_uncached:.1f} ms re-encoding")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
