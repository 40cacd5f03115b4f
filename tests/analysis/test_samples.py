"""The fusion lab and the principles above a size: trained on a stated, seeded sample, scored on every
held-out row (in batches that change nothing), and the sample said in the result and the command line."""

import numpy as np
import pytest

from mmstudio.__main__ import main
from mmstudio.analysis.fusion import lab as lab_module
from mmstudio.analysis.fusion.data import FusionData, sample_train, split_samples
from mmstudio.analysis.fusion.lab import FusionLab
from mmstudio.analysis.principles.registry import run_principle, sample_table
from mmstudio.core.tables.table import EmbeddingTable

METHODS = ("early-linear", "early-mlp", "late-logit", "cross-attention")


def fusion_world(n: int = 3000, d: int = 12, seed: int = 0) -> FusionData:
    rng = np.random.default_rng(seed)
    y = rng.choice(4, size=n, p=[0.4, 0.3, 0.2, 0.1])
    centres = rng.normal(size=(4, 2, d)).astype(np.float32)
    x = centres[y] + 2.0 * rng.standard_normal((n, 2, d), np.float32)
    return FusionData(("image", "text"), ("a", "b", "c", "d"), np.array([f"s{i}" for i in range(n)], object), y, x,
                      np.ones((n, 2), bool))


def test_the_training_sample_keeps_each_class_share_and_the_held_out_splits_whole():
    data = fusion_world()
    whole = split_samples(data.y, 0)
    cut = sample_train(whole, data.y, 500, 0)
    assert len(cut.train) == 500 and cut.train_of == len(whole.train) and set(cut.train) <= set(whole.train)
    np.testing.assert_array_equal(cut.test, whole.test)
    np.testing.assert_array_equal(cut.val, whole.val)
    share = np.bincount(data.y[cut.train], minlength=4) / 500
    np.testing.assert_allclose(share, np.bincount(data.y[whole.train], minlength=4) / len(whole.train), atol=0.003)
    np.testing.assert_array_equal(cut.train, sample_train(whole, data.y, 500, 0).train)   # seeded
    assert sample_train(whole, data.y, 10**6, 0) is whole
    assert cut.sentence() == (f"trained on a random 500 of {len(whole.train):,} training samples (stratified, "
                              f"seed 0); scored on all {len(whole.test):,} test samples, in batches")


def test_the_lab_trains_on_the_sample_and_scores_every_test_row_in_batches_that_change_nothing(monkeypatch):
    data = fusion_world()
    lab = FusionLab.fit(data, methods=METHODS, seed=0, dropout=0, train_limit=400)
    assert len(lab.split.train) == 400 and lab.info()["split"]["train_of"] == len(split_samples(data.y, 0).train)
    assert lab.info()["split"]["scope"] == lab.split.sentence()
    whole = lab.score()
    assert whole.n_test == len(lab.split.test) == len(split_samples(data.y, 0).test)
    monkeypatch.setattr(lab_module, "SCORE_BATCH", 37)   # many batches of held-out rows
    lab._clean = None
    batched = lab.score()
    for name in whole.log_prob:
        np.testing.assert_allclose(batched.log_prob[name], whole.log_prob[name], rtol=1e-6, atol=1e-9)
    assert_close(batched.methods["cross-attention"].extra, whole.methods["cross-attention"].extra)


def assert_close(got, want):
    """Nested dicts and lists equal, their numbers to 1e-6."""
    if isinstance(want, dict):
        assert set(got) == set(want)
        for key in want:
            assert_close(got[key], want[key])
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert_close(g, w)
    elif isinstance(want, float):
        assert got == pytest.approx(want, rel=1e-6, abs=1e-9)
    else:
        assert got == want


def test_mmstudio_fuse_says_what_it_trained_on(tmp_path, capsys):
    data = fusion_world(600)
    n = len(data)
    table = EmbeddingTable(np.concatenate([data.sample_ids] * 2), np.array(["image"] * n + ["text"] * n, object),
                           np.array([""] * 2 * n, object), np.concatenate([np.array(data.classes, object)[data.y]] * 2),
                           np.concatenate([data.vectors[:, 0], data.vectors[:, 1]]))
    path = tmp_path / "t.parquet"
    table.write(path)
    assert main(["fuse", str(path), "--label", "label", "--methods", "late", "--train-limit", "100"]) == 0
    out = capsys.readouterr().out
    assert "trained on a random 100 of " in out and "(stratified, seed 0); scored on all " in out
    assert main(["fuse", str(path), "--label", "label", "--methods", "late"]) == 0
    assert "trained on all " in capsys.readouterr().out


def test_a_principle_learns_from_a_stated_sample_of_a_large_table(demo_world_folder):
    from mmstudio.analysis.principles.redundancy import redundancy
    from mmstudio.demo.table import demo_table

    demo = demo_table(n=400, seed=7, folder=demo_world_folder)
    part, note = sample_table(demo, 250, 3)
    assert note == "a random 250 of 400 samples (seed 3)" and len(set(part.sample_id.tolist())) == 250
    chosen = set(part.sample_id.tolist())
    assert len(part) == sum(sid in chosen for sid in demo.sample_id.tolist())   # every row of a chosen sample
    result = run_principle("redundancy", demo, sample_limit=250, seed=3, seeds=1, steps=20)
    assert result.sample_note == note and result.to_dict()["sample"] == note
    assert result.to_dict()["both"] == redundancy(part, seed=3, seeds=1, steps=20).to_dict()["both"]
    assert sample_table(demo, 400, 3) == (demo, "")   # up to the limit: the table itself, nothing to say


def test_mmstudio_principles_says_which_samples_it_learned_from(demo_world_file, monkeypatch, capsys):
    from mmstudio.analysis.principles import registry

    monkeypatch.setattr(registry, "SAMPLE_LIMIT", 300)   # the 400-scene demo table counts as large here
    assert main(["principles", "redundancy", "--table", str(demo_world_file), "--seeds", "1", "--seed", "2"]) == 0
    assert "data: a random 300 of 400 samples (seed 2) of the table" in capsys.readouterr().out
