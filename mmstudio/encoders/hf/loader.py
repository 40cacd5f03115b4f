"""Finding and loading Hugging Face checkpoints: a hub id or a local folder, safetensors only.

A name that is an existing folder is used as is. Anything else is a hub id: the local
Hugging Face cache is tried first, then the hub. When neither has it, the error says how
to get a copy. ``trust_remote_code`` stays off and weights load from safetensors only.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from mmstudio.encoders.base import ModelError

FILES_WANTED = ["*.json", "*.safetensors", "*.txt", "*.model", "*.tiktoken", "merges.txt", "vocab.*"]
HUB_ID = re.compile(r"^[\w.-]+(/[\w.-]+)?$")


@dataclass(frozen=True)
class ModelSource:
    name: str        # what the user gave
    folder: Path     # a local folder holding config.json and the weights
    config: dict     # config.json


def resolve_source(name: str) -> ModelSource:
    """A hub id or a folder → a local folder with config.json, or a :class:`ModelError`."""
    folder = Path(name).expanduser()
    if folder.is_dir():
        return _from_folder(name, folder)
    if folder.exists():
        raise ModelError(f"model '{name}' is a file; give the folder that holds config.json and the weights")
    if name.startswith((".", "/", "~")) or name.count("/") > 1 or os.sep != "/" and os.sep in name:
        raise ModelError(f"model folder '{name}' does not exist")
    if not HUB_ID.match(name):
        raise ModelError(f"model '{name}': not a folder, and not a Hugging Face hub id like "
                         "'openai/clip-vit-base-patch32'")
    return _from_folder(name, _download(name))


def _from_folder(name: str, folder: Path) -> ModelSource:
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise ModelError(f"model folder {folder} has no config.json: it is not a Hugging Face model folder "
                         "(save one with model.save_pretrained(folder) and processor.save_pretrained(folder))")
    config = _read_config(config_file)
    if not isinstance(config, dict):
        raise ModelError(f"{config_file}: not a model config (a JSON object expected, found {type(config).__name__})")
    if not isinstance(config.get("model_type", ""), str):
        raise ModelError(f"{config_file}: model_type must be a string, not {json.dumps(config['model_type'])[:60]}")
    weights = sorted(folder.glob("*.safetensors"))
    if not weights:
        raise ModelError(f"model folder {folder} has no .safetensors weights; mmstudio loads safetensors only "
                         "(convert with model.save_pretrained(folder, safe_serialization=True))")
    for name_ in CONFIG_FILES:
        file = folder / name_
        if file.is_file():
            data = config if name_ == "config.json" else _read_config(file)
            if isinstance(data, dict) and "auto_map" in data:
                raise ModelError(f"{file} asks for custom code (auto_map); mmstudio never runs code that comes "
                                 "with a model (trust_remote_code stays off)")
    for file in weights:
        check_safetensors(file)
    return ModelSource(name, folder, config)


# the JSON files transformers reads while loading a model, tokenizer or processor
CONFIG_FILES = ("config.json", "preprocessor_config.json", "processor_config.json", "tokenizer_config.json",
                "feature_extractor_config.json", "image_processor_config.json")


def _read_config(file: Path):
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{file}: unreadable config ({exc})") from exc


def check_safetensors(file: Path) -> None:
    """Refuse a truncated or damaged ``.safetensors`` file from its header, before loading it: the
    8-byte header length, the JSON header, and the tensors' byte ranges against the file's size."""
    try:
        size = file.stat().st_size
        with open(file, "rb") as fh:
            head = fh.read(8)
            length = int.from_bytes(head, "little") if len(head) == 8 else -1
            if not 2 <= length <= min(size - 8, 100 << 20):
                raise ValueError("no valid safetensors header")
            header = json.loads(fh.read(length).decode("utf-8"))
    except OSError as exc:
        raise ModelError(f"{file}: cannot read the weights ({exc.strerror or exc})") from exc
    except ValueError as exc:  # includes bad UTF-8 and bad JSON
        raise ModelError(f"{file}: damaged weights file ({exc})") from exc
    if not isinstance(header, dict):
        raise ModelError(f"{file}: damaged weights file (the header is not a JSON object)")
    end = 0
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(v, int) for v in offsets)):
            raise ModelError(f"{file}: damaged weights file (tensor {key!r} has no valid data_offsets)")
        end = max(end, offsets[1])
    if 8 + length + end != size:
        state = "truncated" if 8 + length + end > size else "longer than its header says"
        raise ModelError(f"{file}: damaged weights file ({state}: the header describes {8 + length + end:,} "
                         f"bytes, the file has {size:,})")


def _download(repo_id: str) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    try:
        return Path(snapshot_download(repo_id, allow_patterns=FILES_WANTED, local_files_only=True))
    except Exception:  # not in the local Hugging Face cache: ask the hub
        pass
    try:
        return Path(snapshot_download(repo_id, allow_patterns=FILES_WANTED))
    except GatedRepoError as exc:
        raise ModelError(f"model '{repo_id}' is gated on the Hugging Face hub: accept its licence on "
                         f"huggingface.co/{repo_id} and log in with `hf auth login`, then try again") from exc
    except RepositoryNotFoundError as exc:
        raise ModelError(f"model '{repo_id}' was not found on the Hugging Face hub (check the spelling, "
                         "or give a local folder)") from exc
    except Exception as exc:
        raise ModelError(
            f"model '{repo_id}' is not in the local Hugging Face cache and could not be downloaded "
            f"({_short(exc)})",
            cli_fix=f"On a machine with internet, run `hf download {repo_id} --local-dir "
            f"{repo_id.split('/')[-1]}` (or model.save_pretrained(folder) and processor.save_pretrained(folder)), "
            "copy the folder here and pass it: mmstudio embed ... --model ./FOLDER") from exc


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    if "Name or service not known" in text or "ConnectError" in text or "offline" in text.lower():
        return "no connection to huggingface.co"
    return text[:160]


def folder_digest(folder: Path, digest_file) -> str:
    """A digest of the files that decide what the model computes: configs, vocabularies, weights."""
    h = hashlib.blake2b(digest_size=12)
    for path in sorted(folder.iterdir()):
        if path.is_file() and (path.suffix in (".json", ".safetensors", ".txt", ".model")):
            h.update(path.name.encode())
            h.update(digest_file(path).encode())
    return h.hexdigest()


def transformers_major() -> int:
    import transformers

    return int(transformers.__version__.split(".")[0])


def load_image_processor(folder: Path):
    """The image processor on its PIL backend (deterministic, no torchvision needed)."""
    from transformers import AutoImageProcessor

    kwargs = {"backend": "pil"} if transformers_major() >= 5 else {"use_fast": False}
    return AutoImageProcessor.from_pretrained(folder, local_files_only=True, **kwargs)


def load_tokenizer(folder: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder, local_files_only=True)


def load_model(cls, folder: Path, **kwargs):
    """``cls.from_pretrained`` from the local folder, safetensors only, no remote code, no progress bar."""
    from transformers.utils import logging as hf_logging

    bar = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        model = cls.from_pretrained(folder, local_files_only=True, use_safetensors=True,
                                    trust_remote_code=False, **kwargs)
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise ModelError(f"cannot load {cls.__name__} from {folder}: {_short(exc)}") from exc
    finally:
        if bar:
            hf_logging.enable_progress_bar()
    return model.eval()
