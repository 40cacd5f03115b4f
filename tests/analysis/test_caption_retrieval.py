"""Retrieval with several captions per sample (the COCO / Flickr protocol) against a plain loop: a
picture's hit is any of its captions, every caption queries the pictures, ties count against the query."""

import numpy as np
import pytest
from caption_reference import reference_ranks, summary, tiny_table

from mmstudio.analysis.alignment.captions import caption_retrieval, protocol, retrieve_any
from mmstudio.analysis.alignment.report import align_report
from mmstudio.analysis.alignment.retrieval import retrieve
from mmstudio.analysis.common.pairing import caption_rows, pair_rows


def _protocol(table):
    pairs = pair_rows(table, "image", "text")
    captions = caption_rows(table, pairs)
    return pairs, captions, caption_retrieval(table, pairs, captions)


@pytest.mark.parametrize("seed", range(8))
def test_the_ranks_match_a_plain_loop_of_the_protocol(seed):
    table = tiny_table(seed)
    to_text, to_image, owners = reference_ranks(table)
    pairs, captions, ((ab, qa, pa), (ba, qb, pb)) = _protocol(table)
    assert (ab.query, ab.gallery, ba.query) == ("image", "text", "text")
    np.testing.assert_array_equal(ab.ranks, to_text)
    np.testing.assert_array_equal(ba.ranks, to_image)
    assert ba.sample_ids.tolist() == owners and len(pairs) == 11
    assert table.sample_id[qb].tolist() == owners and set(table.modality[qb]) == {"text"}
    assert (table.sample_id[pa] == table.sample_id[qa]).all() and set(table.modality[pa]) == {"text"}
    words = protocol(pairs, captions)
    low, high = words["per_sample_min"], words["per_sample_max"]
    assert words["protocol"] == (f"{low}–{high} captions per image ({len(to_image) / 11:.1f} on average): a hit is "
                                 f"any of them; text→image uses all {len(to_image)} captions")


def test_the_report_says_which_protocol_and_pairs_the_first_captions():
    table = tiny_table(2, n=10)   # 9 pairs: too few to fit maps, which would take seconds
    (pair,) = align_report(table)["pairs"]
    to_text, to_image, _ = reference_ranks(table)
    for got, ranks in zip(pair["retrieval"], (to_text, to_image)):
        want = summary(ranks)
        assert {k: got[k] for k in want} == pytest.approx(want, abs=1e-12)
    first = pair_rows(table, "image", "text")
    assert (table.columns["caption_index"][first.rows_b] == 0).all()
    assert pair["gap"]["shift"]["n"] == len(first) == 9
    assert "first caption" in pair["captions"]["paired"]


def test_blocks_give_the_ranks_of_the_whole_matrix_and_one_caption_each_is_plain_retrieval():
    rng = np.random.default_rng(3)
    q, g = rng.standard_normal((40, 8)), rng.standard_normal((90, 8))
    owner = rng.integers(0, 40, 90)
    owner[:40] = np.arange(40)
    whole = retrieve_any(q, g, np.arange(40), owner)
    blocked = retrieve_any(q, g, np.arange(40), owner, block_elements=200)
    np.testing.assert_array_equal(whole.ranks, blocked.ranks)
    sims = q @ g.T / np.linalg.norm(q, axis=1)[:, None] / np.linalg.norm(g, axis=1)[None]
    for i in range(40):   # the best-placed caption is a caption of the query's sample, the most similar one
        assert owner[whole.best[i]] == i and sims[i, whole.best[i]] == pytest.approx(sims[i, owner == i].max())
    one = retrieve_any(q, g[:40], np.arange(40), np.arange(40))
    np.testing.assert_array_equal(one.ranks, retrieve(q, g[:40]).ranks)


def test_a_table_with_one_caption_each_keeps_the_paired_protocol():
    table = tiny_table(1)
    first = table.take(np.flatnonzero((table.modality == "image") | (table.columns["caption_index"] == 0)))
    pairs = pair_rows(first, "image", "text")
    assert caption_rows(first, pairs) is None
    to_text, to_image, _ = reference_ranks(first)
    np.testing.assert_array_equal(retrieve(first.vectors[pairs.rows_a], first.vectors[pairs.rows_b]).ranks, to_text)
    np.testing.assert_array_equal(retrieve(first.vectors[pairs.rows_b], first.vectors[pairs.rows_a]).ranks, to_image)


def test_fusion_takes_each_samples_first_caption_and_says_so():
    from mmstudio.analysis.fusion.data import fusion_data

    table = tiny_table(4)
    table.label[:] = [f"c{int(sid[1:]) % 2}" for sid in table.sample_id]
    data = fusion_data(table, "label", ("image", "text"))
    most = max(np.sum((table.sample_id == sid) & (table.modality == "text")) for sid in set(table.sample_id))
    assert data.caption_note == f"text: each sample's first caption (of up to {most})"
    for i, sid in enumerate(data.sample_ids):
        row = np.flatnonzero((table.sample_id == sid) & (table.columns["caption_index"] == 0))[0]
        np.testing.assert_array_equal(data.vectors[i, 1], table.vectors[row])
    one = table.take(np.flatnonzero(np.nan_to_num(table.columns["caption_index"]) == 0))
    assert fusion_data(one, "label", ("image", "text")).caption_note == ""
