"""Token-level cross-attention fusion: the head, its training form, and what its weights say.

:class:`TokenAttentionHead` (plain numpy arrays, scored without torch) reads
:class:`~mmstudio.analysis.fusion.tokens.TokenData`: per modality a block of slots, the item's
embedding first, then its patches, frames or text tokens. Every slot goes through one shared
projection plus its modality's embedding; the query modality's slots (text tokens, or image
patches when there is no text) query the other modalities' slots with multi-head scaled
dot-product attention, one layer (``softmax(q·k/√d_head)`` over the keys; padded keys are masked
out, their weight is exactly 0); each query slot adds what it gathered to itself (a residual).
The output is the query embedding's slot beside the mean of the query's token slots (padding left
out), then a ReLU and a linear layer give the class logits. (Averaging all query slots instead
drowned the embedding among 64 patches: on the demo world's ``xor`` task, which needs the left
object's stripes from the image and the echo from the sound, that head stayed at chance, 0.49;
this one reached 0.99, as the pooled head does.) :class:`StackedTokenAttention` is the same head in
torch, ``s`` copies evaluated with batched products, for
:func:`~mmstudio.analysis.fusion.heads.fit_adam_heads`.

:func:`attention_summary` says what the weights do on held-out samples: the entropy of each query
token's distribution over the keys, in bits, averaged per sample (mean and spread over samples)
next to log2 of the number of keys (uniform weights); the weight each key modality and each key
slot gets; and how much the weights move across samples and across keys. :func:`attention_words`
puts it in one sentence for ``mmstudio fuse`` and the fusion panel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# The token-level head's shape and its own Adam loop. Its cost is in the (batch × heads × query slots
# × keys) weights and in projecting every slot, not in the classifier: on the demo world (65 query
# slots, 26 keys) one step of the two stacked heads took ~390 ms at width 64, 4 heads and batch 256
# on a loaded 2-core machine, ~60 ms at width 32, one head and batch 128 (the pooled head: ~11 ms).
# 100 steps instead of 200 lost the demo's xor task (0.98 → 0.76 test accuracy); batch 64 instead of
# 128 kept it (0.977) at about 0.6× the training time.
HEADS = 2
WIDTH = 32
BATCH = 64
STEPS = 200
CHUNK = 512        # samples per numpy forward step (bounds the temporaries)
TOP_KEYS = 3       # key slots named in the report
MASKED = -1e9      # a padded key's score in training: exp underflows to exactly 0 (never -inf: no NaN)


@dataclass
class TokenAttentionHead:
    query: int            # the query modality
    owner: np.ndarray     # (T,) modality of each slot
    heads: int
    W_in: np.ndarray      # (D, w) shared token projection
    E: np.ndarray         # (M, w) modality embeddings
    Wq: np.ndarray        # (w, w)
    Wk: np.ndarray
    Wv: np.ndarray
    W_out: np.ndarray     # (2w, K): the query embedding's output, then the mean of its tokens' outputs
    b_out: np.ndarray     # (K,)

    @property
    def query_slots(self) -> np.ndarray:
        return np.flatnonzero(self.owner == self.query)

    @property
    def key_slots(self) -> np.ndarray:
        return np.flatnonzero(self.owner != self.query)

    def forward(self, x: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``x`` (n, T, D), ``mask`` (n, T) → logits (n, K) and the attention weights
        (n, heads, query slots, key slots); a padded key's weight is 0, a padded query's row is 0."""
        logits, weights = [], []
        for at in range(0, len(x), CHUNK):
            out = self._forward(x[at:at + CHUNK], mask[at:at + CHUNK])
            logits.append(out[0])
            weights.append(out[1])
        k = len(self.b_out)
        if not logits:
            return np.zeros((0, k), np.float32), np.zeros((0, self.heads, len(self.query_slots),
                                                           len(self.key_slots)), np.float32)
        return np.concatenate(logits), np.concatenate(weights)

    def _forward(self, x, mask):
        n, t, dim = x.shape
        h = self.heads
        tok = (x.reshape(n * t, dim) @ self.W_in).reshape(n, t, -1)
        tok += self.E[self.owner]
        w = tok.shape[2]
        qs, ks = self.query_slots, self.key_slots
        tq, tk = tok[:, qs], tok[:, ks]
        q = (tq @ self.Wq).reshape(n, len(qs), h, w // h).transpose(0, 2, 1, 3)
        k = (tk @ self.Wk).reshape(n, len(ks), h, w // h).transpose(0, 2, 3, 1)
        v = (tk @ self.Wv).reshape(n, len(ks), h, w // h).transpose(0, 2, 1, 3)
        a = masked_softmax((q @ k) / np.sqrt(w // h), mask[:, None, None, ks])
        qmask = mask[:, qs]
        a *= qmask[:, None, :, None]
        u = tq + (a @ v).transpose(0, 2, 1, 3).reshape(n, len(qs), w)
        pooled = _pool(u, qmask)
        np.maximum(pooled, 0, out=pooled)
        return pooled @ self.W_out + self.b_out, a

    def logits(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self.forward(x, mask)[0]


def masked_softmax(scores: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Softmax over the last axis among the ``keep`` entries; the others get exactly 0 (a row
    with nothing kept is all 0)."""
    s = np.where(keep, scores, -np.inf)
    top = s.max(axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    e = np.exp(s - top)
    total = e.sum(axis=-1, keepdims=True)
    return e / np.where(total > 0, total, 1.0)


class StackedTokenAttention:
    """``s`` token-level heads of one shape (and query), evaluated with batched products in torch."""

    def __init__(self, s, m, dim, width, k, query, owner, gen, heads: int = HEADS):
        import torch

        from mmstudio.analysis.fusion.heads import init_param

        if m < 2:
            raise ValueError("cross-attention needs at least two modalities")
        if width % heads:
            raise ValueError(f"width {width} does not split into {heads} heads")
        self.query, self.heads, self.owner_np = query, heads, np.asarray(owner)
        self.owner = torch.from_numpy(self.owner_np)
        self.qs = torch.from_numpy(np.flatnonzero(self.owner_np == query))
        self.ks = torch.from_numpy(np.flatnonzero(self.owner_np != query))
        first = np.ones(len(owner), bool)
        first[1:] = self.owner_np[1:] != self.owner_np[:-1]
        self.first = torch.from_numpy(first)
        self._q_range, self._k_range = _run(self.qs.numpy()), _run(self.ks.numpy())
        self.W_in, self.E = init_param(gen, (s, dim, width), dim), init_param(gen, (s, 1, m, width))
        self.Wq, self.Wk, self.Wv = (init_param(gen, (s, width, width), width) for _ in range(3))
        self.W_out, self.b_out = init_param(gen, (s, 2 * width, k), 2 * width), init_param(gen, (s, 1, k), 2 * width)
        self.params = [self.W_in, self.E, self.Wq, self.Wk, self.Wv, self.W_out, self.b_out]

    def drop(self, x, mask, keep):
        """Modality dropout: a dropped modality's block becomes one zero token (as a zero-filled
        absent modality is at test time). ``keep``: (B, M) bool."""
        import torch

        slot = keep[:, self.owner]
        return x * slot.unsqueeze(2), torch.where(slot, mask, self.first.unsqueeze(0))

    def _slots(self, z, which: str):
        """The query or key slots of z (s, B, T, …): a view when they are one run of slots."""
        run = self._q_range if which == "q" else self._k_range
        if run is not None:
            return z[:, :, run[0]:run[1]]
        return z.index_select(2, self.qs if which == "q" else self.ks)

    def __call__(self, x, mask):  # x (s, B, T, D), mask (s, B, T) → logits (s, B, K)
        import torch

        s, b, t, dim = x.shape
        h = self.heads
        tok = torch.bmm(x.reshape(s, b * t, dim), self.W_in).reshape(s, b, t, -1) + self.E[:, :, self.owner]
        w = tok.shape[3]
        tq, tk = self._slots(tok, "q"), self._slots(tok, "k")
        nq, nk = tq.shape[2], tk.shape[2]

        def split(z, weight, n):  # (s, B, n, w) → (s·B, heads, n, w/heads)
            return torch.bmm(z.reshape(s, b * n, w), weight).reshape(s * b, n, h, w // h).transpose(1, 2)

        q, k, v = split(tq, self.Wq, nq), split(tk, self.Wk, nk), split(tk, self.Wv, nk)
        keys = self._slots(mask, "k").reshape(s * b, 1, 1, nk)
        bias = torch.zeros(keys.shape, dtype=q.dtype).masked_fill_(~keys, MASKED)
        a = torch.softmax(torch.matmul(q, k.transpose(2, 3)) / float(np.sqrt(w // h)) + bias, dim=3)
        u = tq + torch.matmul(a, v).transpose(1, 2).reshape(s, b, nq, w)
        qmask = self._slots(mask, "q")[:, :, 1:].unsqueeze(3).to(u.dtype)
        rest = (u[:, :, 1:] * qmask).sum(2) / qmask.sum(2).clamp(min=1.0)
        pooled = torch.cat([u[:, :, 0], rest], dim=2)
        return torch.baddbmm(self.b_out, torch.relu(pooled), self.W_out)

    def export(self, i: int) -> TokenAttentionHead:
        a = [t[i].detach().numpy().copy() for t in self.params]
        return TokenAttentionHead(self.query, self.owner_np.copy(), self.heads, a[0], a[1][0], a[2], a[3], a[4],
                                  a[5], a[6][0])


def _pool(u: np.ndarray, qmask: np.ndarray) -> np.ndarray:
    """(n, w·2): the query embedding's output (the first query slot) beside the mean of its tokens' outputs."""
    m = qmask[:, 1:, None]
    rest = (u[:, 1:] * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1)
    return np.concatenate([u[:, 0], rest], axis=1)


def _run(idx: np.ndarray) -> tuple[int, int] | None:
    """(start, stop) when ``idx`` is one run of consecutive slots, else None."""
    if len(idx) and (np.diff(idx) == 1).all():
        return int(idx[0]), int(idx[-1]) + 1
    return None


def attention_summary(weights: np.ndarray, key_mask: np.ndarray, query_mask: np.ndarray, key_owner: np.ndarray,
                      key_names, modalities, query: int, key_embedding: np.ndarray | None = None) -> dict:
    """What attention weights (n, heads, Tq, Tk) do on n samples (``key_mask`` (n, Tk) and
    ``query_mask`` (n, Tq): the real slots): entropy in bits per query row averaged per sample,
    its mean and spread over samples, log2 of each sample's number of keys (uniform weights),
    each key modality's and each key slot's mean weight (and, with ``key_embedding`` (Tk,) bool,
    the weight on the items' embeddings rather than their tokens), and how much a sample's
    weights over the keys vary across samples and across keys."""
    n = len(weights)
    rows = np.broadcast_to(query_mask[:, None, :], weights.shape[:3])
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -np.where(weights > 0, weights * np.log2(weights), 0.0).sum(axis=3)      # (n, h, Tq)
    count = np.maximum(rows.sum(axis=(1, 2)), 1)
    entropy = (ent * rows).sum(axis=(1, 2)) / count                                      # (n,)
    per_key = (weights * rows[..., None]).sum(axis=(1, 2)) / count[:, None]               # (n, Tk), rows sum to 1
    keys = key_mask.sum(axis=1)
    uniform = np.log2(np.maximum(keys, 1))
    others = [j for j in range(len(modalities)) if j != query]
    mean_key = per_key.mean(axis=0) if n else np.zeros(per_key.shape[1])
    top = np.argsort(-mean_key, kind="stable")[:TOP_KEYS]
    real = key_mask.astype(bool)
    across_keys = [float(per_key[i, real[i]].std()) for i in range(n) if real[i].any()]
    return {
        "query": modalities[query], "samples": int(n), "heads": int(weights.shape[1]),
        "query_tokens": float(query_mask.sum(axis=1).mean()) if n else 0.0,
        "keys": float(keys.mean()) if n else 0.0, "keys_min": int(keys.min()) if n else 0,
        "keys_max": int(keys.max()) if n else 0,
        "attention": {modalities[j]: float(per_key[:, key_owner == j].sum(axis=1).mean()) if n else 0.0
                      for j in others},
        "attention_entropy_bits": float(entropy.mean()) if n else 0.0,
        "attention_entropy_bits_std": float(entropy.std()) if n else 0.0,
        "uniform_bits": float(uniform.mean()) if n else 0.0,
        "top_keys": [[str(key_names[i]), float(mean_key[i])] for i in top],
        "uniform_weight": float(np.mean(1.0 / np.maximum(keys, 1))) if n else 0.0,
        "spread_across_samples": float(per_key.std(axis=0)[real.any(axis=0)].mean()) if n and real.any() else 0.0,
        "spread_across_keys": float(np.mean(across_keys)) if across_keys else 0.0,
        "embedding_weight": (float(per_key[:, key_embedding].sum(axis=1).mean()) if n else 0.0)
        if key_embedding is not None else None,
    }


def attention_words(extra: dict) -> str:
    """The cross-attention line of the report (``extra``: :func:`attention_summary` plus ``level``
    and ``why_pooled``), computed from those numbers."""
    if not extra:
        return ""
    q = extra.get("query")
    bits = (f"attention entropy {extra['attention_entropy_bits']:.2f} ± {extra['attention_entropy_bits_std']:.2f} "
            f"bits across {extra['samples']} test samples (uniform weights over the keys: "
            f"{extra['uniform_bits']:.2f} bits)")
    mods = extra.get("attention", {})
    by_mod = ", ".join(f"{m} {w:.2f}" for m, w in mods.items())
    if extra.get("level") == "tokens":
        keys = _count(extra["keys_min"], extra["keys_max"])
        line = (f"cross-attention, token level: {q} (its embedding and {extra['query_tokens'] - 1:.0f} tokens on "
                f"average) queries {keys} keys of {', '.join(mods)} (embeddings and tokens), {extra['heads']} heads; "
                f"{bits}")
        if len(mods) > 1:
            line += f"; weight by modality: {by_mod}"
        top = ", ".join(f"{name} {w:.3f}" for name, w in extra.get("top_keys", []))
        return (line + f"; on the embeddings {extra['embedding_weight']:.3f}, the rest on tokens; most weight on "
                f"{top} (uniform {extra['uniform_weight']:.3f} each)")
    why = extra.get("why_pooled") or "not asked for"
    if extra.get("keys_max") == 1:   # one key per sample: the softmax is 1 whatever the data
        return (f"cross-attention over one vector per modality: {q} attends to one vector per sample "
                f"({', '.join(mods)}): its weight is 1 by construction, so the attention says nothing here "
                f"(token level not used: {why})")
    return (f"cross-attention over one vector per modality: {q} attends to {by_mod} ({bits}; spread across "
            f"samples {extra['spread_across_samples']:.3f}) (token level not used: {why})")


def _count(low: int, high: int) -> str:
    return f"{low}" if low == high else f"{low}–{high}"
