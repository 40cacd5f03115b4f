"""``mmstudio attend MEDIA --text "…" --out MAP.png``: where a text looks in an image or a sound.

``mmstudio attend --pointing [--model M] [--method X]``: the pointing game of a model's maps on the
demo world's held-out two-object scenes (:mod:`mmstudio.demo.pointing`), with its 95 % interval and
the chance level.
"""

from __future__ import annotations

import argparse
import sys

from mmstudio.analysis.attention.contrast import DEFAULT as DEFAULT_SCALE
from mmstudio.analysis.attention.contrast import SCALES
from mmstudio.cli.argtypes import count, non_empty_text, positive_int, seed, unit_interval
from mmstudio.cli.outputs import output_problem
from mmstudio.encoders.registry import DEFAULT_MODEL

SOUND_SECONDS = 600.0  # the picture of a sound shows at most this much of it
PICTURE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}


POINTING_ONLY = ("scenes", "seed", "json")
MAP_ONLY = ("media", "text", "out", "word", "layer", "head")


def add_arguments(parser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = """\
--pointing plays the pointing game instead of drawing a map, on the demo world's
held-out scenes (the first --scenes drawn with --seed; by default the 2,000 scenes
of seed 777 behind the built-in model's README numbers): each two-object image is
paired with one caption per object naming that object only, and a hit is a map
whose maximum falls inside the named object's box. It prints the hit rate with its
95 % Wilson interval, the chance level (the mean share of the image the named
object's box covers) and how often the peak lands on the other object instead,
for --method or every image method the model offers. For example:
  mmstudio attend --pointing --model openai/clip-vit-base-patch32
  mmstudio attend --pointing --model ./my-clip-folder --method relevance --json"""
    parser.add_argument("media", metavar="IMAGE_OR_AUDIO", nargs="?", help="the picture or sound (not with --pointing)")
    parser.add_argument("--text", type=non_empty_text, help="the caption or query")
    parser.add_argument("--out", metavar="MAP.png", help="the picture to write (.png, .jpg or .webp)")
    parser.add_argument("--pointing", action="store_true",
                        help="score the model's maps with the pointing game on the demo world (see below)")
    parser.add_argument("--scenes", type=positive_int, default=None,
                        help="--pointing: how many held-out scenes to draw (about half have two objects; default 2000)")
    parser.add_argument("--seed", type=seed, default=None, help="--pointing: the scenes' seed (default 777)")
    parser.add_argument("--json", action="store_true", help="--pointing: print the results as JSON")
    parser.add_argument("--model", default=DEFAULT_MODEL, type=non_empty_text)
    parser.add_argument("--method", choices=("cross-attention", "patch-similarity", "relevance"),
                        help="default: the model's first (cross-attention where it has it); with --pointing, every "
                             "image method the model offers")
    parser.add_argument("--word", type=non_empty_text, help="the map of one word of the text instead of the whole text")
    parser.add_argument("--layer", type=count, action="append", help="cross-attention layer(s) to use (default: all)")
    parser.add_argument("--head", type=count, action="append", help="cross-attention head(s) to use (default: all)")
    parser.add_argument("--subtract-empty", action="store_true", help="patch-similarity minus the empty prompt's map")
    parser.add_argument("--colormap", default="inferno", choices=("inferno", "viridis", "turbo", "gray"))
    parser.add_argument("--contrast", default=DEFAULT_SCALE, choices=SCALES,
                        help="how values become colours: log (decades below the peak; percentile for maps with "
                             "values ≤ 0), percentile (2nd to 98th) or min-max (default: %(default)s)")
    parser.add_argument("--opacity", type=unit_interval, default=0.6,
                        help="of the heatmap over the image, 0 to 1 (default: %(default)s)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))


def _given(args, names) -> list[str]:
    flags = []
    for name in names:
        value = getattr(args, name)
        if value not in (None, False, []):
            flags.append("IMAGE_OR_AUDIO" if name == "media" else f"--{name}")
    return flags


def run(args) -> int:
    if args.pointing:
        stray = _given(args, MAP_ONLY)
        if stray:
            print(f"mmstudio attend: --pointing scores the demo world's scenes, it draws no map: leave out "
                  f"{', '.join(stray)}", file=sys.stderr)
            return 2
        return _pointing(args)
    stray = _given(args, POINTING_ONLY)
    if stray:
        print(f"mmstudio attend: {', '.join(stray)}: only with --pointing", file=sys.stderr)
        return 2
    missing = [name for name, value in (("IMAGE_OR_AUDIO", args.media), ("--text", args.text), ("--out", args.out))
               if value is None]
    if missing:
        print(f"mmstudio attend: give {', '.join(missing)} to draw a map (or --pointing to play the pointing game)",
              file=sys.stderr)
        return 2
    return _draw(args)


def _pointing(args) -> int:
    import json

    from mmstudio.analysis.attention.pointing import pointing_game
    from mmstudio.core.jobs import TqdmJob
    from mmstudio.core.values import plain
    from mmstudio.demo.pointing import HELD_OUT_SCENES, HELD_OUT_SEED, pointing_cases
    from mmstudio.encoders.base import ModelError
    from mmstudio.encoders.registry import load_encoder

    scenes = args.scenes or HELD_OUT_SCENES
    seed_ = HELD_OUT_SEED if args.seed is None else args.seed
    try:
        encoder = load_encoder(args.model, device=args.device)
        offered = tuple(encoder.attention_methods.get("image", ()))
        if not offered:
            raise ModelError(f"{encoder.name} offers no attention maps over images")
        if args.method and args.method not in offered:
            raise ModelError(f"{encoder.name} offers {', '.join(offered)} over images, not {args.method}")
        if args.subtract_empty and (args.method or "patch-similarity") != "patch-similarity":
            raise ValueError(f"--subtract-empty applies to patch-similarity, not {args.method}")
        if args.subtract_empty and "patch-similarity" not in offered:
            raise ModelError(f"--subtract-empty: {encoder.name} offers no patch-similarity maps")
        runs = [(args.method, args.subtract_empty)] if args.method else [(m, False) for m in offered]
        if args.subtract_empty and not args.method:
            runs.append(("patch-similarity", True))
        cases = pointing_cases(scenes, seed_)
        results = []
        for method, subtract in runs:
            job = TqdmJob(f"pointing, {method}{' minus empty' if subtract else ''}")
            try:
                results.append(pointing_game(encoder, cases, method, subtract_empty=subtract, job=job))
            finally:
                job.close()
    except (ModelError, ValueError) as exc:
        print(f"mmstudio attend: {exc}", file=sys.stderr)
        return 2
    images = len({id(case.image) for case in cases})
    where = (f"the demo world's first {scenes} scenes drawn with seed {seed_}: {len(cases)} captions, each naming one "
             f"object of one of {images} two-object images")
    if args.json:
        json.dump(plain({"model": encoder.name, "scenes": scenes, "seed": seed_, "cases": len(cases), "images": images,
                         "results": [r.plain() for r in results]}), sys.stdout, indent=1, ensure_ascii=False)
        print()
        return 0
    print(f"pointing game of {encoder.name} on {where}")
    for result in results:
        print("\n".join(result.lines()))
    return 0


def _draw(args) -> int:
    from mmstudio.analysis.attention.heatmaps import AttentionSession
    from mmstudio.core.dataset import MediaRef
    from mmstudio.core.errors import MediaError
    from mmstudio.core.media.decode import decode
    from mmstudio.core.media.formats import modality_of
    from mmstudio.encoders.base import ModelError
    from mmstudio.encoders.registry import load_encoder
    from mmstudio.export.overlay import audio_overlay, image_overlay

    modality = modality_of(args.media)
    if modality not in ("image", "audio"):
        print(f"mmstudio attend: {args.media}: give an image or an audio file", file=sys.stderr)
        return 2
    problem = output_problem(args.out, tuple(PICTURE_FORMATS))
    if problem:
        print(f"mmstudio attend: --out {problem}", file=sys.stderr)
        return 2
    try:
        encoder = load_encoder(args.model, device=args.device)
        media = decode(MediaRef(modality, path=args.media), audio_rate=encoder.audio_rate,
                       max_audio_seconds=encoder.max_audio_seconds)
        session = AttentionSession(encoder)
        result = session.map(media, args.text, modality=modality, method=args.method, layers=args.layer,
                             heads=args.head, subtract_empty=args.subtract_empty)
        grid = result.word_map(args.word) if args.word else result.grid
    except (ModelError, MediaError, ValueError) as exc:
        print(f"mmstudio attend: {exc}", file=sys.stderr)
        return 2
    except IndexError as exc:  # a --layer or --head beyond the model's
        print(f"mmstudio attend: --layer/--head beyond {encoder.name}'s layers or heads ({exc})", file=sys.stderr)
        return 2
    import numpy as np

    if not np.isfinite(np.asarray(grid, np.float64)).all():
        print(f"mmstudio attend: {args.media}: the {result.method} map is not finite (NaN or infinity): the "
              f"model's numbers overflowed on this {modality}; nothing written", file=sys.stderr)
        return 2
    from mmstudio.analysis.attention.contrast import fit_scale
    from mmstudio.analysis.attention.heatmaps import upsample

    scale = fit_scale(grid, args.contrast)
    if modality == "image":
        picture = image_overlay(media, upsample(scale.unit(grid), media.size), colormap=args.colormap,
                                opacity=args.opacity)
    else:  # the whole sound is drawn, the part the model heard marked
        try:
            whole = decode(MediaRef(modality, path=args.media), audio_rate=encoder.audio_rate,
                           max_audio_seconds=SOUND_SECONDS)
        except MediaError as exc:
            print(f"mmstudio attend: {exc}", file=sys.stderr)
            return 2
        picture = audio_overlay(whole, encoder.audio_rate, scale.unit(grid), result.times,
                                window=(0.0, len(media) / encoder.audio_rate), colormap=args.colormap)
    from pathlib import Path

    from mmstudio.core.atomic import atomic_write

    try:
        atomic_write(args.out, lambda tmp: picture.save(tmp, format=PICTURE_FORMATS[Path(args.out).suffix.lower()]))
    except OSError as exc:
        print(f"mmstudio attend: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    shown = f"'{args.word}' in " if args.word else ""
    print(f"{result.method} map of {shown}\"{args.text}\" over {args.media} ({encoder.name}, {scale.describe()}) "
          f"→ {args.out}", file=sys.stderr)
    return 0
