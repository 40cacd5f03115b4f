"""The retrieval browser's numbers: every query's partner rank is the one `mmstudio align` counts, the
top-k lists are the full ranking's first k (ties against the query), blocks change nothing."""

import json

import numpy as np
import pytest
from sklearn.metrics.pairwise import cosine_similarity

from mmstudio.__main__ import main
from mmstudio.analysis.alignment.browse import browse_row, browse_vector, ordered_top, sample_rows
from mmstudio.analysis.alignment.report import pair_rows
from mmstudio.analysis.alignment.retrieval import normalise, retrieve
from mmstudio.core.tables.table import EmbeddingTable


def awkward_table(n=60, seed=3) -> EmbeddingTable:
    """Image, audio and text rows around shared points, noisy enough that partners rank anywhere, with
    the cases that make galleries differ: a sample without a caption, one with two images, captions
    that are exact copies of each other (true ties), and a caption of no sample's image."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, 8))
    ids, mods, vecs = [], [], []
    for m, noise in (("image", 1.0), ("audio", 1.4), ("text", 1.2)):
        for i in range(n):
            if m == "text" and i == 0:
                continue
            ids.append(f"s{i:02d}")
            mods.append(m)
            vecs.append(base[i] + noise * rng.normal(size=8))
    vecs = np.array(vecs)
    text = [j for j, m in enumerate(mods) if m == "text"]
    vecs[text[5]] = vecs[text[4]]                      # two identical captions
    vecs[text[7]] = vecs[text[4]]
    ids += ["s03", "lonely"]                             # s03 has a second image; "lonely" is a caption alone
    mods += ["image", "text"]
    vecs = np.vstack([vecs, base[3] + rng.normal(size=8), rng.normal(size=8)])
    n_rows = len(ids)
    return EmbeddingTable(np.array(ids, object), np.array(mods, object), np.array([""] * n_rows, object),
                          np.array([["cat", "dog"][i % 2] for i in range(n_rows)], object),
                          normalise(vecs), model="test")


def reference(queries, gallery):
    """scikit-learn's cosine (float64), to 7 decimals: exact copies tie, nothing else comes that close here."""
    return np.round(cosine_similarity(np.asarray(queries, np.float64), np.asarray(gallery, np.float64)), 7)


def reference_order(scores, partner=None):
    """The full ranking, by brute force: higher first, the partner after the items it ties with, then index."""
    keys = [(-float(s), i == partner, i) for i, s in enumerate(scores)]
    return [i for _, _, i in sorted(keys)]


@pytest.mark.parametrize("a,b", [("image", "text"), ("text", "image"), ("audio", "text"), ("image", "audio")])
def test_every_queries_partner_rank_is_aligns_and_lists_are_the_full_ranking(a, b):
    table = awkward_table()
    pairs = pair_rows(table, a, b)
    expected = retrieve(table.vectors[pairs.rows_a], table.vectors[pairs.rows_b]).ranks
    sim = reference(table.vectors[pairs.rows_a], table.vectors[pairs.rows_b])
    got = []
    for i, row in enumerate(pairs.rows_a):
        hits = browse_row(table, row, k=7).hits[b]
        assert hits.partner == pairs.rows_b[i] and hits.size == len(pairs)
        got.append(hits.partner_rank)
        order = reference_order(sim[i], i)
        assert hits.rows.tolist() == pairs.rows_b[order[:7]].tolist()
        np.testing.assert_allclose(hits.scores, sim[i][order[:7]], rtol=0, atol=2e-7)
        if hits.partner_rank <= 7:  # the partner sits at its rank in the list
            assert hits.rows[hits.partner_rank - 1] == hits.partner
        else:
            assert hits.partner not in hits.rows
    assert got == expected.tolist()
    assert len(set(got)) > 5  # the table really spreads the ranks


def test_tied_captions_rank_ahead_of_the_partner():
    table = awkward_table()
    text = table.rows("text")
    partner, twins = text[5], (text[4], text[7])   # s06's caption is a copy of s05's and s08's
    image = sample_rows(table, "s06")["image"]
    hits = browse_row(table, image, k=60).hits["text"]
    place = hits.rows.tolist().index(partner)
    assert set(hits.rows[place - 2:place].tolist()) == set(twins)
    assert hits.partner_rank == place + 1


def test_galleries_without_a_partner_are_every_row_of_the_modality():
    table = awkward_table()
    lonely = int(np.flatnonzero(table.sample_id == "lonely")[0])
    result = browse_row(table, lonely, k=5)
    assert set(result.hits) == {"image", "audio"}
    for hits in result.hits.values():
        assert hits.partner is None and hits.partner_rank is None and hits.size == hits.total
    no_caption = sample_rows(table, "s00")["image"]
    hits = browse_row(table, no_caption).hits["text"]
    assert hits.partner is None and hits.size == len(table.rows("text"))
    # a paired query's gallery leaves out the caption of no image, and says so
    hits = browse_row(table, sample_rows(table, "s01")["image"]).hits["text"]
    assert hits.size == hits.total - 1 and hits.paired_with == "image"
    # a sample's second image is ranked in the same gallery, by the same rule
    second = int(np.flatnonzero((table.sample_id == "s03") & (table.modality == "image"))[1])
    hits = browse_row(table, second).hits["text"]
    sim = reference(table.vectors[[second]], table.vectors[hits.gallery])[0]
    where = hits.gallery.tolist().index(hits.partner)
    assert hits.partner_rank == reference_order(sim, where).index(where) + 1


def test_a_query_alone_ranks_as_it_does_among_all_even_against_near_twins():
    """float32 products round differently by block shape and BLAS routine (by ~1e-7): with captions that
    have a twin 3e-7 away, plain float32 ranks moved between one query per block and all at once (in 138
    of 400 queries when this was written); near ties are re-scored in float64 on both sides, and the
    browser's ranks, one query at a time, are align's at every block size."""
    rng = np.random.default_rng(0)
    n = 200
    base = rng.normal(size=(n, 64))
    images = np.vstack([base + 0.8 * rng.normal(size=(n, 64)), rng.normal(size=(n, 64))])
    texts = np.vstack([base, base + 3e-7 * rng.normal(size=(n, 64))])   # samples n.. hold the twins
    ids = np.array([f"s{i:03d}" for i in range(2 * n)] * 2, object)
    mods = np.array(["image"] * 2 * n + ["text"] * 2 * n, object)
    table = EmbeddingTable(ids, mods, np.array([""] * 4 * n, object), np.array([None] * 4 * n, object),
                           np.vstack([images, texts]).astype(np.float32))
    pairs = pair_rows(table, "image", "text")
    xa, xb = table.vectors[pairs.rows_a], table.vectors[pairs.rows_b]
    by_block = [retrieve(xa, xb, block_elements=be).ranks[:n] for be in (1, 7 * 2 * n, 1 << 24)]
    browsed = [browse_row(table, row).hits["text"].partner_rank for row in pairs.rows_a[:n]]
    for ranks in by_block:
        assert ranks.tolist() == browsed
    assert max(browsed) > 1


def test_ordered_top_keeps_every_tie_at_the_cut():
    scores = np.array([0.5, 0.9, 0.5, 0.5, 0.1], np.float32)
    assert ordered_top(scores, 3)[0].tolist() == [1, 0, 2]
    assert ordered_top(scores, 3, partner=0)[0].tolist() == [1, 2, 3]  # the partner goes behind its equals
    assert ordered_top(scores, 9)[0].tolist() == [1, 0, 2, 3, 4]


def test_a_vector_query_ranks_each_modality_like_a_full_sort():
    table = awkward_table()
    vector = normalise(np.random.default_rng(1).normal(size=(1, 8)))[0]
    result = browse_vector(table, vector, k=6)
    assert list(result.hits) == list(table.modalities)
    for m, hits in result.hits.items():
        rows = table.rows(m)
        order = np.argsort(-(table.vectors[rows] @ vector), kind="stable")
        assert hits.rows.tolist() == rows[order[:6]].tolist()


def test_recall_from_the_browsers_ranks_is_what_mmstudio_align_prints(tmp_path, capsys):
    table = awkward_table()
    # a table file holds one image per sample (only captions repeat): s03's second image stays out
    second = np.flatnonzero((table.sample_id == "s03") & (table.modality == "image"))[-1]
    table = table.take(np.delete(np.arange(len(table)), second))
    path = tmp_path / "t.parquet"
    table.write(path)
    assert main(["align", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    table = EmbeddingTable.read(path)
    checked = 0
    for pair in report["pairs"]:
        for direction in pair["retrieval"]:
            a, b = direction["query"], direction["gallery"]
            ranks = {}
            for row in table.rows(a):
                hits = browse_row(table, row).hits[b]
                sid = table.sample_id[row]
                if hits.partner is not None and sample_rows(table, sid)[a] == row:  # align's queries
                    ranks[sid] = hits.partner_rank
            values = np.array(list(ranks.values()))
            assert len(values) == direction["n"]
            for k in (1, 5, 10):
                assert np.mean(values <= k) == pytest.approx(direction[f"R@{k}"], abs=1e-12)
            assert np.median(values) == direction["median_rank"]
            assert [ranks[w["sample_id"]] for w in direction["worst"]] == [w["rank"] for w in direction["worst"]]
            checked += 1
    assert checked == 6
