"""Token-level inputs of the fusion lab's cross-attention: each sample's image patches, audio
frames and text tokens side by side, padded, with a mask.

:func:`token_data` reads an embedding table's token features (``EmbeddingTable.tokens``, kept by
``mmstudio embed --tokens``) for the rows the lab pairs into samples. Each modality gets one block
of slots: the item's embedding (what the pooled head sees), then its tokens, as many slots as its
longest item has (64 patches, up to 25 frames…); a shorter item is padded with zeros and ``mask``
marks the real slots, so attention gives padded slots exactly zero weight. Tokens are scaled to
unit length like the embeddings (the built-in model's patch tokens have norms around 15, its
embeddings 1: unscaled, the embedding slot was lost among them). A modality whose items carry no
token features (or features of another width than the embeddings) is a block of its embedding
alone; ``level`` says which and ``reasons`` why not tokens.

Test-time knobs act on tokens as on vectors (:func:`condition_tokens`): a mismatched modality
takes its partner's whole token block (the partner of its vector), noise adds σ·‖t‖·ε/√D to each
token t (ε standard normal, drawn once per seed; σ = 1: as much noise as signal, as for vectors),
and an absent modality's tokens are masked out, its embedding slot holding the vector its
imputation gives (zero, the training mean, a cross-modal map: :func:`fill_tokens`), as the early
heads see it. The embedding slot always holds the vector the early heads get under the knobs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

NO_TOKENS = "the table carries no token features (embed it with `mmstudio embed --tokens`)"


@dataclass
class TokenData:
    modalities: tuple[str, ...]
    x: np.ndarray                # (n, T, D) float32: every modality's block side by side, zeros where padded
    mask: np.ndarray             # (n, T) bool: a real token (False: padding, or the modality is absent)
    owner: np.ndarray            # (T,) int64: the modality of each slot
    names: tuple[str, ...]       # (T,) what each slot is: "audio embedding", "image patch row 2 col 5", …
    level: tuple[str, ...]       # per modality: "tokens", or "vector" (its embedding alone)
    reasons: dict                # modality → why it is one vector

    def take(self, idx) -> "TokenData":
        return replace(self, x=self.x[idx], mask=self.mask[idx])

    def __len__(self) -> int:
        return len(self.x)

    def block(self, j: int) -> slice:
        where = np.flatnonzero(self.owner == j)
        return slice(int(where[0]), int(where[-1]) + 1)

    def token_level(self, query: int) -> bool:
        """Whether some modality other than the query is attended to token by token."""
        return any(lv == "tokens" for j, lv in enumerate(self.level) if j != query)


def token_data(table, rows: dict, keep: list, modalities: tuple[str, ...]) -> tuple[TokenData | None, str]:
    """The token blocks of samples ``keep`` (``rows``: sample id → modality → table row), or
    ``(None, why)`` when no modality has token features of the embeddings' width."""
    if table.tokens is None:
        return None, NO_TOKENS
    dim = table.dim
    level, reasons, blocks = [], {}, []
    for mod in modalities:
        feats = [table.tokens[rows[sid][mod]] for sid in keep if rows[sid].get(mod) is not None]
        lacking = sum(f is None for f in feats)
        widths = {f.vectors.shape[1] for f in feats if f is not None}
        if not feats or lacking == len(feats):
            why = f"{mod} items have no token features"
        elif lacking:
            why = f"{lacking} of {len(feats)} {mod} items have no token features"
        elif widths != {dim}:
            why = f"{mod} token features are {'/'.join(map(str, sorted(widths)))}-d, the embeddings {dim}-d"
        else:
            why = ""
        level.append("vector" if why else "tokens")
        if why:
            reasons[mod] = why
        longest = max((f for f in feats if f is not None), key=lambda f: len(f.vectors), default=None)
        blocks.append(["embedding"] + (_slot_names(mod, longest) if not why else []))
    if all(lv == "vector" for lv in level):
        return None, "; ".join(reasons.values())
    owner = np.concatenate([np.full(len(b), j, np.int64) for j, b in enumerate(blocks)])
    n, total = len(keep), len(owner)
    x = np.zeros((n, total, dim), np.float32)
    mask = np.zeros((n, total), bool)
    start = 0
    for j, (mod, names) in enumerate(zip(modalities, blocks)):
        for i, sid in enumerate(keep):
            row = rows[sid].get(mod)
            if row is None:
                continue
            x[i, start] = table.vectors[row]
            mask[i, start] = True
            if level[j] == "tokens":
                v = table.tokens[row].vectors
                x[i, start + 1:start + 1 + len(v)] = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
                mask[i, start + 1:start + 1 + len(v)] = True
        start += len(names)
    names = tuple(f"{modalities[j]} {name}" for j, b in enumerate(blocks) for name in b)
    return TokenData(tuple(modalities), x, mask, owner, names, tuple(level), reasons), ""


def _slot_names(modality: str, feats) -> list[str]:
    """What each slot of a modality's block is, from its longest item."""
    count = len(feats.vectors)
    if feats.grid is not None and feats.grid[0] * feats.grid[1] == count:
        cols = feats.grid[1]
        return [f"patch row {i // cols + 1} col {i % cols + 1}" for i in range(count)]
    if feats.times is not None and len(feats.times) == count:
        return [f"frame at {t:.2f} s" for t in feats.times]
    return [f"token {i + 1}" for i in range(count)]


def fill_tokens(tokens: TokenData, filled: np.ndarray, present: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(x, mask)``: the token blocks with each block's first slot holding the modality's vector in
    ``filled`` (n × M × D: the vectors the early heads get, imputed where absent) and an absent
    modality's tokens masked out (its block is that one vector)."""
    x, mask = tokens.x.copy(), tokens.mask.copy()
    for j in range(len(tokens.level)):
        b = tokens.block(j)
        x[:, b.start] = filled[:, j]
        mask[:, b.start] = True
        absent = ~present[:, j]
        if absent.any() and b.stop > b.start + 1:
            x[absent, b.start + 1:b.stop] = 0.0
            mask[absent, b.start + 1:b.stop] = False
    return x, mask


def token_noise(tokens: TokenData, seed: int) -> np.ndarray:
    """ε/√D for every slot of the held-out rows (standard normal ε), drawn once per seed."""
    rng = np.random.default_rng([seed, 5])
    eps = rng.standard_normal(tokens.x.shape, dtype=np.float32)
    eps /= np.sqrt(tokens.x.shape[2])
    return eps


def condition_tokens(tokens: TokenData, partner: np.ndarray, mismatched: np.ndarray, noise: np.ndarray,
                     eps) -> TokenData:
    """The held-out token blocks under the knobs (before filling what is missing): each modality
    ``mismatched`` (n × M bool) on a row takes row ``partner[row, j]``'s block; then each token of a
    token-level modality with ``noise[j]`` > 0 gets σ·‖t‖·ε/√D (``eps()`` gives ε/√D)."""
    if not (mismatched.any() or np.any(noise > 0)):
        return tokens
    x, mask = tokens.x.copy(), tokens.mask.copy()
    for j in np.flatnonzero(mismatched.any(axis=0)):
        b, swap = tokens.block(j), np.flatnonzero(mismatched[:, j])
        x[swap, b] = tokens.x[partner[swap, j], b]
        mask[swap, b] = tokens.mask[partner[swap, j], b]
    levels = [j for j in np.flatnonzero(noise > 0) if tokens.level[j] == "tokens"]
    if levels:
        e = eps()
        for j in levels:
            b = tokens.block(j)
            b = slice(b.start + 1, b.stop)   # the first slot is the vector, noised with the vectors
            size = np.linalg.norm(x[:, b], axis=2, keepdims=True)
            x[:, b] += noise[j] * size * e[:, b]
    return replace(tokens, x=x, mask=mask)
