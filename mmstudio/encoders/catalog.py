"""The models mmstudio can use: the supported families, and the checkpoints of them already in the
local Hugging Face cache (what ``mmstudio models`` prints and the model dialog lists).

The cache is scanned as huggingface_hub lays it out, ``models--ORG--NAME/snapshots/REVISION/``,
in ``HF_HUB_CACHE`` (or ``HUGGINGFACE_HUB_CACHE``), ``HF_HOME/hub``, ``XDG_CACHE_HOME/huggingface/hub``
and ``~/.cache/huggingface/hub``. Only ``config.json`` is read (as JSON: no transformers, no
network): ``architectures`` and ``model_type`` say the family, in the one table of families
(:data:`mmstudio.encoders.hf.families.FAMILIES`), and the key it names there the embedding size.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from mmstudio.encoders.hf.families import FAMILIES, Family, family_for, other_head


@dataclass(frozen=True)
class Builtin:
    """The demo model's entry, listed beside the families (:data:`FAMILIES`) of Hugging Face checkpoints."""

    name: str = "built-in"
    load_name: str = "builtin"       # what --model and the dialog take
    modalities: tuple[str, ...] = ("image", "audio", "text")
    dim: int = 128                   # its shared space (mmstudio.encoders.builtin.model)


BUILTIN = Builtin()


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
    """What ``folder`` (a snapshot) holds: its family, modalities and dimension, or why it cannot be used.
    The family is found as the loader finds it (:func:`family_for`: architectures, then model_type); a
    checkpoint of a known model_type saved from another class is listed with the class it needs."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return CachedModel(hub_id, folder, name, "", (), None, (), None, f"unreadable config.json ({exc})")
    if not isinstance(config, dict):
        return CachedModel(hub_id, folder, name, "", (), None, (), None, "config.json is not a JSON object")
    model_type = config.get("model_type") if isinstance(config.get("model_type"), str) else ""
    architectures = tuple(a for a in config.get("architectures") or () if isinstance(a, str))
    fam = family_for(model_type, list(architectures))
    reason = _not_the_family(model_type, architectures, fam)
    if reason:
        fam = None   # not a checkpoint the family's backend loads: no family, no embedding size
    else:
        reason = _unusable(folder)
    dim = _dim(config, fam) if fam is not None else None
    return CachedModel(hub_id, folder, name, model_type, architectures, fam.name if fam else None,
                       fam.modalities if fam else (), dim, reason)


def _not_the_family(model_type: str, architectures: tuple[str, ...], fam: Family | None) -> str | None:
    """Why the loader would refuse the checkpoint by its config.json alone (as registry._family does)."""
    if not model_type:
        return "config.json has no model_type"
    if fam is None:
        kinds = ", ".join(f.name for f in FAMILIES[:-1]) + f" or {FAMILIES[-1].name}"
        return f"'{model_type}' is not {kinds}"
    if model_type not in fam.model_types:
        return f"model_type '{model_type}' does not match its architectures ({', '.join(architectures)})"
    return other_head(fam, architectures)


def _unusable(folder: Path) -> str | None:
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
