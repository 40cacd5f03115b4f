"""Training the built-in model on the demo world, from scratch, on a CPU.

Objectives (each a term of the loss):
- symmetric InfoNCE over image–text, audio–text and image–audio, where every pair whose
  scenes agree on what both modalities can show counts as a positive;
- auxiliary heads predicting each object's attributes from each embedding (training only);
- token level: a caption naming one object, and each word of a full caption, pick out the
  patches inside that object's box and the sound frames inside its note (softmax mass);
- cross-attention heads (text tokens → patches, text tokens → frames) trained to tell
  matching from mismatching pairs, with their attention held to the named object.

``mmstudio demo train --out DIR`` writes ``model.safetensors`` and ``config.json`` (the model
config, the training settings and the held-out metrics).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from mmstudio.demo.captions import vocabulary
from mmstudio.demo.data import SLOTS, build, captions_for, object_captions_for

AUX = {"shape": 7, "color": 7, "size": 3, "striped": 3}   # class -1 (no object) is the last class


@dataclass
class TrainSettings:
    seed: int = 0
    scenes: int = 16000
    steps: int = 1800
    batch: int = 128
    lr: float = 1e-3
    warmup: int = 100
    weight_decay: float = 0.05
    eval_scenes: int = 2000
    eval_seed: int = 777


def _lr(step: int, s: TrainSettings) -> float:
    if step < s.warmup:
        return s.lr * (step + 1) / s.warmup
    progress = (step - s.warmup) / max(1, s.steps - s.warmup)
    return s.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * progress)))


def _info_nce(a, b, positives, scale):
    import torch.nn.functional as F

    logits = scale * a @ b.T
    target = positives / positives.sum(1, keepdim=True)
    target_t = positives.T / positives.T.sum(1, keepdim=True)
    return 0.5 * (-(target * F.log_softmax(logits, 1)).sum(1).mean() - (target_t * F.log_softmax(logits.T, 1)).sum(1).mean())


def _mass_loss(probs, mask, valid):
    """-log of the probability mass inside the mask, averaged over valid rows."""
    import torch

    mass = (probs * mask).sum(-1).clamp_min(1e-6)
    valid = valid.float()
    return (-torch.log(mass) * valid).sum() / valid.sum().clamp_min(1)


class Trainer:
    def __init__(self, settings: TrainSettings, log=print, job=None):
        import torch

        from mmstudio.encoders.builtin.features import LogMel, WordTokenizer
        from mmstudio.encoders.builtin.model import BuiltinConfig, BuiltinModel

        self.s, self.log, self.job = settings, log, job
        torch.manual_seed(settings.seed)
        self.rng = np.random.default_rng(settings.seed + 1)
        self.cfg = BuiltinConfig(vocabulary=vocabulary(), aux_classes=dict(AUX))
        self.tokenizer = WordTokenizer(self.cfg.vocabulary, self.cfg.max_words)
        raw = LogMel(self.cfg.sample_rate, self.cfg.audio_seconds, n_mels=self.cfg.n_mels)
        t0 = time.perf_counter()
        self.data = build(settings.scenes, settings.seed, raw, grid=self.cfg.grid, audio_tokens=self.cfg.audio_tokens)
        mels = self.data.mels.astype(np.float32)
        self.cfg.mel_mean, self.cfg.mel_std = float(mels.mean()), float(mels.std())
        self.data.mels = ((mels - self.cfg.mel_mean) / self.cfg.mel_std).astype(np.float16)
        log(f"rendered {len(self.data)} scenes in {time.perf_counter() - t0:.0f} s")
        self.model = BuiltinModel(self.cfg)
        width = self.cfg.dim
        heads = {f"{m}_{slot}_{attr}": torch.nn.Linear(width, n)
                 for m in ("image", "audio", "text") for slot in range(SLOTS) for attr, n in AUX.items()
                 if not (m == "audio" and attr == "striped")}
        heads.update({f"{m}_echo": torch.nn.Linear(width, 2) for m in ("audio", "text")})
        self.aux = torch.nn.ModuleDict(heads)
        params = list(self.model.parameters()) + list(self.aux.parameters())
        self.opt = torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)
        self.sig = {k: torch.from_numpy(self.data.signature(k)) for k in ("image-text", "audio-text", "image-audio")}

    # ------------------------------------------------------------------ one step
    def _batch(self, idx):
        import torch

        d = self.data
        scenes = [d.scenes[i] for i in idx]
        ids, owners = captions_for(scenes, self.rng, self.tokenizer)
        oids, oowners, which = object_captions_for(scenes, self.rng, self.tokenizer)
        t = torch.from_numpy
        pixels = t(d.pixels[idx]).permute(0, 3, 1, 2).float() / 127.5 - 1
        return dict(pixels=pixels, mels=t(d.mels[idx].astype(np.float32)), ids=t(ids), owners=t(owners),
                    oids=t(oids), which=t(which), attrs=t(d.attrs[idx]), echo=t(d.echo[idx]),
                    boxes=t(d.boxes[idx]), segments=t(d.segments[idx]), idx=t(idx))

    def step(self, step: int, idx) -> dict[str, float]:
        import torch
        import torch.nn.functional as F

        b = self._batch(idx)
        m = self.model
        gi, pi, si = m.image(b["pixels"])
        ga, fa, sa = m.audio(b["mels"])
        gt, wt, st = m.text(b["ids"])
        go, wo, so = m.text(b["oids"])
        ni, na, nt, no = (F.normalize(x, dim=-1) for x in (gi, ga, gt, go))
        scale = m.logit_scale.exp().clamp(max=100)
        same = {k: v[b["idx"]][:, None] == v[b["idx"]][None, :] for k, v in self.sig.items()}
        losses = {"contrastive": (_info_nce(ni, nt, same["image-text"].float(), scale)
                                  + _info_nce(na, nt, same["audio-text"].float(), scale)
                                  + _info_nce(ni, na, same["image-audio"].float(), scale)) / 3}
        losses["aux"] = self._aux_loss(b, {"image": gi, "audio": ga, "text": gt})

        rows = torch.arange(len(idx))
        box_k = b["boxes"][rows, b["which"]]            # (B, 64): the named object's patches
        seg_k = b["segments"][rows, b["which"]]         # (B, 25)
        npi, nfa = F.normalize(pi, dim=-1), F.normalize(fa, dim=-1)
        ones = torch.ones(len(idx), dtype=torch.bool)
        token = _mass_loss(torch.softmax(10 * torch.einsum("bnd,bd->bn", npi, no), -1), box_k, ones)
        token = token + _mass_loss(torch.softmax(10 * torch.einsum("bnd,bd->bn", nfa, no), -1), seg_k, ones)
        # every word of a full caption that names an object, against that object's patches and frames
        owners = b["owners"]
        named = owners >= 0
        word_box = b["boxes"][rows[:, None], owners.clamp(min=0)]          # (B, T, 64)
        word_seg = b["segments"][rows[:, None], owners.clamp(min=0)]
        nwt = F.normalize(wt, dim=-1)
        token = token + 0.5 * _mass_loss(torch.softmax(10 * torch.einsum("btd,bnd->btn", nwt, npi), -1), word_box, named)
        token = token + 0.5 * _mass_loss(torch.softmax(10 * torch.einsum("btd,bnd->btn", nwt, nfa), -1), word_seg, named)
        losses["token"] = token

        losses["cross"] = self._cross_loss(b, si[:, 1:], sa[:, 1:], st, so, box_k, seg_k, word_box, word_seg, named,
                                           same)
        weights = {"contrastive": 1.0, "aux": 0.5, "token": 0.5, "cross": 0.5}
        total = sum(weights[k] * v for k, v in losses.items())
        for group in self.opt.param_groups:
            group["lr"] = _lr(step, self.s)
        self.opt.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.opt.step()
        return {k: float(v.detach()) for k, v in losses.items()} | {"total": float(total.detach())}

    def _aux_loss(self, b, globals_):
        import torch.nn.functional as F

        loss, count = 0.0, 0
        for name, head in self.aux.items():
            parts = name.split("_")
            out = head(globals_[parts[0]])
            if parts[1] == "echo":
                target = b["echo"]
            else:
                slot, attr = int(parts[1]), parts[2]
                target = b["attrs"][:, slot, list(AUX).index(attr)].clone()
                target[target < 0] = AUX[attr] - 1
            loss = loss + F.cross_entropy(out, target)
            count += 1
        return loss / count

    def _cross_loss(self, b, patches, frames, st, so, box_k, seg_k, word_box, word_seg, named, same):
        import torch
        import torch.nn.functional as F

        m = self.model
        pad_full, pad_obj = b["ids"] == 0, b["oids"] == 0
        shift = int(self.rng.integers(1, len(box_k)))
        loss = 0.0
        for modality, media, target_k, word_target, kind in (("image", patches, box_k, word_box, "image-text"),
                                                             ("audio", frames, seg_k, word_seg, "audio-text")):
            head = m.cross(modality)
            pos, maps = head(st, pad_full, media)
            neg, _ = head(st, pad_full, media.roll(shift, 0))
            neg_label = same[kind].roll(shift, 1).diagonal().float()   # a "negative" with the same signature matches
            itm = F.binary_cross_entropy_with_logits(torch.cat([pos, neg]),
                                                     torch.cat([torch.ones_like(pos), neg_label]))
            words = maps.mean(dim=(1, 2))                               # (B, T, N): layers and heads averaged
            attn = _mass_loss(words, word_target, named)
            _, omaps = head(so, pad_obj, media)
            attn = attn + _mass_loss(omaps.mean(dim=(1, 2)), target_k[:, None, :].expand(-1, so.shape[1], -1), ~pad_obj)
            loss = loss + itm + attn
        return loss / 2

    # ------------------------------------------------------------------ the loop
    def run(self) -> None:
        s = self.s
        order = np.array([], dtype=np.int64)
        start, running = time.perf_counter(), {}
        for step in range(s.steps):
            if self.job is not None:
                self.job.check()
            if len(order) < s.batch:
                order = np.concatenate([order, self.rng.permutation(len(self.data))])
            idx, order = order[: s.batch], order[s.batch:]
            losses = self.step(step, idx)
            running = {k: 0.9 * running.get(k, v) + 0.1 * v for k, v in losses.items()}
            if self.job is not None:
                self.job.progress(step + 1, s.steps)
            if step % 50 == 0 or step == s.steps - 1:
                elapsed = time.perf_counter() - start
                self.log(f"step {step + 1}/{s.steps}  " + "  ".join(f"{k} {v:.3f}" for k, v in running.items())
                         + f"  ({elapsed / 60:.1f} min)")
        self.train_seconds = time.perf_counter() - start

    def encoder(self):
        from mmstudio.encoders.builtin.encoder import BuiltinEncoder

        return BuiltinEncoder(self.model, self.cfg)

    def save(self, out: Path, metrics: dict) -> None:
        import torch
        from safetensors.torch import save_file

        from mmstudio.core.atomic import staged_folder

        state = {k: v.detach().to(torch.float16).contiguous() for k, v in self.model.state_dict().items()}
        minutes = {"minutes": round(self.train_seconds / 60, 1)}
        if hasattr(self, "total_seconds"):  # rendering + training + evaluation
            minutes["total_minutes"] = round(self.total_seconds / 60, 1)
        meta = {"model": self.cfg.to_dict(), "training": asdict(self.s) | minutes, "metrics": metrics}
        with staged_folder(out) as scratch:  # both files or neither
            save_file(state, scratch / "model.safetensors", metadata={"format": "pt", "mmstudio": "builtin"})
            (scratch / "config.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")


def train(out, settings: TrainSettings | None = None, log=print, job=None) -> dict:
    """Train, evaluate on held-out scenes, save to ``out``; returns the metrics."""
    settings = settings or TrainSettings()
    began = time.perf_counter()
    trainer = Trainer(settings, log=log, job=job)
    trainer.run()
    trainer.model.eval()
    encoder = trainer.encoder()
    from mmstudio.demo.evaluate import evaluate

    log("evaluating on held-out scenes")
    metrics = evaluate(encoder, n=settings.eval_scenes, seed=settings.eval_seed)
    trainer.total_seconds = time.perf_counter() - began
    trainer.save(Path(out), metrics)
    log(json.dumps(metrics, indent=1))
    return metrics
