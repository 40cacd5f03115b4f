"""The models mmstudio can use: the supported families, and the checkpoints of them already in the
local Hugging Face cache (what ``mmstudio models`` prints and the model dialog lists).

The cache is scanned as huggingface_hub lays it out, ``models--ORG--NAME/snapshots/REVISION/``,
in ``HF_HUB_CACHE`` (or ``HUGGINGFACE_HUB_CACHE``), ``HF_HOME/hub``, ``XDG_CACHE_HOME/huggingface/hub``
and ``~/.cache/huggingface/hub``. Only ``config.json`` is read (as JSON: no transformers, no
network): ``model_type`` and ``architectures`` say the family, its keys the embedding size.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from mmstudio.encoders.registry import BACKENDS


@dataclass(frozen=True)
class Family:
    model_type: str              # config.json's model_type ("builtin" for the demo model)
    name: str
    modalities: tuple[str, ...]
    dim_key: tuple[str, ...]     # where config.json holds the size of the shared space
    dim_default: int             # transformers' default when config.json leaves the key out
    example: str                 # a checkpoint of the family on the hub


FAMILIES = (
    Family("clip", "CLIP", ("image", "text"), ("projection_dim",), 512, "openai/clip-vit-base-patch32"),
    Family("siglip", "SigLIP", ("image", "text"), ("vision_config", "hidden_size"), 768,
           "google/siglip-base-patch16-224"),
    Family("clap", "CLAP", ("audio", "text"), ("projection_dim",), 512, "laion/clap-htsat-unfused"),
    Family("blip", "BLIP ITM", ("image", "text"), ("image_text_hidden_size",), 256, "Salesforce/blip-itm-base-coco"),
)
BUILTIN = Family("builtin", "built-in", ("image", "audio", "text"), ("dim",), 128, "builtin")
BLIP_ITM = "BlipForImageTextRetrieval"   # the only BLIP head mmstudio embeds with


def family(model_type: str) -> Family | None:
    return next((f for f in FAMILIES if f.model_type == model_type and model_type in BACKENDS), None)


@dataclass(frozen=True)
class CachedModel:
    """One checkpoint of the local Hugging Face cache."""

    hub_id: str                    # "openai/clip-vit-base-patch32"
    folder: Path                   # its snapshot: config.json and the weights
    name: str                      # what to load it by: the hub id, or the folder when outside the default cache
    model_type: str
    architectures: tuple[str, ...]
    family: str | None             # "CLIP"…; None when mmstudio cannot use it
    modalities: tuple[str, ...]
    dim: int | None                # the shared space's size, from config.json
    reason: str | None = None      # why it cannot be used (None: it can)

    @property
    def supported(self) -> bool:
        return self.reason is None


def default_hub_cache() -> Path:
    """The cache a hub id is loaded from (huggingface_hub's ``HF_HUB_CACHE``: the variable of that name,
    else ``HF_HOME/hub``, else ``XDG_CACHE_HOME/huggingface/hub``, else ``~/.cache/huggingface/hub``)."""
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE).expanduser()


def hub_cache_dirs(env=None) -> list[Path]:
    """The Hugging Face cache folders that exist: :func:`default_hub_cache`, and those the environment
    names now (``HF_HUB_CACHE``, ``HF_HOME/hub``…) or the default place holds."""
    env = os.environ if env is None else env
    home = Path(env.get("HOME") or Path.home())
    hf_home = Path(env.get("HF_HOME") or Path(env.get("XDG_CACHE_HOME") or home / ".cache") / "huggingface")
    named = env.get("HF_HUB_CACHE") or env.get("HUGGINGFACE_HUB_CACHE") or hf_home / "hub"
    found, seen = [], set()
    for folder in (default_hub_cache(), *(Path(p).expanduser() for p in (named, hf_home / "hub",
                                                                       home / ".cache" / "huggingface" / "hub"))):
        real = os.path.realpath(folder)
        if real not in seen and folder.is_dir():
            seen.add(real)
            found.append(folder)
    return found


def cached_models(folders=None) -> list[CachedModel]:
    """Every model checkpoint in the cache folders (default: :func:`hub_cache_dirs`), those mmstudio can
    use first, by hub id; one per repository (the revision ``refs/main`` names, else the newest snapshot).
    Those in :func:`default_hub_cache` are loaded by hub id, the others by their snapshot folder."""
    folders = hub_cache_dirs() if folders is None else [Path(f) for f in folders]
    default = os.path.realpath(default_hub_cache())
    found: dict[str, CachedModel] = {}
    for cache in folders:
        try:
            repos = sorted(p for p in cache.iterdir() if p.name.startswith("models--") and p.is_dir())
        except OSError:
            continue
        for repo in repos:
            snapshot = _snapshot(repo)
            if snapshot is None:
                continue
            hub_id = "/".join(repo.name.split("--", 2)[1:])
            in_default = os.path.realpath(cache) == default
            model = describe(snapshot, hub_id, hub_id if in_default else str(snapshot))
            found.setdefault(hub_id, model)
    return sorted(found.values(), key=lambda m: (not m.supported, m.hub_id.lower()))


def _snapshot(repo: Path) -> Path | None:
    snapshots = repo / "snapshots"
    try:
        main = (repo / "refs" / "main").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        main = ""
    if main and (snapshots / main / "config.json").is_file():
        return snapshots / main
    try:
        candidates = [p for p in snapshots.iterdir() if (p / "config.json").is_file()]
    except OSError:
        return None
    return max(candidates, key=lambda p: p.stat().st_mtime, default=None)


def describe(folder: Path, hub_id: str, name: str) -> CachedModel:
    """What ``folder`` (a snapshot) holds: its family, modalities and dimension, or why it cannot be used."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return CachedModel(hub_id, folder, name, "", (), None, (), None, f"unreadable config.json ({exc})")
    if not isinstance(config, dict):
        return CachedModel(hub_id, folder, name, "", (), None, (), None, "config.json is not a JSON object")
    model_type = config.get("model_type") if isinstance(config.get("model_type"), str) else ""
    architectures = tuple(a for a in config.get("architectures") or () if isinstance(a, str))
    fam = family(model_type)
    reason = _unusable(folder, model_type, architectures, fam)
    if fam is not None and fam.model_type == "blip" and BLIP_ITM not in architectures:
        fam = None   # another BLIP head: not the family mmstudio embeds with
    dim = _dim(config, fam) if fam is not None else None
    return CachedModel(hub_id, folder, name, model_type, architectures, fam.name if fam else None,
                       fam.modalities if fam else (), dim, reason)


def _unusable(folder: Path, model_type: str, architectures: tuple[str, ...], fam: Family | None) -> str | None:
    if fam is None:
        kinds = ", ".join(f.name for f in FAMILIES[:-1]) + f" or {FAMILIES[-1].name}"
        return f"'{model_type}' is not {kinds}" if model_type else "config.json has no model_type"
    if fam.model_type == "blip" and BLIP_ITM not in architectures:
        return f"{', '.join(architectures) or 'BLIP'}: not {BLIP_ITM}"
    if not any(folder.glob("*.safetensors")):
        return "no .safetensors weights (mmstudio loads safetensors only)"
    if not any((folder / f).is_file() for f in ("preprocessor_config.json", "processor_config.json")):
        return "no preprocessor_config.json (how inputs are prepared)"
    return None


def _dim(config: dict, fam: Family) -> int | None:
    value = config
    for key in fam.dim_key:
        value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            return fam.dim_default
    return value if isinstance(value, int) else None
