"""`mmstudio.train_aligner`: the head, the samples it trained on and those it held out, and the table
with the head applied. Held-out R@1 is recomputed here with a plain argmax over cosine similarities."""

import numpy as np
import pytest

import mmstudio
from tests.analysis.test_align_cli import make_table


@pytest.fixture(scope="module")
def trained():
    table = make_table(40)
    return table, mmstudio.train_aligner(table, "image", "text", steps=60, test_fraction=0.5, seed=3, progress=False)


def r1(table, source="image", target="text") -> float:
    """Paired source → target R@1 by argmax of cosine similarity, samples in sorted order."""
    def rows(modality):
        ids = table.sample_id[table.modality == modality]
        return dict(zip(ids.tolist(), table.vectors[table.modality == modality]))

    a, b = rows(source), rows(target)
    ids = sorted(set(a) & set(b))
    x = np.stack([a[i] for i in ids]).astype(np.float64)
    y = np.stack([b[i] for i in ids]).astype(np.float64)
    sim = (x / np.linalg.norm(x, axis=1, keepdims=True)) @ (y / np.linalg.norm(y, axis=1, keepdims=True)).T
    return float(np.mean(sim.argmax(axis=1) == np.arange(len(ids))))


def test_the_held_out_samples_are_those_the_head_was_scored_on(trained):
    table, aligner = trained
    paired = sorted(set(table.sample_id[table.modality == "image"]) & set(table.sample_id[table.modality == "text"]))
    train, held = set(aligner.train_ids.tolist()), set(aligner.heldout_ids.tolist())
    assert not train & held and sorted(train | held) == paired and len(held) == round(len(paired) * 0.5)
    before, after = aligner.held_out(table), aligner.held_out(aligner.apply(table))
    assert set(before.sample_id.tolist()) == held and len(before) == len(after) == 3 * len(held) - ("s00" in held)
    # train_aligner scored its held-out pairs itself: the same R@1 on the rows held_out() gives
    assert r1(after) == pytest.approx(aligner.history.final_r1)
    assert r1(before) == pytest.approx(aligner.history.identity_r1)
    assert f"held-out R@1 image → text {aligner.history.final_r1:.3f} on {len(held)} samples" in str(aligner)


def test_apply_maps_the_source_rows_only(trained):
    table, aligner = trained
    after = aligner.apply(table)
    image = table.modality == "image"
    np.testing.assert_array_equal(after.vectors[~image], table.vectors[~image])
    np.testing.assert_allclose(after.vectors[image], aligner.history.project(table.vectors[image]), atol=1e-6)
    assert not np.allclose(after.vectors[image], table.vectors[image])
    np.testing.assert_allclose(np.linalg.norm(after.vectors, axis=1), 1, atol=1e-5)
    assert after.model == "test-model + aligner (image → text)" and after.sample_id.tolist() == table.sample_id.tolist()


@pytest.mark.parametrize("kwargs, error, message", [
    ({"source": "video"}, ValueError, "source='video': the table has no such rows \\(it has image, audio, text\\)"),
    ({"target": "image"}, ValueError, "source and target are both 'image'"),
    ({"steps": 0}, ValueError, "steps=0: 0 is too small"),
    ({"test_fraction": 1}, ValueError, "test_fraction=1: 1 is out of range"),
    ({"head": "deep"}, ValueError, "head='deep': choose one of 'linear', 'mlp'"),
    ({"lr": -1}, ValueError, "lr=-1: -1 is out of range"),
    ({"negatives": "easy"}, ValueError, "negatives='easy': choose one of"),
    ({"learning_rate": 0.1}, TypeError, "unknown option 'learning_rate'; the options are batch_size, lr"),
])
def test_a_wrong_argument_is_one_clear_exception(kwargs, error, message):
    with pytest.raises(error, match=message):
        mmstudio.train_aligner(make_table(12), **kwargs, progress=False)


def test_too_few_pairs_and_another_width_are_refused(trained):
    with pytest.raises(ValueError, match="the table: image → text: 3 pairs are too few"):
        mmstudio.train_aligner(make_table(4), progress=False)
    table, aligner = trained
    narrow = table.take(np.arange(len(table)))
    narrow.vectors = narrow.vectors[:, :6].copy()
    with pytest.raises(ValueError, match="the aligner was trained on 12-d vectors; this table's are 6-d"):
        aligner.apply(narrow)
