"""The modality gap (Liang et al. 2022) and the shift experiment."""

import numpy as np
import pytest

from mmstudio.analysis.alignment.gap import gap_shift, modality_gap, shift_pair
from mmstudio.analysis.alignment.retrieval import normalise, retrieve


def offset_pair(n=200, d=16, offset=0.6, noise=0.15, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, d))
    direction = np.zeros(d)
    direction[0] = 1
    a = normalise(base + noise * rng.normal(size=(n, d)) + offset * np.sqrt(d) * direction)
    b = normalise(base + noise * rng.normal(size=(n, d)) - offset * np.sqrt(d) * direction)
    return a, b


def test_gap_is_the_distance_between_the_centroids_of_normalised_embeddings():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(30, 5)) * 3, rng.normal(size=(40, 5)) + 1
    na = a / np.linalg.norm(a, axis=1, keepdims=True)
    nb = b / np.linalg.norm(b, axis=1, keepdims=True)
    distance, vector = modality_gap(a, b)
    np.testing.assert_allclose(vector, na.mean(0) - nb.mean(0), atol=1e-6)
    assert distance == pytest.approx(np.linalg.norm(na.mean(0) - nb.mean(0)), abs=1e-6)


def test_shift_follows_the_papers_formula():
    a, b = offset_pair(n=20)
    _, vector = modality_gap(a, b)
    g = vector / np.linalg.norm(vector)
    a2, b2 = shift_pair(a, b, 0.3, g)
    want_a = (a - 0.15 * g) / np.linalg.norm(a - 0.15 * g, axis=1, keepdims=True)
    want_b = (b + 0.15 * g) / np.linalg.norm(b + 0.15 * g, axis=1, keepdims=True)
    np.testing.assert_allclose(a2, want_a, atol=1e-6)
    np.testing.assert_allclose(b2, want_b, atol=1e-6)


def test_delta_zero_reproduces_the_base_retrieval_and_closing_the_gap_helps():
    a, b = offset_pair()
    shift = gap_shift(a, b)
    zero = int(np.flatnonzero(shift.deltas == 0)[0])
    ab, ba = retrieve(a, b), retrieve(b, a)
    assert shift.r1_ab[zero] == ab.recall(1) and shift.r1_ba[zero] == ba.recall(1)
    assert shift.mean_rank_ab[zero] == ab.mean_rank and shift.mean_rank_ba[zero] == ba.mean_rank
    assert shift.gap_after[zero] == pytest.approx(shift.gap)
    closed = int(np.argmin(np.abs(shift.deltas - shift.gap)))  # δ = ‖Δ‖: centroids meet before renormalising
    assert shift.gap_after[closed] < 0.1 * shift.gap
    assert shift.gap_after[0] > shift.gap  # δ < 0 widens it
    assert shift.r1_ab[closed] > shift.r1_ab[zero] and shift.r1_ba[closed] > shift.r1_ba[zero]
    assert len(shift.deltas) == len(shift.r1_ab) == len(shift.gap_after) == 31


def test_large_sets_are_subsampled_for_the_shift_but_the_gap_uses_all():
    a, b = offset_pair(n=300)
    shift = gap_shift(a, b, deltas=[0.0, 0.5], max_pairs=100)
    assert shift.n == 100 and shift.gap == pytest.approx(modality_gap(a, b)[0])
    assert shift.deltas.tolist() == [0.0, 0.5]
