"""Token-level cross-attention fusion on a world whose class lives in one audio frame only: padding
gets no weight, the forward pass is scaled dot-product attention (a plain numpy loop checks it),
the weights move across samples and frames, and `mmstudio fuse --json` reports their entropy."""

import json
from dataclasses import replace

import numpy as np
import pytest
from scipy.stats import entropy as scipy_entropy
from token_world import CLASSES, DIM, FRAMES, PATCHES, N, token_world

from mmstudio.__main__ import main
from mmstudio.analysis.fusion import attention
from mmstudio.analysis.fusion.data import fusion_data
from mmstudio.analysis.fusion.lab import FusionLab, Knobs
from mmstudio.analysis.fusion.tokens import fill_tokens
from mmstudio.core.tables.table import EmbeddingTable


@pytest.fixture(scope="module")
def world():
    return token_world()


@pytest.fixture(scope="module")
def lab(world):
    return FusionLab.fit(world[0], "label", methods="cross-attention,late-logit", seed=0, dropout=0.5)


def test_fusion_data_pads_each_modality_to_its_longest_item(world):
    table, _ = world
    data = fusion_data(table, "label")
    tok = data.tokens
    assert tok.level == ("tokens", "tokens") and tok.x.shape == (N, 1 + PATCHES + 1 + FRAMES[1], DIM)
    counts = np.array([len(table.tokens[r].vectors) for r in table.rows("audio")])
    audio = tok.block(1)
    np.testing.assert_array_equal(tok.mask[:, audio].sum(axis=1), 1 + counts)   # the embedding, then the frames
    assert (tok.x[~tok.mask] == 0).all() and tok.names[audio][:2] == ("audio embedding", "audio frame at 0.05 s")
    np.testing.assert_allclose(tok.x[:, audio.start], table.vectors[table.rows("audio")])


def test_token_level_attention_reads_the_frame_the_vectors_lack(lab, world):
    """The class is in one frame: token-level cross-attention finds it where every other method is at
    chance, and the weight goes to that frame (against the uniform weight over each clip's keys)."""
    scores = lab.score()
    chance = 1 / CLASSES
    assert lab.info()["attention"] == "tokens" and lab.why_pooled == ""
    assert scores.methods["cross-attention"].accuracy > 0.9
    assert scores.methods["late-logit"].accuracy < chance + 0.15
    head = lab.early["cross-attention"]
    test = lab.split.test
    x, mask = fill_tokens(lab.tokens.take(test), lab.data.vectors[test], lab.data.present[test])
    _, weights = head.forward(x, mask)
    per_key = weights.mean(axis=1).sum(axis=1) / mask[:, head.query_slots].sum(axis=1)[:, None]  # (n, keys)
    telling = 1 + world[1][test]            # keys: the audio embedding, then its frames
    on_frame = per_key[np.arange(len(test)), telling]
    uniform = 1 / mask[:, head.key_slots].sum(axis=1)
    assert np.mean(on_frame / uniform) > 3


def test_padded_keys_get_zero_weight_and_more_padding_changes_nothing(lab):
    head = lab.early["cross-attention"]
    x, mask = fill_tokens(lab.tokens, lab.data.vectors, lab.data.present)
    logits, weights = head.forward(x, mask)
    keys, queries = mask[:, head.key_slots], mask[:, head.query_slots]
    assert (~keys).any()
    assert (weights[np.broadcast_to(~keys[:, None, None, :], weights.shape)] == 0).all()
    np.testing.assert_allclose(weights.sum(axis=3)[np.broadcast_to(queries[:, None], weights.shape[:3])], 1,
                               atol=1e-5)
    # one more padded patch and three more padded frames, holding garbage: nothing moves
    image, audio = lab.tokens.block(0), lab.tokens.block(1)
    garbage = 100 * np.random.default_rng(1).standard_normal((len(x), 4, DIM)).astype(np.float32)
    wide_x = np.concatenate([x[:, image], garbage[:, :1], x[:, audio], garbage[:, 1:]], axis=1)
    off = np.zeros((len(x), 1), bool)
    wide_mask = np.concatenate([mask[:, image], off, mask[:, audio], off, off, off], axis=1)
    wide = replace(head, owner=np.r_[np.zeros(image.stop + 1, np.int64), np.ones(audio.stop - audio.start + 3, np.int64)])
    wide_logits, wide_weights = wide.forward(wide_x, wide_mask)
    np.testing.assert_allclose(wide_logits, logits, atol=1e-6, rtol=0)
    nq, nk = len(head.query_slots), len(head.key_slots)
    np.testing.assert_allclose(wide_weights[:, :, :nq, :nk], weights, atol=1e-6, rtol=0)
    assert (wide_weights[:, :, :, nk:] == 0).all() and (wide_weights[:, :, nq:] == 0).all()


def reference_forward(head, x, mask):
    """Scaled dot-product attention written out sample by sample, head by head, over the real keys
    only; the output is the query embedding's slot beside the mean of the query's token slots."""
    out = []
    qs, ks = np.flatnonzero(head.owner == head.query), np.flatnonzero(head.owner != head.query)
    for xi, mi in zip(x, mask):
        t = xi @ head.W_in + head.E[head.owner]
        q_rows = [s for s in qs if mi[s]]
        k_rows = [s for s in ks if mi[s]]
        width = t.shape[1]
        d = width // head.heads
        gathered = np.zeros((len(q_rows), width))
        for h in range(head.heads):
            cols = slice(h * d, (h + 1) * d)
            q = (t[q_rows] @ head.Wq)[:, cols]
            k = (t[k_rows] @ head.Wk)[:, cols]
            v = (t[k_rows] @ head.Wv)[:, cols]
            s = q @ k.T / np.sqrt(d)
            a = np.exp(s - s.max(axis=1, keepdims=True))
            gathered[:, cols] = (a / a.sum(axis=1, keepdims=True)) @ v
        u = t[q_rows] + gathered
        rest = u[1:].mean(axis=0) if len(u) > 1 else np.zeros(width)
        out.append(np.maximum(np.r_[u[0], rest], 0) @ head.W_out + head.b_out)
    return np.array(out)


def test_forward_is_scaled_dot_product_attention(lab):
    """The numpy head against a plain re-implementation, and the torch form it was trained in
    against the numpy head (the weights it exported)."""
    import torch

    head = lab.early["cross-attention"]
    x, mask = fill_tokens(lab.tokens.take(np.arange(12)), lab.data.vectors[:12], lab.data.present[:12])
    mask[3, lab.tokens.block(0).start + 1:lab.tokens.block(0).stop] = False   # a sample whose image lost its patches
    logits, _ = head.forward(x, mask)
    np.testing.assert_allclose(logits, reference_forward(head, x.astype(np.float64), mask), atol=1e-4)
    stacked = attention.StackedTokenAttention(1, 2, DIM, head.W_in.shape[1], CLASSES, head.query, head.owner,
                                              torch.Generator().manual_seed(0), heads=head.heads)
    values = [head.W_in, head.E[None], head.Wq, head.Wk, head.Wv, head.W_out, head.b_out[None]]
    with torch.no_grad():
        for param, value in zip(stacked.params, values):
            param.copy_(torch.from_numpy(np.asarray(value))[None])
        torch_logits = stacked(torch.from_numpy(x)[None], torch.from_numpy(mask)[None])[0].numpy()
    np.testing.assert_allclose(torch_logits, logits, atol=1e-4)


def test_weights_vary_across_samples_and_frames_and_their_entropy_is_in_bits(lab):
    scores = lab.score()
    extra = scores.methods["cross-attention"].extra
    assert extra["level"] == "tokens" and extra["query"] == "image" and extra["heads"] == attention.HEADS
    uniform = extra["uniform_weight"]   # 1 / keys, averaged over the test samples
    assert extra["spread_across_samples"] > 0.2 * uniform
    assert extra["spread_across_keys"] > 0.2 * uniform
    # the entropy against scipy's, from the weights themselves
    head = lab.early["cross-attention"]
    test = lab.split.test
    x, mask = fill_tokens(lab.tokens.take(test), lab.data.vectors[test], lab.data.present[test])
    _, weights = head.forward(x, mask)
    rows = mask[:, head.query_slots]
    per_sample = [np.mean([scipy_entropy(weights[i, h, q], base=2) for h in range(head.heads)
                           for q in np.flatnonzero(rows[i])]) for i in range(len(test))]
    assert extra["attention_entropy_bits"] == pytest.approx(np.mean(per_sample), abs=1e-5)
    assert extra["attention_entropy_bits_std"] == pytest.approx(np.std(per_sample), abs=1e-5)
    keys = mask[:, head.key_slots].sum(axis=1)
    assert extra["uniform_bits"] == pytest.approx(np.mean(np.log2(keys)))
    assert 0 < extra["attention_entropy_bits"] < extra["uniform_bits"] - 0.3
    assert extra["keys_min"] == 1 + FRAMES[0] and extra["keys_max"] == 1 + FRAMES[1]
    assert extra["top_keys"][0][0].startswith("audio") and extra["attention"] == {"audio": pytest.approx(1.0)}


def test_training_is_seeded(world):
    small = world[0].take(np.flatnonzero(np.isin(world[0].sample_id, world[0].sample_id[:150])))
    one, two = (FusionLab.fit(small, "label", methods="cross-attention", seed=3, dropout=0).early["cross-attention"]
                for _ in range(2))
    for name in ("W_in", "E", "Wq", "Wk", "Wv", "W_out", "b_out"):
        np.testing.assert_array_equal(getattr(one, name), getattr(two, name))


def test_knobs_rescore_the_token_head_without_training(lab):
    fits = lab.fits
    clean = lab.score().methods["cross-attention"].accuracy
    no_audio = lab.score(Knobs(missing={"audio": 1.0})).methods["cross-attention"]
    assert no_audio.accuracy < 1 / CLASSES + 0.15 and no_audio.extra["keys_max"] == 1   # the audio embedding alone
    assert lab.score(Knobs(mismatch={"audio": 1.0})).methods["cross-attention"].accuracy < 1 / CLASSES + 0.15
    noisy = [lab.score(Knobs(noise={"audio": s})).methods["cross-attention"].accuracy for s in (0.5, 3.0)]
    assert clean >= noisy[0] > noisy[1]
    dropout = lab.score(Knobs(missing={"image": 1.0}, impute="dropout")).methods["cross-attention"].accuracy
    assert dropout > 0.8            # the head trained with modality dropout does without the image
    assert lab.fits == fits


def test_fuse_json_carries_the_entropy_and_the_report_says_why_token_level_was_not_used(world, capsys, tmp_path):
    from mmstudio.cli.fuse import format_report

    table, _ = world
    path, plain = tmp_path / "tokens.parquet", tmp_path / "plain.parquet"
    table.write(path)
    bare = EmbeddingTable(table.sample_id, table.modality, table.path, table.label, table.vectors, model="synthetic")
    bare.write(plain)
    args = ["--label", "label", "--methods", "cross-attention", "--dropout", "0"]
    assert main(["fuse", str(path), *args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    extra = report["scores"]["methods"]["cross-attention"]["extra"]
    assert report["lab"]["attention"] == "tokens" and extra["level"] == "tokens"
    assert 0 < extra["attention_entropy_bits"] < extra["uniform_bits"] and extra["attention_entropy_bits_std"] > 0
    assert report["scores"]["methods"]["cross-attention"]["accuracy"] > 0.9
    text = format_report(report)      # what `mmstudio fuse` prints without --json
    assert "cross-attention, token level: image" in text and "by construction" not in text
    assert f"attention entropy {extra['attention_entropy_bits']:.2f} ± " in text
    assert f"(uniform weights over the keys: {extra['uniform_bits']:.2f} bits)" in text
    for file, why in ((path, "pooled attention was asked for"),
                      (plain, "the table carries no token features (embed it with `mmstudio embed --tokens`)")):
        assert main(["fuse", str(file), *args] + (["--attention", "pooled"] if file == path else [])) == 0
        out = capsys.readouterr().out
        assert "its weight is 1 by construction" in out and f"token level not used: {why}" in out
