"""The pointing game: the built-in model (attention trained with boxes) vs a training-free method on a
CLIP checkpoint, on the same demo scenes, each row with its 95 % Wilson interval and the chance level.

Cases: the demo world's held-out scenes (by default the 2,000 of seed 777 behind the README's
numbers); each two-object image with one caption per object naming that object only; a hit is a
map whose maximum falls inside the named object's box. Chance: the mean share of the image the
named object's box covers (a point drawn uniformly over the image). Rows:

- built-in model: cross-attention and patch-similarity (its attention was trained with box
  supervision, see mmstudio/demo/train.py);
- the CLIP: patch-similarity, patch-similarity minus the empty prompt, relevance (Chefer et al.),
  all training-free. Without ``--model`` the CLIP is built here, offline, with RANDOM weights in
  the shape of openai/clip-vit-base-patch32 (224 px, 32 px patches: a 7×7 map, width 768, 12
  layers, 12 heads, 512-d); give ``--model`` a hub id or a checkpoint folder to measure real weights.

    python benchmarks/pointing.py [--scenes 2000] [--seed 777] [--model openai/clip-vit-base-patch32]

The same numbers for one model: ``mmstudio attend --pointing --model M``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

RANDOM_B32 = dict(image_size=224, patch_size=32, hidden=768, layers=12, heads=12, proj_dim=512)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", type=int, default=2000, help="held-out scenes to draw (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=777, help="their seed (default: %(default)s)")
    parser.add_argument("--model", help="a CLIP/SigLIP hub id or folder (default: a random ViT-B/32-shaped CLIP)")
    parser.add_argument("--shape", choices=("b32", "tiny"), default="b32",
                        help="shape of the random CLIP: b32 (ViT-B/32) or tiny (32 px, 8 px patches, width 32)")
    parser.add_argument("--work", default=str(ROOT / "benchmarks" / "_work"))
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

    import torch

    from mmstudio.analysis.attention.pointing import pointing_game
    from mmstudio.demo.pointing import pointing_cases
    from mmstudio.encoders.registry import load_encoder

    if args.model:
        clip_name, described, short = args.model, f"{args.model} (its own weights)", args.model
    else:
        import tiny_models

        shape = RANDOM_B32 if args.shape == "b32" else {}
        folder = tiny_models.build_tiny_clip(Path(args.work) / f"pointing-clip-{args.shape}", **shape)
        clip_name = str(folder)
        described = ("random-weight CLIP, ViT-B/32 shape (224 px, 32 px patches, width 768, 12 layers)"
                     if args.shape == "b32" else "random-weight tiny CLIP (32 px, 8 px patches, width 32, 2 layers)")
        short = "random CLIP, ViT-B/32 shape" if args.shape == "b32" else "random tiny CLIP"
    cases = pointing_cases(args.scenes, args.seed)
    rows = []
    for name, label, runs in (("builtin", "built-in model (attention trained with boxes)",
                               (("cross-attention", False), ("patch-similarity", False))),
                              (clip_name, described,
                               (("patch-similarity", False), ("patch-similarity", True), ("relevance", False)))):
        row_name = "built-in (trained with boxes)" if name == "builtin" else short
        encoder = load_encoder(name, device="cpu")
        for method, subtract in runs:
            start = time.perf_counter()
            result = pointing_game(encoder, cases, method, subtract_empty=subtract)
            rows.append({**result.plain(), "model": row_name, "checkpoint": name,
                         "seconds": round(time.perf_counter() - start, 1)})
            print(f"{label}\n  " + "\n  ".join(result.lines()), flush=True)
    images = len({id(c.image) for c in cases})
    print(f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, CPU; "
          f"{len(cases)} captions over {images} two-object images (scenes {args.scenes}, seed {args.seed})")
    print("| model | method | pointing (95 % Wilson) | chance | peak on the other object | named share (95 %) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        low, high = r["wilson_95"]
        share = r["named_share"]
        shown = "—" if share is None else f"{share:.3f} ({r['named_share_wilson_95'][0]:.3f}–{r['named_share_wilson_95'][1]:.3f})"
        print(f"| {r['model']} | {r['method']} | {r['rate']:.3f} ({low:.3f}–{high:.3f}) | {r['chance']:.3f} | "
              f"{r['other_rate']:.3f} | {shown} |")
    print(json.dumps({"cases": len(cases), "images": images, "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
