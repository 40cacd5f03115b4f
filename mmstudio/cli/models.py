"""``mmstudio models [--json]``: the model families mmstudio embeds with, and the checkpoints of them
found in the local Hugging Face cache (:mod:`mmstudio.encoders.catalog`; nothing is downloaded)."""

from __future__ import annotations

import json
import sys


def add_arguments(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print the families and the cached checkpoints as JSON")


def run(args) -> int:
    from mmstudio.core.values import plain
    from mmstudio.encoders.catalog import BUILTIN, cached_models, hub_cache_dirs
    from mmstudio.encoders.hf.families import FAMILIES

    folders = hub_cache_dirs()
    models = cached_models(folders)
    if args.json:
        report = {"builtin": BUILTIN, "families": FAMILIES, "cache_folders": folders, "cached": models}
        json.dump(plain(report), sys.stdout, indent=1, ensure_ascii=False)
        print()
        return 0
    width = max(len(f.name) for f in (BUILTIN, *FAMILIES))
    print("families (give --model NAME to embed and the window's Model > Model…):")
    print(f"  {BUILTIN.name:<{width}}  {', '.join(BUILTIN.modalities):<17} {BUILTIN.dim}-d  "
          f"'{BUILTIN.load_name}': the demo world's own model, offline")
    for fam in FAMILIES:
        print(f"  {fam.name:<{width}}  {', '.join(fam.modalities):<17} e.g. {fam.examples[0]}")
    if not folders:
        print("no Hugging Face cache found (HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub)")
        return 0
    print(f"in the Hugging Face cache ({', '.join(str(f) for f in folders)}):")
    if not models:
        print("  no model checkpoints")
    width = max((len(m.name) for m in models if m.supported), default=0)
    family_width = max((len(m.family) for m in models if m.supported), default=0)
    for m in models:
        if m.supported:
            print(f"  {m.name:<{width}}  {m.family:<{family_width}}  {', '.join(m.modalities):<12} {m.dim}-d")
        else:
            print(f"  {m.hub_id}  cannot be used: {m.reason}")
    return 0
