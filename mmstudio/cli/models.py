"""``mmstudio models [--json]``: the model families mmstudio embeds with, and the checkpoints of them
found in the local Hugging Face cache (:mod:`mmstudio.encoders.catalog`; nothing is downloaded)."""

from __future__ import annotations

import json
import sys


def add_arguments(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print the families and the cached checkpoints as JSON")


def run(args) -> int:
    from mmstudio.core.values import plain
    from mmstudio.encoders.catalog import BUILTIN, FAMILIES, cached_models, hub_cache_dirs

    folders = hub_cache_dirs()
    models = cached_models(folders)
    if args.json:
        report = {"families": [BUILTIN, *FAMILIES], "cache_folders": folders, "cached": models}
        json.dump(plain(report), sys.stdout, indent=1, ensure_ascii=False)
        print()
        return 0
    print("families (give --model NAME to embed and the window's Model > Model…):")
    print(f"  {'built-in':<10} {', '.join(BUILTIN.modalities):<20} {BUILTIN.dim_default}-d  'builtin': the demo "
          "world's own model, offline")
    for fam in FAMILIES:
        print(f"  {fam.name:<10} {', '.join(fam.modalities):<20} e.g. {fam.example}")
    if not folders:
        print("no Hugging Face cache found (HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub)")
        return 0
    print(f"in the Hugging Face cache ({', '.join(str(f) for f in folders)}):")
    if not models:
        print("  no model checkpoints")
    width = max((len(m.name) for m in models if m.supported), default=0)
    for m in models:
        if m.supported:
            print(f"  {m.name:<{width}}  {m.family:<9} {', '.join(m.modalities):<12} {m.dim}-d")
        else:
            print(f"  {m.hub_id}  cannot be used: {m.reason}")
    return 0
