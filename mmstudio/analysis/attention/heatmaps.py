"""Where a text looks: attention heatmaps over image patches and sound frames.

Three methods, as the model allows (``encoder.attention_methods``):

- ``cross-attention``: the attention of the text's tokens over the media tokens in a
  cross-attention head (built-in, BLIP ITM); layers and heads averaged or picked;
- ``patch-similarity``: cosine of each projected patch (or sound frame) token with the text
  embedding, training-free, for dual encoders (the CLIP family, SigLIP, SigLIP 2, ALIGN, CLAP,
  built-in); optionally minus the map of the empty prompt (CLIP Surgery's trick against
  background bias);
- ``relevance``: gradient-weighted attention rollout (Chefer et al. 2021) for ViTs with a CLS
  token (CLIP, MetaCLIP 2, AltCLIP, Chinese-CLIP).

An :class:`AttentionSession` caches each image's (or sound's) tokens, so a new query costs
only the text. Maps come back as plain arrays with their token words, per word and for the
whole query, plus an image-sized upsampling and scoring helpers (pointing game, energy).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from mmstudio.encoders.base import Encoder, ModelError

METHODS = ("cross-attention", "patch-similarity", "relevance")
SPECIAL = {"[CLS]", "[SEP]", "[PAD]", "<s>", "</s>", "<pad>", "<|startoftext|>", "<|endoftext|>"}


@dataclass
class AttentionMap:
    """A query's map over one image (``grid``: rows × cols) or sound (``grid``: frames)."""

    modality: str
    method: str
    query: str
    grid: np.ndarray                 # whole-query map: (rows, cols) for images, (frames,) for sound
    words: list[str] = field(default_factory=list)
    per_word: np.ndarray | None = None   # (words, rows, cols) or (words, frames); None where the method has none
    times: np.ndarray | None = None      # sound: each frame's centre, seconds
    n_layers: int = 0                    # cross-attention: the layers and heads there are to pick from
    n_heads: int = 0
    layers: list[int] | None = None      # cross-attention: the layers and heads averaged (None: all)
    heads: list[int] | None = None

    def word_map(self, word: str | int) -> np.ndarray:
        """The map of one word (by position, or the first token that reads ``word``)."""
        if self.per_word is None:
            raise ValueError(f"{self.method} gives no per-word maps")
        index = word if isinstance(word, int) else next(
            (i for i, w in enumerate(self.words) if clean_token(w) == word.lower()), None)
        if index is None:
            raise ValueError(f"{word!r} is not a token of {self.query!r} (tokens: {self.words})")
        return self.per_word[index]

    def caption(self, word: int | None = None) -> str:
        """What the map shows, in words: the word (by position; None: the whole text), the method, and for
        cross-attention the layers and heads it averages or picks."""
        shown = f"“{clean_token(self.words[word])}”" if word is not None else "whole text"
        method = self.method
        if self.n_layers:
            layers, heads = _picked(self.layers, self.n_layers), _picked(self.heads, self.n_heads)
            if layers is None and heads is None:
                method += f", mean of {self.n_layers} layers × {self.n_heads} heads"
            else:
                method += (", " + (f"layer {layers}" if layers is not None else f"mean of {self.n_layers} layers")
                           + ", " + (f"head {heads}" if heads is not None else f"mean of {self.n_heads} heads"))
        return f"{shown} · {method}"

    def upsampled(self, size: tuple[int, int], which: np.ndarray | None = None) -> np.ndarray:
        """The map (or ``which``) bilinearly resized to an image of ``size`` = (width, height)."""
        return upsample(self.grid if which is None else which, size)


def _picked(chosen: list[int] | None, count: int) -> str | None:
    """``"0 of 2"``, ``"0, 1 of 4"``, or None when all are averaged."""
    if chosen is None or sorted(chosen) == list(range(count)):
        return None
    return f"{', '.join(str(i) for i in chosen)} of {count}"


def clean_token(token: str) -> str:
    """A token as a reader would write it: BPE and WordPiece marks dropped, lower case."""
    return token.replace("</w>", "").replace("Ġ", "").replace("▁", "").lstrip("#").split(" [UNK]")[0].lower()


def methods_for(encoder: Encoder, modality: str) -> tuple[str, ...]:
    return tuple(encoder.attention_methods.get(modality, ()))


def _digest(item) -> str:
    if isinstance(item, np.ndarray):
        return hashlib.blake2b(item.tobytes() + str(item.shape).encode(), digest_size=16).hexdigest()
    if hasattr(item, "tobytes"):  # a PIL image
        return hashlib.blake2b(item.tobytes() + str(item.size).encode(), digest_size=16).hexdigest()
    return str(item)


class AttentionSession:
    """Attention maps for one encoder, with the media side of every map cached (LRU)."""

    def __init__(self, encoder: Encoder, cache_size: int = 64):
        self.encoder = encoder
        self._cache: OrderedDict[tuple, object] = OrderedDict()
        self.cache_size = cache_size
        self.media_encodings = 0  # how many times media was run through the model (for tests)

    def _cached(self, kind: str, modality: str, media, compute):
        key = (kind, modality, _digest(media))
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        value = compute()
        self.media_encodings += 1
        self._cache[key] = value
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return value

    def map(self, media, query: str, *, modality: str = "image", method: str | None = None,
            layers: list[int] | None = None, heads: list[int] | None = None,
            subtract_empty: bool = False, relevance_layers: int = 2) -> AttentionMap:
        """The map of ``query`` over ``media`` (a PIL image / uint8 array, or audio samples at the
        encoder's rate). ``method`` defaults to the model's first; ``layers``/``heads`` pick
        cross-attention layers and heads (default: all, averaged)."""
        available = methods_for(self.encoder, modality)
        if not available:
            raise ModelError(f"{self.encoder.name} offers no attention maps for {modality}")
        method = method or available[0]
        if method not in available:
            raise ModelError(f"{self.encoder.name} offers {', '.join(available)} for {modality}, not {method}")
        if method == "cross-attention":
            return self._cross(media, query, modality, layers, heads)
        if method == "patch-similarity":
            return self._similarity(media, query, modality, subtract_empty)
        grid = self.encoder.relevance_map(media, query, layers=relevance_layers)
        return AttentionMap(modality, method, query, grid.astype(np.float32))

    def _cross(self, media, query, modality, layers, heads) -> AttentionMap:
        states = self._cached("states", modality, media, lambda: self.encoder.media_states(modality, [media])[0])
        (weights,), (words,) = self.encoder.cross_attention_maps(modality, [states], [query])
        n_layers, n_heads = weights.shape[:2]
        weights = weights if layers is None else weights[list(layers)]
        weights = weights if heads is None else weights[:, list(heads)]
        per_token = weights.mean(axis=(0, 1))                      # (T, N)
        content = [i for i, w in enumerate(words) if w not in SPECIAL] or list(range(len(words)))
        whole = per_token[content].mean(axis=0)                    # the words, not [CLS]/[SEP]
        result = self._shape(modality, "cross-attention", query, whole, list(words), per_token)
        result.n_layers, result.n_heads = int(n_layers), int(n_heads)
        result.layers = None if layers is None else [int(i) % int(n_layers) for i in layers]
        result.heads = None if heads is None else [int(i) % int(n_heads) for i in heads]
        return result

    def _similarity(self, media, query, modality, subtract_empty) -> AttentionMap:
        tokens = self._cached("tokens", modality, media, lambda: self.encoder.embed(modality, [media], tokens=True).tokens[0])
        patches = tokens.vectors / np.maximum(np.linalg.norm(tokens.vectors, axis=1, keepdims=True), 1e-12)
        text = self.encoder.embed("text", [query], tokens=True)
        whole = patches @ text.vectors[0]
        word_vectors = text.tokens[0].vectors
        word_vectors = word_vectors / np.maximum(np.linalg.norm(word_vectors, axis=1, keepdims=True), 1e-12)
        per_word = word_vectors @ patches.T                          # (T, N)
        if subtract_empty:
            empty = self.encoder.embed("text", [""]).vectors[0]
            whole = whole - patches @ empty
        words = list(text.tokens[0].tokens or [])
        return self._shape(modality, "patch-similarity", query, whole, words, per_word, tokens.times, tokens.grid)

    def _shape(self, modality, method, query, whole, words, per_token, times=None, grid=None) -> AttentionMap:
        if modality == "image":
            # the encoder's grid (SigLIP 2 keeps each image's aspect ratio), else a square one
            rows, cols = grid if grid is not None else (int(round(whole.shape[-1] ** 0.5)),) * 2
            whole = whole.reshape(rows, cols)
            per_token = per_token.reshape(len(per_token), rows, cols)
            times = None
        elif times is None:
            step = getattr(getattr(self.encoder, "cfg", None), "audio_seconds", 1.0) / max(1, whole.shape[-1])
            times = (np.arange(whole.shape[-1]) + 0.5) * step
        return AttentionMap(modality, method, query, whole.astype(np.float32), words,
                            per_token.astype(np.float32), times)


# ---------------------------------------------------------------------------- geometry and scores
def upsample(grid: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A (rows, cols) map bilinearly resized to (height, width) = size[::-1], as float32."""
    import torch

    width, height = size
    tensor = torch.from_numpy(np.ascontiguousarray(grid, np.float32))[None, None]
    return torch.nn.functional.interpolate(tensor, size=(height, width), mode="bilinear",
                                           align_corners=False)[0, 0].numpy()


def peak(up: np.ndarray) -> tuple[int, int]:
    """(x, y) of the maximum of an upsampled map."""
    y, x = np.unravel_index(int(np.argmax(up)), up.shape)
    return int(x), int(y)


def pointing_hit(up: np.ndarray, box) -> bool:
    """Pointing game: does the map's maximum fall inside the box (x0, y0, x1, y1; x1, y1 exclusive)?"""
    x, y = peak(up)
    x0, y0, x1, y1 = box
    return x0 <= x < x1 and y0 <= y < y1


def energy_in_box(up: np.ndarray, box) -> float:
    """Share of the map's positive mass inside the box (the map shifted to be non-negative)."""
    positive = up - up.min()
    total = positive.sum()
    x0, y0, x1, y1 = box
    return float(positive[y0:y1, x0:x1].sum() / total) if total > 0 else 0.0


def time_peak_in_segment(curve: np.ndarray, times: np.ndarray, segment) -> bool:
    t = times[int(np.argmax(curve))]
    return bool(segment[0] <= t <= segment[1])


def energy_in_segment(curve: np.ndarray, times: np.ndarray, segment) -> float:
    positive = curve - curve.min()
    total = positive.sum()
    inside = (times >= segment[0]) & (times <= segment[1])
    return float(positive[inside].sum() / total) if total > 0 else 0.0
