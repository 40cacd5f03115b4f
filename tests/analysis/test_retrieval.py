"""Cross-modal retrieval: known ranks on hand-made matrices, ties, brute force, sklearn, blocks."""

import numpy as np
import pytest
from sklearn.metrics import label_ranking_average_precision_score, top_k_accuracy_score

from mmstudio.analysis.alignment import retrieval
from mmstudio.analysis.alignment.retrieval import (
    label_codes,
    label_scores,
    ranks_from_similarity,
    retrieval_from_similarity,
    retrieve,
    similarity_matrix,
)


def test_known_ranks_with_ties_counted_against_the_query():
    sim = np.array([[0.9, 0.1, 0.2],
                    [0.8, 0.5, 0.5],   # one item above the partner, one tied with it → rank 3
                    [0.3, 0.3, 0.3]])  # everything tied → last
    result = retrieval_from_similarity(sim)
    assert result.ranks.tolist() == [1, 3, 3]
    assert result.recall(1) == pytest.approx(1 / 3)
    assert result.recall(5) == 1.0
    assert result.median_rank == 3 and result.mean_rank == pytest.approx(7 / 3)
    assert result.map10 == pytest.approx((1 + 1 / 3 + 1 / 3) / 3)
    assert result.worst() == [("1", 3), ("2", 3), ("0", 1)]


def test_rank_beyond_ten_scores_nothing_in_map_and_targets_pick_the_partner():
    sim = np.tile(np.linspace(1, 0, 12), (2, 1))  # column 0 is always the most similar
    result = retrieval_from_similarity(sim, targets=[0, 11])
    assert result.ranks.tolist() == [1, 12]
    assert result.map10 == pytest.approx(0.5)
    assert result.recall(10) == 0.5


def test_a_collapsed_embedding_ranks_every_partner_last():
    q = np.tile([1.0, 0.0], (5, 1))  # dot products are exactly 1: true ties
    result = retrieve(q, q)
    assert result.ranks.tolist() == [5] * 5 and result.recall(1) == 0.0


def brute_force_rank(row, target):
    order = sorted(range(len(row)), key=lambda j: (-row[j], j == target))
    return order.index(target) + 1


def brute_force_label(row, q_label, g_labels, k=10):
    relevant = [lab is not None and lab == q_label for lab in g_labels]
    if q_label is None or not any(relevant):
        return np.nan, np.nan
    order = sorted(range(len(row)), key=lambda j: (-row[j], relevant[j]))[:k]
    hits, ap = 0, 0.0
    for i, j in enumerate(order, start=1):
        if relevant[j]:
            hits += 1
            ap += hits / i
    return float(relevant[order[0]]), ap / min(k, sum(relevant))


@pytest.mark.parametrize("topk", ["numpy", "torch"])
def test_ranks_and_label_scores_match_a_brute_force_reference_with_many_ties(topk, monkeypatch):
    monkeypatch.setattr(retrieval, "TORCH_TOPK_ELEMENTS", 0 if topk == "torch" else 1 << 40)
    rng = np.random.default_rng(1)
    sim = rng.integers(0, 6, size=(40, 40)).astype(np.float32)  # coarse values: ties everywhere
    q_labels = rng.choice(["a", "b", "c", None], size=40).astype(object)
    g_labels = rng.choice(["a", "b", "c", None], size=40).astype(object)
    ranks = ranks_from_similarity(sim)
    assert ranks.tolist() == [brute_force_rank(sim[i], i) for i in range(40)]
    hit1, ap = label_scores(sim, *label_codes(q_labels, g_labels))
    expected = np.array([brute_force_label(sim[i], q_labels[i], g_labels) for i in range(40)])
    np.testing.assert_allclose(hit1, expected[:, 0], equal_nan=True)
    np.testing.assert_allclose(ap, expected[:, 1], equal_nan=True)


def test_without_ties_recall_and_reciprocal_rank_agree_with_sklearn():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(50, 16)), rng.normal(size=(50, 16))
    result = retrieve(a, b)
    sim = similarity_matrix(a, b)
    for k in (1, 5, 10):
        assert result.recall(k) == pytest.approx(top_k_accuracy_score(np.arange(50), sim, k=k, labels=np.arange(50)))
    mrr = label_ranking_average_precision_score(np.eye(50, dtype=int), sim)
    assert np.mean(1 / result.ranks) == pytest.approx(mrr)


def test_label_level_retrieval_by_hand():
    sim = np.array([[0.9, 0.8, 0.1, 0.0],
                    [0.2, 0.1, 0.9, 0.3],
                    [0.1, 0.2, 0.3, 0.9],
                    [0.5, 0.5, 0.5, 0.5]])
    labels = np.array(["cat", "cat", "dog", None], dtype=object)
    result = retrieval_from_similarity(sim, query_labels=labels, gallery_labels=labels)
    # query 0 (cat): cat, cat first → hit, AP = (1 + 1) / 2; query 1 (cat): dog first, then (0.3 None), cat 0.2 at 3,
    # cat 0.1 at 4 → AP = (1/3 + 2/4) / 2; query 2 (dog): None, dog at 2 → miss, AP = 1/2; query 3 has no label.
    np.testing.assert_allclose(result.label_hit1, [1, 0, 0, np.nan])
    np.testing.assert_allclose(result.label_ap10, [1, (1 / 3 + 2 / 4) / 2, 1 / 2, np.nan])
    assert result.label_queries == 3
    assert result.label_r1 == pytest.approx(1 / 3)
    assert retrieval_from_similarity(sim).label_r1 is None


def test_blocks_give_the_same_answer_as_the_whole_matrix():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(103, 24)), rng.normal(size=(103, 24))
    labels = rng.choice(list("abcde"), size=103).astype(object)
    whole = retrieval_from_similarity(similarity_matrix(a, b), query_labels=labels, gallery_labels=labels)
    blocked = retrieve(a, b, query_labels=labels, gallery_labels=labels, block_elements=7 * 103, keep_similarity=0)
    assert blocked.similarity is None
    np.testing.assert_array_equal(blocked.ranks, whole.ranks)
    np.testing.assert_allclose(blocked.label_ap10, whole.label_ap10)
    for key in ("R@1", "R@5", "R@10", "median_rank", "mean_rank", "mAP@10", "label_R@1", "label_mAP@10"):
        assert blocked.summary()[key] == pytest.approx(whole.summary()[key]), key
