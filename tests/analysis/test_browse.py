"""The retrieval browser's numbers: every query's partner rank is the one `mmstudio align` counts, the
top-k lists are the full ranking's first k (ties against the query), blocks change nothing."""

import json

import numpy as np
import pytest
from sklearn.metrics.pairwise import cosine_similarity

from mmstudio.__main__ import main
from mmstudio.analysis.alignment.browse import browse_row, browse_vector, ordered_top, sample_rows, top_k
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


def test_blocks_and_single_queries_give_the_same_bits():
    rng = np.random.default_rng(0)
    gallery, queries = rng.normal(size=(500, 32)), rng.normal(size=(40, 32))
    partners = rng.integers(0, 500, 40)
    whole = top_k(queries, gallery, 12, partners)
    tiny = top_k(queries, gallery, 12, partners, block_elements=1)      # one query per block
    middle = top_k(queries, gallery, 12, partners, block_elements=7 * 500)
    for got in (tiny, middle):
        for x, y in zip(whole, got):
            np.testing.assert_array_equal(x, y)
    sim = reference(queries, gallery)
    for i in range(40):
        assert whole[0][i].tolist() == reference_order(sim[i], partners[i])[:12]
        assert whole[2][i] == reference_order(sim[i], partners[i]).index(partners[i]) + 1


def test_a_query_alone_ranks_as_it_does_among_all_even_against_near_twins():
    """float32 products round differently by block shape (by ~1e-7): with gallery items that have a twin
    1e-7 away, plain float32 ranks move between one query per block and all queries at once (in 138 of
    the 400 here when this was written); partner_ranks re-scores those near ties and does not."""
    rng = np.random.default_rng(0)
    base = rng.normal(size=(400, 64))
    gallery = np.empty((800, 64))
    gallery[0::2], gallery[1::2] = base, base + 3e-7 * rng.normal(size=(400, 64))
    queries = base + 0.8 * rng.normal(size=(400, 64))
    partners = np.arange(0, 800, 2)
    together = retrieve(queries, gallery[partners]).ranks  # the paired case, as align runs it
    ranks = {be: top_k(queries, gallery, 1, partners, block_elements=be)[2] for be in (1, 4800, 1 << 24)}
    for got in ranks.values():
        np.testing.assert_array_equal(got, ranks[1 << 24])
    assert (together <= ranks[1]).all()  # without the twins a partner can only rank higher


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
