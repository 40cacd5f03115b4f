"""``mmstudio attend MEDIA --text "…" --out MAP.png``: where a text looks in an image or a sound."""

from __future__ import annotations

import sys

from mmstudio.analysis.attention.contrast import DEFAULT as DEFAULT_SCALE
from mmstudio.analysis.attention.contrast import SCALES
from mmstudio.cli.argtypes import count, non_empty_text, unit_interval
from mmstudio.cli.outputs import output_problem
from mmstudio.encoders.registry import DEFAULT_MODEL

SOUND_SECONDS = 600.0  # the picture of a sound shows at most this much of it
PICTURE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}


def add_arguments(parser) -> None:
    parser.add_argument("media", metavar="IMAGE_OR_AUDIO")
    parser.add_argument("--text", required=True, type=non_empty_text, help="the caption or query")
    parser.add_argument("--out", required=True, metavar="MAP.png", help="the picture to write (.png, .jpg or .webp)")
    parser.add_argument("--model", default=DEFAULT_MODEL, type=non_empty_text)
    parser.add_argument("--method", choices=("cross-attention", "patch-similarity", "relevance"),
                        help="default: the model's first (cross-attention where it has it)")
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


def run(args) -> int:
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
