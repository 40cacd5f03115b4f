"""The fusion lab: train every fusion method once, then re-score them all for any test-time knobs.

``lab = FusionLab.fit(table, "shape", seed=0, job=job)`` pairs the table's rows by sample id
(:mod:`mmstudio.analysis.fusion.data`), splits the samples (stratified, seeded) into train,
validation and test, and trains small heads on the train split (:mod:`.fusion_heads`):

- one softmax-regression *expert* per modality (the ``*-only`` rows, and the experts that
  late fusion, PoE, MoE and the gate combine — :mod:`.fusion_rules`);
- ``early-linear`` (softmax regression) and ``early-mlp`` on the concatenated vectors;
- ``cross-attention``: token level when the table carries token features
  (:mod:`.fusion.attention`: the query modality's tokens attend over the other modalities'
  patches, frames or tokens); otherwise the query modality's vector attends over the others'
  vectors, one token per modality (with two modalities its one weight is 1 by construction, and
  the report says so and why token level was not used);
- the same three again with modality dropout (probability ``dropout``), used by
  ``impute="dropout"``;
- the cross-modal imputation maps (ridge, one per target and set of sources) and the means.

Training is batched across heads: the experts and the linear heads in one joint L-BFGS run,
the MLP and cross-attention heads (plain and dropout) stacked into batched matrix products in
one Adam loop, the ridge maps read out of one set of moments (``benchmarks/fusion.py``).

``lab.score(knobs)`` applies the knobs (:class:`~mmstudio.analysis.fusion.knobs.Knobs`) to the
kept held-out vectors — missing masks, noise, mismatch (:mod:`.fusion_missing`), then
imputation — runs the trained heads forward and recombines the experts. Nothing is trained
there: ``lab.fits`` counts the heads (and imputation-map sets) trained, and stays put. The validation split goes
through the same conditions. The gate's trust (``knobs.trust``) is label-free by default: each
expert's confidence on the sample. ``clean-accuracy`` uses each expert's accuracy on the clean
validation split; ``oracle`` its validation accuracy under the test-time corruption itself, which
needs labels from the corrupted source (an upper bound, labelled as such).
Curves against a knob: :mod:`mmstudio.analysis.fusion.curves`.

Missing at training time (the table lacks a modality for some samples, or ``train_missing``
removes it from a fraction of the training samples): each expert trains on the samples that
have its modality, the plain early heads on the training-mean-filled input, the dropout heads
on the zero-filled input, the imputation maps on the samples that have what they map.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from mmstudio.analysis.fusion import attention, heads, rules
from mmstudio.analysis.fusion.attention import TokenAttentionHead, attention_summary
from mmstudio.analysis.fusion.data import FusionData, Split, fusion_data, sample_train, split_samples
from mmstudio.analysis.fusion.knobs import EARLY, LATE, METHODS, FusionScores, Knobs, parse_methods
from mmstudio.analysis.fusion.metrics import score_probabilities
from mmstudio.analysis.fusion.missing import Imputer, apply_conditions, make_draws, rates
from mmstudio.analysis.fusion.ridge import one_blas_thread
from mmstudio.analysis.fusion.tokens import TokenData, condition_tokens, fill_tokens, token_noise
from mmstudio.core.jobs import Job

__all__ = ["EARLY", "LATE", "METHODS", "FusionLab", "FusionScores", "Knobs", "parse_methods"]

DEFAULT_DROPOUT = 0.5
TRAIN_LIMIT = 50_000   # training samples; above, a stratified random sample of this many (the split says so)
SCORE_BATCH = 65_536   # held-out rows per forward pass of a head
ATTENTION = ("tokens", "pooled")   # cross-attention over token features (where the table has them), or vectors


@dataclass
class LateInputs:
    """What a late-fusion rule combines: per-modality log-posteriors (n × M × K), which modalities
    are present (n × M), the log-prior, expert weights (PoE/MoE) and the test-time knobs."""

    log_post: np.ndarray
    present: np.ndarray
    log_prior: np.ndarray
    weights: np.ndarray | None
    knobs: Knobs
    trust: np.ndarray
    modalities: tuple

    def mean_weights(self) -> dict:
        n = np.maximum(self.present.sum(axis=0), 1)
        return dict(zip(self.modalities, (self.weights.sum(axis=0) / n).tolist()))


def _late_logit(c: LateInputs):
    return rules.logit_sum(c.log_post, c.present, c.log_prior), {}


def _late_prob(c: LateInputs):
    return rules.prob_average(c.log_post, c.present, c.log_prior), {}


def _poe(c: LateInputs):
    out = rules.product_of_experts(c.log_post, c.present, c.log_prior, c.weights)
    return out, {"poe": {"mean_weight": c.mean_weights()}}


def _moe(c: LateInputs):
    out = rules.mixture_of_experts(c.log_post, c.present, c.log_prior, c.weights)
    spread = float(rules.disagreement(c.log_post, c.present, c.log_prior, c.weights, out).mean())
    return out, {"moe": {"mean_weight": c.mean_weights(), "disagreement": spread}}


def _gated(c: LateInputs):
    k = c.knobs
    trust = "confidence" if k.trust == "confidence" else c.trust  # per-modality scores otherwise
    out, kept, is_open, agree = rules.gated(c.log_post, c.present, c.log_prior, k.gate, trust, k.agreement)
    dropped = (c.present & ~kept).mean(axis=0)
    return out, {"_gate": (is_open, agree),
                 "gated": {"threshold": k.gate, "agreement": k.agreement, "trust": k.trust,
                           "dropped": dict(zip(c.modalities, dropped.tolist()))}}


def _batched(forward, x: np.ndarray) -> np.ndarray:
    """``forward(x)`` (a head's logits) ``SCORE_BATCH`` rows at a time: what a head holds for a row (its
    hidden layer) never exists for every held-out row at once."""
    if len(x) <= SCORE_BATCH:
        return forward(x)
    return np.concatenate([forward(x[start:start + SCORE_BATCH]) for start in range(0, len(x), SCORE_BATCH)])


# the late-fusion methods: name → rule (the early ones are heads trained by the lab, see EARLY)
LATE_RULES = {"late-logit": _late_logit, "late-prob": _late_prob, "poe": _poe, "moe": _moe, "gated": _gated}


class FusionLab:
    """Trained fusion heads and the kept held-out vectors; :meth:`score` re-scores without training."""

    def __init__(self, data: FusionData, split: Split, methods: tuple[str, ...], seed: int, query: int,
                 tokens: TokenData | None = None, why_pooled: str = ""):
        self.data, self.split, self.methods, self.seed, self.query = data, split, methods, seed, query
        self.tokens, self.why_pooled = tokens, why_pooled   # token blocks when cross-attention is token level
        self._clean = None    # each expert's clean validation accuracy, computed on first use (_clean_trust)
        self.fits = 0                       # training calls made (a knob change must not add any)
        self.fit_log: list[tuple[str, float]] = []
        self.experts: list[heads.LinearHead] = []
        self._early_names: list[str] = []
        self.early: dict[str, object] = {}
        self.dropout_heads: dict[float, dict[str, object]] = {}
        self.dropout = 0.0
        self.imputer: Imputer | None = None
        counts = np.bincount(data.y[split.train], minlength=len(data.classes)).astype(np.float64) + 1.0
        self.log_prior = np.log(counts / counts.sum())
        held = np.concatenate([split.val, split.test])
        self._held_vectors = data.vectors[held]
        self._held_present = data.present[held]
        self._n_val = len(split.val)
        self._draws: dict[int, object] = {}
        self._held_tokens = tokens.take(held) if tokens is not None else None
        self._train_tokens = tokens.take(split.train) if tokens is not None else None
        self._token_eps: tuple[int, np.ndarray] | None = None   # (seed, noise of the held-out tokens)

    # --- training ------------------------------------------------------------------------
    @classmethod
    def fit(cls, table, label: str | None = None, *, methods="all", modalities=None, seed: int = 0,
            dropout: float = DEFAULT_DROPOUT, train_missing: dict | None = None, test: float = 0.3,
            val: float = 0.15, query: str | None = None, attention: str = "tokens", train_limit: int | None = TRAIN_LIMIT,
            job=None) -> "FusionLab":
        """Train every requested method on ``table``'s ``label`` column (or on a :class:`FusionData`).

        ``dropout``: the modality-dropout probability of the dropout-trained early heads (0 skips them);
        ``train_missing``: ``{"audio": 0.3}`` removes modalities from that fraction of training samples
        (seeded); ``query``: the modality that queries the others in cross-attention (default: text when
        the lab has text, else the first); ``attention``: "tokens" (token level where the data has token
        features of some modality other than the query, else pooled, with the reason in ``why_pooled``)
        or "pooled"; ``train_limit``: train on a stratified random sample of this many training samples
        when there are more (None or 0: all; the split's ``sentence`` says which), while validation and
        test are scored whole."""
        data = table if isinstance(table, FusionData) else fusion_data(table, label, modalities)
        methods = parse_methods(methods)
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout {dropout}: must be in [0, 1)")
        split = sample_train(split_samples(data.y, seed, test, val), data.y, train_limit, seed)
        if query is None:
            query = "text" if "text" in data.modalities else data.modalities[0]
        q = data.modalities.index(query) if query in data.modalities else -1
        if q < 0:
            raise ValueError(f"query modality {query!r} is not in the lab ({', '.join(data.modalities)})")
        if attention not in ATTENTION:
            raise ValueError(f"attention must be one of {', '.join(ATTENTION)}, not {attention!r}")
        tokens, why = data.tokens, ""
        if attention == "pooled":
            why = "pooled attention was asked for"
        elif tokens is None:
            why = data.token_note
        elif not tokens.token_level(q):
            why = (f"no modality but the query ({query}) has token features: "
                   + "; ".join(r for m, r in tokens.reasons.items() if m != query))
        lab = cls(data, split, methods, seed, q, None if why else tokens, why)
        lab._train(train_missing or {}, dropout, job)
        return lab

    def _count(self, name: str, started: float, heads_trained: int) -> None:
        self.fits += heads_trained
        self.fit_log.append((name, time.perf_counter() - started))

    def _train(self, train_missing: dict, dropout: float, job) -> None:
        job = job or Job()
        d, s = self.data, self.split
        mods = d.modalities
        x_train = d.vectors[s.train]
        p_train = d.present[s.train].copy()
        lost = rates(train_missing, list(mods))
        if lost.any():
            u = np.random.default_rng([self.seed, 3]).random(p_train.shape)
            p_train &= ~(u < lost[None, :])
        self._train_present = p_train
        y = d.y[s.train]
        early = [m for m in self.methods if m in EARLY]
        if len(mods) < 2:
            early = [m for m in early if m != "cross-attention"]
        for j, mod in enumerate(mods):
            if not p_train[:, j].any():
                raise ValueError(f"no training sample has {mod}")
        steps = ["imputation maps", "experts and linear heads"] + (["MLP and cross-attention heads"] if early else [])

        def tick(i):
            job.check()
            job.status(steps[i])
            job.progress(i, len(steps))

        tick(0)
        t0 = time.perf_counter()
        self.imputer = Imputer.fit(x_train, p_train, cross_modal=bool(early))
        if early:
            self._count("imputation maps", t0, 1)
        mean_filled = self.imputer.fill(x_train, p_train, "mean")
        zero_filled = self.imputer.fill(x_train, p_train, "zero")
        self._early_names = early
        tick(1)
        problems = [(x_train[p_train[:, j], j], y[p_train[:, j]]) for j in range(len(mods))]
        linear = [name for name in early if name == "early-linear"]
        problems += [(mean_filled.reshape(len(y), -1), y) for _ in linear]
        if dropout > 0:
            problems += [self._dropout_copies(zero_filled, y, dropout) for _ in linear]
        t0 = time.perf_counter()
        fitted = heads.fit_softmax_many(problems, len(d.classes))
        self._count("experts and linear heads", t0, len(problems))
        self.experts = fitted[:len(mods)]
        self.early.update(zip(linear, fitted[len(mods):len(mods) + len(linear)]))
        dropped = dict(zip(linear, fitted[len(mods) + len(linear):]))
        if len(steps) > 2:
            tick(2)
        adam = [name for name in early if name != "early-linear"]
        specs = [self._spec(name, mean_filled, 0.0) for name in adam]
        if dropout > 0:
            specs += [self._spec(name, zero_filled, dropout) for name in adam]
        if specs:
            t0 = time.perf_counter()
            fitted = self._fit_adam(specs, y, job)
            self._count("MLP and cross-attention heads", t0, len(specs))
            self.early.update(zip(adam, fitted[:len(adam)]))
            dropped.update(zip(adam, fitted[len(adam):]))
        if dropout > 0:
            self.dropout = float(dropout)
            self.dropout_heads[self.dropout] = {name: dropped[name] for name in early}
        # the gate's trust when there is no validation split (tiny data): training accuracy
        self._fallback_trust = self._trust(self._expert_log_post(x_train), p_train, y)
        job.progress(len(steps), len(steps))

    def _fit_adam(self, specs, y, job) -> list:
        """The Adam-trained heads of ``specs``: the token-level ones in a loop of their own (their own
        width and minibatch, :mod:`.attention`), the others stacked together as before."""
        tok = [i for i, sp in enumerate(specs) if sp.kind == "token-attention"]
        rest = [i for i in range(len(specs)) if i not in tok]
        out = [None] * len(specs)
        k = len(self.data.classes)
        token = {"width": attention.WIDTH, "batch": attention.BATCH, "steps": attention.STEPS}
        for idx, extra in ((rest, {}), (tok, token)):
            if idx:
                fitted = heads.fit_adam_heads([specs[i] for i in idx], y, k, seed=self.seed, job=job, **extra)
                for i, head in zip(idx, fitted):
                    out[i] = head
        return out

    def _spec(self, name, filled, dropout):
        if name == "cross-attention" and self.tokens is not None:
            x, mask = fill_tokens(self._train_tokens, filled, self._train_present)
            return heads.AdamSpec("token-attention", x, dropout, self.query, mask, self.tokens.owner)
        kind = "mlp" if name == "early-mlp" else "cross-attention"
        return heads.AdamSpec(kind, filled, dropout, self.query)

    def _dropout_copies(self, filled, y, dropout):
        """The early-linear head's training set under modality dropout: a fixed augmentation, the
        (zero-filled) training set twice, each copy with its own dropout masks (at least one kept)."""
        n, m, _ = filled.shape
        rng = np.random.default_rng([self.seed, 4])
        copies = []
        for _ in range(2):
            keep = rng.random((n, m)) >= dropout
            none = ~keep.any(axis=1)
            keep[none, rng.integers(0, m, int(none.sum()))] = True
            copies.append((filled * keep[:, :, None]).reshape(n, -1))
        return np.concatenate(copies), np.concatenate([y, y])

    def train_dropout(self, p: float, job=None) -> None:
        """Train (once per p, then cached) the early heads with modality dropout ``p``; make them current."""
        job = job or Job()
        if not 0 < p < 1:
            raise ValueError(f"dropout {p}: must be in (0, 1)")
        p = float(p)
        if p not in self.dropout_heads:
            job.check()
            job.status(f"early heads with modality dropout {p:g}")
            x_train = self.data.vectors[self.split.train]
            zero_filled = self.imputer.fill(x_train, self._train_present, "zero")
            y = self.data.y[self.split.train]
            out = {}
            t0 = time.perf_counter()
            if "early-linear" in self._early_names:
                out["early-linear"] = heads.fit_softmax_many([self._dropout_copies(zero_filled, y, p)],
                                                             len(self.data.classes))[0]
            adam = [name for name in self._early_names if name != "early-linear"]
            if adam:
                fitted = self._fit_adam([self._spec(name, zero_filled, p) for name in adam], y, job)
                out.update(zip(adam, fitted))
            self._count(f"early heads, dropout {p:g}", t0, len(out))
            self.dropout_heads[p] = out
        self.dropout = p

    def _expert_log_post(self, vectors: np.ndarray) -> np.ndarray:
        """(n, M, K) log-posteriors of each modality's expert."""
        return np.stack([rules.log_softmax(_batched(h.logits, vectors[:, j]).astype(np.float64))
                         for j, h in enumerate(self.experts)], axis=1)

    # --- scoring ------------------------------------------------------------------------
    def draws(self, seed: int):
        if seed not in self._draws:
            self._draws[seed] = make_draws(self._held_present, self.data.dim, seed)
        return self._draws[seed]

    @property
    def modalities(self) -> tuple[str, ...]:
        return self.data.modalities

    def conditions(self, knobs: Knobs):
        """Held-out vectors and presence under the knobs (validation rows first, then test rows)."""
        mods = list(self.modalities)
        return apply_conditions(self._held_vectors, self._held_present, self.draws(knobs.seed),
                                rates(knobs.missing, mods), rates(knobs.noise, mods), rates(knobs.mismatch, mods))

    def score(self, knobs: Knobs | None = None, *, contributions: bool = True) -> FusionScores:
        """Every method's scores on the test split under ``knobs`` (no training).

        ``contributions``: also each modality's contribution to each method (accuracy drop when the
        modality is removed from every test sample), one more forward pass per modality."""
        knobs = knobs or Knobs()
        knobs.check()
        with one_blas_thread():
            return self._score(knobs, contributions)

    def _score(self, knobs: Knobs, contributions: bool) -> FusionScores:
        if knobs.impute == "dropout" and not self.dropout_heads and self.early:
            raise ValueError("no dropout-trained heads: fit with dropout > 0 or call train_dropout(p)")
        v, p, mismatched = self.conditions(knobs)
        tokens = self._token_conditions(knobs, mismatched)
        log_post = self._expert_log_post(v)
        nv = self._n_val
        if knobs.trust == "oracle":   # validation accuracy under these very conditions (labels of the corrupted data)
            trust = (self._trust(log_post[:nv], self._held_present[:nv], self.data.y[self.split.val]) if nv
                     else self._fallback_trust)
        else:                         # clean validation accuracy (reported for confidence too)
            trust = self._clean_trust()
        y = self.data.y[self.split.test]
        tokens = None if tokens is None else tokens.take(slice(nv, None))
        out, extra = self._predict(v[nv:], p[nv:], log_post[nv:], knobs, trust, tokens)
        scores = {}
        for name, lp in out.items():
            sc = score_probabilities(name, lp, y)
            sc.extra.update(extra.get(name, {}))
            if name == "gated":
                sc.gate_open_rate = float(extra["_gate"][0].mean())
            scores[name] = sc
        if contributions and len(self.modalities) > 1:
            for j, mod in enumerate(self.modalities):
                pj = p[nv:].copy()
                pj[:, j] = False
                without, _ = self._predict(v[nv:], pj, log_post[nv:], knobs, trust, tokens)
                for name, lp in without.items():
                    scores[name].contribution[mod] = scores[name].accuracy - float((lp.argmax(1) == y).mean())
        gate_open, agree = extra.get("_gate", (None, None))
        return FusionScores(knobs, self.modalities, self.data.classes, len(y), scores,
                            {m: float(t) for m, t in zip(self.modalities, trust)},
                            {m: float(r) for m, r in zip(self.modalities, p[nv:].mean(axis=0))},
                            y, out, gate_open, agree)

    def _token_conditions(self, knobs: Knobs, mismatched: np.ndarray) -> TokenData | None:
        """The held-out token blocks under the knobs (the vectors' mismatch partners, token noise)."""
        if self._held_tokens is None:
            return None
        held = self._held_tokens

        def eps():
            if self._token_eps is None or self._token_eps[0] != knobs.seed:
                self._token_eps = (knobs.seed, token_noise(held, knobs.seed))
            return self._token_eps[1]

        return condition_tokens(held, self.draws(knobs.seed).partner, mismatched,
                                rates(knobs.noise, list(self.modalities)), eps)

    def _clean_trust(self) -> np.ndarray:
        if self._clean is None:
            nv = self._n_val
            if nv:
                v, _, _ = self.conditions(Knobs())
                self._clean = self._trust(self._expert_log_post(v)[:nv], self._held_present[:nv],
                                          self.data.y[self.split.val])
            else:
                self._clean = self._fallback_trust
        return self._clean

    def _trust(self, log_post, present, y) -> np.ndarray:
        correct = log_post.argmax(axis=2) == y[:, None]
        n = present.sum(axis=0)
        return np.where(n > 0, (correct & present).sum(axis=0) / np.maximum(n, 1), -np.inf)

    def _predict(self, v, p, log_post, knobs: Knobs, trust, tokens: TokenData | None = None):
        """Log-probabilities of every method (and each modality alone) for held-out rows ``v``/``p``
        (and their token blocks ``tokens``, when cross-attention is token level)."""
        lp0 = self.log_prior
        out, extra = {}, {}
        w = rules.expert_weights(log_post, p, lp0) if {"poe", "moe"} & set(self.methods) else None
        late = LateInputs(log_post, p, lp0, w, knobs, trust, self.modalities)
        for name in self.methods:
            if name in LATE_RULES:
                out[name], notes = LATE_RULES[name](late)
                extra.update(notes)
        early = [m for m in self.methods if m in self.early]
        if early:
            use = self.dropout_heads[self.dropout] if knobs.impute == "dropout" else self.early
            filled = self.imputer.fill(v, p, knobs.impute)
            flat = filled.reshape(len(v), -1)
            for name in early:
                if name == "cross-attention":
                    logits, extra[name] = self._attend(use[name], filled, p, tokens)
                else:
                    logits = _batched(use[name].logits, flat)
                out[name] = rules.log_softmax(logits.astype(np.float64))
        for j, mod in enumerate(self.modalities):
            out[f"{mod}-only"] = np.where(p[:, j:j + 1], log_post[:, j], lp0)
        return {k: out[k] for k in [*[m for m in METHODS if m in out], *[k for k in out if k.endswith("-only")]]}, \
            extra

    def _attend(self, head, filled, present, tokens):
        """The cross-attention head's logits and what its weights say (:func:`attention_summary`)."""
        if isinstance(head, TokenAttentionHead):
            x, mask = fill_tokens(tokens, filled, present)
            logits, att = head.forward(x, mask)
            ks, qs = head.key_slots, head.query_slots
            embedding = np.zeros(len(self.tokens.owner), bool)
            embedding[[self.tokens.block(j).start for j in range(len(self.modalities))]] = True
            summary = attention_summary(att, mask[:, ks], mask[:, qs], self.tokens.owner[ks],
                                        [self.tokens.names[i] for i in ks], self.modalities, self.query, embedding[ks])
            return logits, {**summary, "level": "tokens", "why_pooled": None}
        parts = [head.forward(filled[start:start + SCORE_BATCH]) for start in range(0, max(1, len(filled)), SCORE_BATCH)]
        logits, att = np.concatenate([lg for lg, _ in parts]), np.concatenate([a for _, a in parts])
        others = np.array([j for j in range(len(self.modalities)) if j != self.query])
        n, k = att.shape
        summary = attention_summary(att[:, None, None, :], np.ones((n, k), bool), np.ones((n, 1), bool), others,
                                    [self.modalities[j] for j in others], self.modalities, self.query)
        return logits, {**summary, "level": "pooled", "why_pooled": self.why_pooled}

    def info(self) -> dict:
        return {"modalities": list(self.modalities), "classes": list(self.data.classes), "methods": list(self.methods),
                "split": self.split.to_dict(), "seed": self.seed, "dropout": self.dropout, "fits": self.fits,
                "fit_seconds": {name: sec for name, sec in self.fit_log},
                "query": self.modalities[self.query],
                "attention": "tokens" if self.tokens is not None else "pooled", "why_pooled": self.why_pooled or None,
                "captions": self.data.caption_note or None}
