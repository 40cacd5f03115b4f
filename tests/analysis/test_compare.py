"""`mmstudio compare`: two tables of the same samples side by side, checked against closed forms and
against `mmstudio align` run on each table."""

import json

import numpy as np
import pytest

from mmstudio.__main__ import main
from mmstudio.analysis.alignment.compare import TooFewMatches, compare_tables
from mmstudio.analysis.alignment.compare_stats import Resamples, neighbour_jaccard
from mmstudio.core.tables.table import EmbeddingTable
from tests.analysis.test_align_cli import make_table


def with_vectors(table, vectors, model="b") -> EmbeddingTable:
    return EmbeddingTable(table.sample_id, table.modality, table.path, table.label,
                          np.asarray(vectors, np.float32), dict(table.columns), model)


def rotation(d, seed=3) -> np.ndarray:
    return np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))[0]


def noised(table, scale=0.6, seed=5, modality=None) -> EmbeddingTable:
    rng = np.random.default_rng(seed)
    noise = scale * rng.normal(size=table.vectors.shape)
    if modality is not None:
        noise[table.modality != modality] = 0
    return with_vectors(table, table.vectors + noise)


def caption_table(n=40) -> EmbeddingTable:
    """make_table's samples with a second caption for every other sample (a caption_index column)."""
    table = make_table(n)
    texts = table.rows("text")[::2]
    rng = np.random.default_rng(9)
    extra = with_vectors(table.take(texts), table.vectors[texts] + 0.5 * rng.normal(size=(len(texts), table.dim)),
                         table.model)
    index = np.r_[np.zeros(len(table)), np.ones(len(texts))]
    both = EmbeddingTable.concat([table, extra])
    return both.with_column("caption_index", np.where(both.modality == "text", index, np.nan))


def pairs_of(report):
    return {tuple(p["modalities"]): p for p in report["pairs"]}


def test_a_table_against_itself_changes_nothing():
    table = make_table()
    report = compare_tables(table, table)
    for m in report["modalities"]:
        assert m["cka"]["value"] == pytest.approx(1.0)
        assert m["neighbours"]["mean_jaccard"] == 1.0 and m["neighbours"]["most_changed"] == []
        assert m["maps"]["orthogonal"] == pytest.approx(0.0, abs=1e-12)
    for pair in report["pairs"]:
        for r in pair["retrieval"]:
            assert r["A"] == r["B"]
            for d in r["difference"].values():
                assert d["value"] == 0 and d["low"] <= 0 <= d["high"] and not d["excludes_0"]
        assert pair["gap"]["difference"]["value"] == 0 and not pair["gap"]["difference"]["excludes_0"]


def test_a_rotated_table_has_the_same_geometry():
    table = make_table()
    report = compare_tables(table, with_vectors(table, table.vectors @ rotation(table.dim)))
    for m in report["modalities"]:
        assert m["cka"]["value"] == pytest.approx(1.0, abs=1e-6)
        assert m["cka"]["permuted_q95"] < 0.5
        assert m["maps"]["orthogonal"] < 1e-6 and m["maps"]["linear"] < 1e-6
        assert m["maps"]["orthogonal_permuted_mean"] > 0.5
        assert m["neighbours"]["mean_jaccard"] >= 0.99
    for pair in report["pairs"]:
        for r in pair["retrieval"]:
            assert r["B"]["R@1"] == r["A"]["R@1"] and r["B"]["mean_rank"] == r["A"]["mean_rank"]


def test_a_wider_space_is_compared_through_a_held_out_linear_map():
    table = make_table()
    wide = np.linalg.qr(np.random.default_rng(4).normal(size=(20, table.dim)))[0].T  # 12 × 20, orthonormal rows
    report = compare_tables(table, with_vectors(table, table.vectors @ wide))
    for m in report["modalities"]:
        assert (m["dim_a"], m["dim_b"]) == (12, 20) and "orthogonal" not in m["maps"]
        assert m["maps"]["linear"] < 1e-6 < 0.5 < m["maps"]["linear_permuted_mean"]
        assert m["cka"]["value"] == pytest.approx(1.0, abs=1e-6)


def test_noise_is_a_retrieval_drop_with_an_interval_below_zero():
    table = make_table(n=60)
    report = compare_tables(table, noised(table))
    for pair in report["pairs"]:
        for r in pair["retrieval"]:
            d = r["difference"]["R@1"]
            assert d["high"] < 0 and d["excludes_0"]
            assert d["value"] == pytest.approx(r["B"]["R@1"] - r["A"]["R@1"])
            assert d["low"] <= d["value"] <= d["high"]
            for e in r["labels"]:
                assert e["queries"] >= 10 and e["difference"]["low"] <= e["difference"]["value"] <= e["difference"]["high"]
    for m in report["modalities"]:
        assert m["cka"]["permuted_q95"] < m["cka"]["value"] < 1
        assert m["neighbours"]["chance"] < m["neighbours"]["mean_jaccard"] < 1
        changed = [e["jaccard"] for e in m["neighbours"]["most_changed"]]
        assert len(changed) == 10 and changed == sorted(changed) and changed[-1] < 1


def test_cka_is_the_closed_form():
    table = make_table()
    other = noised(table, 0.3)
    report = compare_tables(table, other)
    for m in report["modalities"]:
        rows = table.rows(m["modality"])
        x = table.vectors[rows].astype(np.float64)
        y = other.vectors[rows].astype(np.float64)
        x, y = x - x.mean(0), y - y.mean(0)
        direct = np.linalg.norm(y.T @ x) ** 2 / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y))
        assert m["cka"]["value"] == pytest.approx(direct, rel=1e-9)


def test_the_bootstrap_is_a_plain_resampling_of_queries():
    rng = np.random.default_rng(0)
    a, b = rng.random(50) < 0.5, rng.random(50) < 0.3
    got = Resamples(50, 400, seed=11).difference(a, b)
    idx = np.random.default_rng(11).integers(0, 50, (400, 50))
    draws = (b.astype(float) - a)[idx].mean(axis=1)
    assert got["value"] == pytest.approx(b.mean() - a.mean())
    assert (got["low"], got["high"]) == pytest.approx(tuple(np.quantile(draws, [0.025, 0.975])))


def test_neighbour_jaccard_against_a_full_sort():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(30, 6))
    b = a + 0.4 * rng.normal(size=a.shape)
    jaccard, chance = neighbour_jaccard(a, b, k=5)

    def sets(x):
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
        sim = x @ x.T
        np.fill_diagonal(sim, -np.inf)
        return [set(np.argsort(-row)[:5].tolist()) for row in sim]

    direct = [len(p & q) / len(p | q) for p, q in zip(sets(a), sets(b))]
    assert jaccard == pytest.approx(direct)
    assert chance == pytest.approx((25 / 29) / (10 - 25 / 29))


@pytest.mark.parametrize("captions", [False, True])
def test_each_side_is_what_align_reports(tmp_path, capsys, captions):
    table = caption_table() if captions else make_table()
    other = noised(table, 0.4)
    table.write(tmp_path / "a.parquet")
    other.write(tmp_path / "b.parquet")
    assert main(["compare", str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    for side, name in (("A", "a"), ("B", "b")):
        assert main(["align", str(tmp_path / f"{name}.parquet"), "--json"]) == 0
        aligned = pairs_of(json.loads(capsys.readouterr().out))
        for key, pair in pairs_of(report).items():
            assert ("captions" in pair) == (captions and "text" in key) == ("captions" in aligned[key])
            assert pair["gap"][side] == pytest.approx(aligned[key]["gap"]["distance"])
            for mine, theirs in zip(pair["retrieval"], aligned[key]["retrieval"]):
                assert mine["n"] == theirs["n"]
                for metric in ("R@1", "R@5", "R@10", "mAP@10", "mean_rank", "label_R@1"):
                    assert mine[side][metric] == pytest.approx(theirs[metric]), (side, key, metric)


def test_text_output_shows_each_number_with_its_interval(tmp_path, capsys):
    table = make_table()
    table.write(tmp_path / "a.parquet")
    noised(table).write(tmp_path / "b.parquet")
    assert main(["compare", str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert main(["compare", str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")]) == 0
    out = capsys.readouterr().out
    assert "40 samples (119 rows) in both" in out
    r = pairs_of(report)[("image", "text")]["retrieval"][0]
    d = r["difference"]["R@1"]
    line = next(x for x in out.splitlines() if x.strip().startswith("image → text R@1"))
    assert line.split()[4:] == [f"{r['A']['R@1']:.3f}", f"{r['B']['R@1']:.3f}", f"{d['value']:+.3f}",
                                f"[{d['low']:.3f},", f"{d['high']:.3f}]"]
    cka = report["modalities"][0]["cka"]
    assert f"linear CKA A vs B {cka['value']:.3f} (shuffled B: mean {cka['permuted_mean']:.3f}" in out
    assert "mean Jaccard A vs B" in out and "R@1 by label (image → text" in out


def test_too_few_matching_samples_is_one_line_with_the_counts(tmp_path, capsys):
    table = make_table()
    few = table.take(np.flatnonzero(np.isin(table.sample_id, [f"s{i:02d}" for i in range(5)])))
    table.write(tmp_path / "a.parquet")
    few.write(tmp_path / "b.parquet")
    assert main(["compare", str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "5 samples match" in err and "A has 40, B has 5" in err
    assert "at least 10" in err
    assert main(["compare", str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet"), "--min-samples", "5"]) == 0
    with pytest.raises(TooFewMatches):
        compare_tables(table, few, min_samples=6)


def test_the_demo_table_against_its_noised_images(demo_world):
    other = noised(demo_world, 0.15, modality="image")
    report = compare_tables(demo_world, other, resamples=300)
    mods = {m["modality"]: m for m in report["modalities"]}
    assert mods["audio"]["cka"]["value"] == pytest.approx(1.0) and mods["audio"]["neighbours"]["mean_jaccard"] == 1
    image = mods["image"]
    assert image["cka"]["permuted_q95"] < image["cka"]["value"] < 1
    assert image["neighbours"]["chance"] < image["neighbours"]["mean_jaccard"] < 1
    for r in pairs_of(report)[("image", "audio")]["retrieval"]:
        assert r["difference"]["R@1"]["high"] < 0


def test_a_large_pair_scores_the_same_sampled_queries_in_both_tables_and_says_so(monkeypatch, tmp_path, capsys):
    from mmstudio.analysis.alignment import scope

    # the work limit reached for the wider table only: A (12-d) alone would be scored whole, B (20-d) on a sample
    monkeypatch.setattr(scope, "sample_size", lambda total, gallery, dim, **kw: 25 if dim > 12 else total)
    table = make_table(n=60)
    wide = np.linalg.qr(np.random.default_rng(4).normal(size=(20, table.dim)))[0].T
    other = with_vectors(table, table.vectors @ wide)
    report = compare_tables(table, other)
    for pair in report["pairs"]:
        for r in pair["retrieval"]:
            assert r["n"] == 25 and r["A"]["scope"] == r["B"]["scope"]
            assert r["A"]["scope"]["method"] == "sample" and r["A"]["scope"]["scored"] == 25
            assert r["difference"]["R@1"]["value"] == pytest.approx(0.0)   # the same geometry, the same queries
    table.write(tmp_path / "a.parquet")
    other.write(tmp_path / "b.parquet")
    assert main(["compare", str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")]) == 0
    out = capsys.readouterr().out
    assert "scored on: a random sample of 25 of 60 queries (seed 0)" in out
