"""Retrieval and losses on large sets: the tiles of the compiled pass against the whole matrix (ranks, label
metrics, ties, near ties, the any-caption protocol, the losses), with tiles small enough to force many;
the sampled path's intervals against the exact values; the sample stated in ``mmstudio align``'s output."""

import json

import numpy as np
import pytest
from caption_reference import reference_ranks, tiny_table

from mmstudio.__main__ import main
from mmstudio.analysis.alignment.captions import retrieve_any
from mmstudio.analysis.alignment.chunked import scan, tile_shape
from mmstudio.analysis.alignment.losses import contrastive_losses, info_nce, triplet_loss
from mmstudio.analysis.alignment.retrieval import (
    label_codes,
    label_scores,
    normalise,
    partner_ranks,
    ranks_from_similarity,
    retrieve,
    similarity_matrix,
)
from mmstudio.analysis.alignment.scope import Scope, mean_interval, plan, sample_size, share_interval
from mmstudio.analysis.common.pairing import caption_rows, pair_rows
from mmstudio.core.tables.table import EmbeddingTable

TILES = (7 * 13, 37 * 53, 1 << 24)   # elements per tile: many tiles both ways, a few, one


def noisy_pairs(n: int, d: int, noise: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.standard_normal((n, d))
    return y + noise * rng.standard_normal((n, d)), y


@pytest.mark.parametrize("tile", TILES)
def test_chunked_ranks_and_label_metrics_equal_the_whole_matrix(tile):
    x, y = noisy_pairs(240, 16, 2.5)
    labels = np.random.default_rng(1).choice(["a", "b", "c", "d", None], size=240).astype(object)
    sim = similarity_matrix(x, y)
    hit1, ap = label_scores(sim, *label_codes(labels, labels))
    got = retrieve(x, y, query_labels=labels, gallery_labels=labels, method="chunked", block_elements=tile)
    rows, cols = tile_shape(240, 240, tile)
    assert (rows < 240 and cols < 240) or tile == TILES[-1]   # queries in blocks, the gallery in slices
    np.testing.assert_array_equal(got.ranks, ranks_from_similarity(sim))
    assert 1 < np.median(got.ranks) < 100   # neither all first nor chance: the ranks are worth comparing
    np.testing.assert_array_equal(got.label_hit1, hit1)
    np.testing.assert_allclose(got.label_ap10, ap, rtol=1e-12)
    dense = retrieve(x, y, query_labels=labels, gallery_labels=labels, method="dense", block_elements=tile)
    assert got.summary() == dense.summary() | {"scope": got.summary()["scope"]}


def test_exact_ties_count_against_the_query_in_every_tile():
    """Coarse vectors: many items score exactly the partner's cosine, in other tiles than the partner's."""
    rng = np.random.default_rng(2)
    x = rng.integers(-1, 2, size=(150, 5)).astype(np.float32)
    y = rng.integers(-1, 2, size=(150, 5)).astype(np.float32)
    x[:3], y[:3] = 0, 0   # zero vectors: every cosine 0, a tie with everything
    labels = rng.choice(["a", "b", "c"], size=150).astype(object)
    sim = similarity_matrix(x, y)
    want = partner_ranks(sim, np.arange(150), normalise(x), normalise(y))
    hit1, ap = label_scores(sim, *label_codes(labels, labels))
    for tile in TILES:
        got = retrieve(x, y, query_labels=labels, gallery_labels=labels, method="chunked", block_elements=tile)
        np.testing.assert_array_equal(got.ranks, want)
        np.testing.assert_array_equal(got.label_hit1, hit1)
        np.testing.assert_allclose(got.label_ap10, ap, rtol=1e-12)
    assert (want[:3] == 150).all()   # a zero partner ties with everything: last
    collapsed = retrieve(np.ones((50, 3)), np.ones((50, 3)), method="chunked", block_elements=40)
    assert collapsed.ranks.tolist() == [50] * 50


def test_near_ties_are_scored_again_in_float64_whatever_the_tile():
    """Twins 3e-7 apart: float32 products of different tile shapes would order them differently."""
    rng = np.random.default_rng(0)
    base = rng.normal(size=(120, 32))
    texts = np.vstack([base, base + 3e-7 * rng.normal(size=base.shape)]).astype(np.float32)
    images = np.vstack([base + 0.8 * rng.normal(size=base.shape), rng.normal(size=base.shape)]).astype(np.float32)
    want = retrieve(images, texts, method="dense").ranks
    assert (want[:120] > 1).sum() > 20
    for tile in TILES:
        np.testing.assert_array_equal(retrieve(images, texts, method="chunked", block_elements=tile).ranks, want)


@pytest.mark.parametrize("seed", range(4))
def test_the_any_caption_protocol_in_tiles_matches_a_plain_loop(seed):
    table = tiny_table(seed, n=30)
    to_text, to_image, _ = reference_ranks(table)
    pairs = pair_rows(table, "image", "text")
    captions = caption_rows(table, pairs)
    xm, xt = table.vectors[pairs.rows_a], table.vectors[captions.rows]
    own = np.arange(len(pairs))
    for tile in TILES[:2]:
        media = retrieve_any(xm, xt, own, captions.owner, method="chunked", block_elements=tile)
        text = retrieve_any(xt, xm, captions.owner, own, method="chunked", block_elements=tile)
        np.testing.assert_array_equal(media.ranks, to_text)
        np.testing.assert_array_equal(text.ranks, to_image)
        dense = retrieve_any(xm, xt, own, captions.owner, method="dense")
        np.testing.assert_array_equal(media.best, dense.best)
        assert (captions.owner[media.best] == own).all()


def test_the_losses_from_tiles_equal_the_whole_matrix():
    x, y = noisy_pairs(200, 12, 0.9, seed=3)
    y[:10] = -x[:10]   # partners farther than every negative: the semi-hard loss falls back to the farthest
    got = contrastive_losses(x, y, 0.1, 0.3, method="chunked", block_elements=19 * 23)
    assert got["info_nce"] == pytest.approx(info_nce(x, y, 0.1), rel=1e-6)
    for name, (a, b) in {"ab": (x, y), "ba": (y, x)}.items():
        for kind in ("hardest", "semihard"):
            assert got[f"triplet_{kind}_{name}"] == pytest.approx(triplet_loss(a, b, 0.3, kind), rel=1e-6, abs=1e-9)
    assert got["scope"]["method"] == "exact" and "intervals" not in got


def test_the_sampled_intervals_cover_the_exact_values():
    """Sampled retrieval is each sampled query's exact rank, with 95 % intervals: over 40 seeds each
    interval covers the value over all queries about 95 % of the time (a wrong width would not). (With
    150 queries the skewed mean rank's normal interval covered only 87 % of 200 seeds: samples are
    2,000 queries or more by default.)"""
    x, y = noisy_pairs(3000, 16, 1.2, seed=4)
    labels = np.random.default_rng(5).choice(list("abcdefgh"), size=3000).astype(object)
    exact = retrieve(x, y, query_labels=labels, gallery_labels=labels)
    truth = exact.summary()
    assert 0.1 < truth["R@1"] < 0.9
    covered, widths = {}, []
    for seed in range(40):
        scope = plan(3000, 3000, 16, queries=500, seed=seed)
        sample = retrieve(x, y, query_labels=labels, gallery_labels=labels, scope=scope)
        np.testing.assert_array_equal(sample.ranks, exact.ranks[scope.rows])   # exact ranks of the sampled queries
        for metric, (low, high) in sample.summary()["intervals"].items():
            covered[metric] = covered.get(metric, 0) + int(low <= truth[metric] <= high)
        widths.append(sample.summary()["intervals"]["R@1"][1] - sample.summary()["intervals"]["R@1"][0])
    assert set(covered) == {"R@1", "R@5", "R@10", "median_rank", "mean_rank", "mAP@10", "label_R@1", "label_mAP@10"}
    assert all(count >= 34 for count in covered.values()), covered
    # not wide for safety's sake: about 2 · 1.96 · √(p(1 − p)/m · (N − m)/(N − 1))
    p = truth["R@1"]
    assert np.mean(widths) == pytest.approx(2 * 1.96 * np.sqrt(p * (1 - p) / 500 * 2500 / 2999), rel=0.15)


def test_the_intervals_are_wilsons_and_the_normal_one_with_the_finite_population_correction():
    from scipy.stats import binomtest, norm

    hits = np.r_[np.ones(17), np.zeros(34)]   # 17 of 51 sampled queries
    wilson = binomtest(17, 51).proportion_ci(method="wilson")
    assert share_interval(hits, 10**12) == pytest.approx((wilson.low, wilson.high), abs=1e-9)
    # 51 of 101 queries: f = (101 − 51)/(101 − 1) = ½, so the sample counts as 102 queries, 34 hits
    wilson = binomtest(34, 102).proportion_ci(method="wilson")
    assert share_interval(hits, 101) == pytest.approx((wilson.low, wilson.high), abs=1e-12)
    assert share_interval(hits, 51) == (17 / 51, 17 / 51)   # every query: the value itself
    values = np.random.default_rng(0).exponential(size=40)
    half = norm.ppf(0.975) * values.std(ddof=1) / np.sqrt(40) * np.sqrt(60 / 99)
    assert mean_interval(values, 100) == pytest.approx((values.mean() - half, values.mean() + half), rel=1e-12)


def test_the_rule_scores_every_query_up_to_a_size_then_a_sample_of_the_same_work():
    assert plan(20_000, 20_000, 128).sampled is False
    big = plan(1_000_000, 1_000_000, 128)
    assert big.sampled and big.scored == sample_size(1_000_000, 1_000_000, 128) < 1_000_000
    assert big.sentence() == f"a random sample of {big.scored:,} of 1,000,000 queries (seed 0), 95 % intervals"
    np.testing.assert_array_equal(big.rows, plan(1_000_000, 1_000_000, 128).rows)   # seeded: the same queries
    assert Scope(5000).sentence(1024) == "exact, all 5,000 queries, in blocks of 1,024"
    assert scan(np.eye(3), np.eye(3), np.arange(3), np.arange(3)).ranks.tolist() == [1, 1, 1]


def test_the_sample_is_stated_in_the_text_and_the_json_of_mmstudio_align(tmp_path, capsys):
    x, y = noisy_pairs(9, 8, 1.0, seed=6)   # 9 pairs: too few to fit maps, which would take seconds
    n = len(x)
    table = EmbeddingTable(np.array([f"s{i}" for i in range(n)] * 2, object), np.array(["image"] * n + ["text"] * n, object),
                           np.array([""] * 2 * n, object), np.array([f"c{i % 3}" for i in range(n)] * 2, object),
                           np.vstack([x, y]).astype(np.float32))
    path = tmp_path / "t.parquet"
    table.write(path)
    assert main(["align", str(path), "--queries", "5", "--seed", "3"]) == 0
    text = capsys.readouterr().out
    assert text.count("scored on: a random sample of 5 of 9 queries (seed 3), 95 % intervals") == 2
    assert "losses on: a random sample of 5 of 9 pairs (seed 3)" in text
    assert "worst aligned of the sampled queries image → text" in text
    assert main(["align", str(path), "--queries", "5", "--seed", "3", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    for direction in report["pairs"][0]["retrieval"]:
        assert direction["n"] == direction["scope"]["scored"] == 5 and direction["scope"]["total"] == 9
        low, high = direction["intervals"]["R@1"]
        assert low <= direction["R@1"] <= high
    assert report["pairs"][0]["losses"]["scope"]["scored"] == 5
    assert main(["align", str(path)]) == 0
    assert capsys.readouterr().out.count("scored on: exact, all 9 queries") == 2


def test_the_heat_map_of_a_large_pair_is_a_stated_random_sample_of_its_pairs():
    from mmstudio.analysis.alignment.pair_views import alignment_views

    x, y = noisy_pairs(9, 8, 1.0, seed=7)
    table = EmbeddingTable(np.array([f"s{i}" for i in range(9)] * 2, object), np.array(["image"] * 9 + ["text"] * 9, object),
                           np.array([""] * 18, object), np.array([None] * 18, object), np.vstack([x, y]).astype(np.float32))
    data = alignment_views(table, heatmap_limit=4, seed=2)["pairs"][("image", "text")]
    np.testing.assert_array_equal(data.shown, np.sort(np.random.default_rng(2).choice(9, 4, replace=False)))
    np.testing.assert_allclose(data.similarity, similarity_matrix(x[data.shown], y[data.shown]), rtol=1e-6)
    assert data.shown_note == "4 of 9 pairs, random, seed 2"
    assert alignment_views(table)["pairs"][("image", "text")].shown_note == ""
