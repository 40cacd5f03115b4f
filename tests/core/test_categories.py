"""A text column as categories (distinct values and per-row codes), what colouring, filters and counts read at
a million rows: equal to numpy's own ``unique``, kept on the table, read with the Parquet file, and never a
Python comparison or object per row."""

import numpy as np
from tracked import Counting, tracked

from mmstudio.core.tables.categories import categories, factorize
from mmstudio.core.tables.filtering import FilterSpec, filter_index, filter_mask
from mmstudio.core.tables.table import EmbeddingTable


def reference(values):
    """numpy's answer: the distinct values (None left out) and each row's index, -1 for None."""
    blank = np.equal(values, None)
    names, inverse = np.unique(np.asarray(values, object)[~blank], return_inverse=True)
    codes = np.full(len(values), -1)
    codes[~blank] = inverse
    return names, codes


def big_table(n: int, seed: int = 0) -> EmbeddingTable:
    rng = np.random.default_rng(seed)
    words = ["b", "a", "", "é", "Zebra", "a dog", "é2", "class 10", "class 9"]
    label = [None if k == len(words) else words[k] for k in rng.integers(0, len(words) + 1, n)]
    return EmbeddingTable(tracked([f"s{k}" for k in rng.integers(0, n // 3, n)]),
                          tracked(np.array(["image", "audio", "text"])[np.arange(n) % 3].tolist()),
                          tracked([""] * n), tracked(label), rng.normal(size=(n, 4)).astype(np.float32),
                          {"score": rng.normal(size=n)})


def test_codes_match_numpys_unique_with_blanks_empty_strings_and_accents():
    values = np.array(["b", "a", None, "", "c", "a", "é", "Zebra", None, "a"], object)
    found = factorize(values)
    names, codes = reference(values)
    assert found.names.tolist() == names.tolist() == ["", "Zebra", "a", "b", "c", "é"]   # as Python sorts them
    np.testing.assert_array_equal(found.codes, codes)
    np.testing.assert_array_equal(found.counts, np.bincount(codes[codes >= 0]))
    assert found.blank == 2
    mixed = factorize(np.array([3, "a", None], object))        # not only strings: compared by their text
    assert mixed.names.tolist() == ["3", "a"] and mixed.codes.tolist() == [0, 1, -1]


def test_two_hundred_thousand_rows_are_factorised_without_a_python_call_per_row():
    table = big_table(200_000)
    with Counting() as count:
        found = categories(table, "label")
    names, codes = reference(np.array([None if v is None else str(v) for v in table.label], object))
    assert found.names.tolist() == names.tolist()
    np.testing.assert_array_equal(found.codes, codes)
    assert count.calls == 0                                   # numpy's unique: millions of comparisons
    assert found.names[0] is table.label[np.flatnonzero(codes == 0)[0]]   # the column's own strings
    assert categories(table, "label") is found                # kept on the table
    replaced = table.with_column("x", np.zeros(len(table)))
    replaced.label = tracked(["z"] * len(table))              # another column array: worked out again
    assert categories(replaced, "label").names.tolist() == ["z"]


def test_the_filter_index_and_a_mask_at_two_hundred_thousand_rows_look_at_no_row_in_python():
    table = big_table(200_000, seed=1)
    with Counting() as count:
        index = filter_index(table)
        mask = filter_mask(index, FilterSpec(labels=frozenset({"a", "—"}), modalities=frozenset({"text", "image"})))
    assert count.calls < 100                                  # per distinct value only
    label = np.array([None if v is None else str(v) for v in table.label], object)
    expected = (np.isin(label, ["a", "", None]) | np.equal(label, None)) & np.isin(table.modality.astype(str),
                                                                                     ["text", "image"])
    np.testing.assert_array_equal(mask, expected)
    np.testing.assert_array_equal(index.sample_ids[index.codes], table.sample_id.astype(str))


def test_a_parquet_file_brings_its_columns_categories_and_the_rows_share_one_string_per_value(tmp_path):
    rng = np.random.default_rng(2)
    n = 3000
    label = [None if k == 0 else f"class {k}" for k in rng.integers(0, 8, n)]
    table = EmbeddingTable(np.array([f"s{i // 2}" for i in range(n)], object), np.array(["image", "text"] * (n // 2),
                           object), np.array([""] * n, object), np.array(label, object),
                           rng.normal(size=(n, 4)).astype(np.float32),
                           {"caption": np.array([f"a {k}" if k % 3 else None for k in range(n)], object)})
    path = tmp_path / "t.parquet"
    table.write(path)
    read = EmbeddingTable.read(path)
    assert read.label.tolist() == label
    for column in ("sample_id", "modality", "label", "caption"):
        held = read.__dict__["_categories"][column][1]        # attached by the reader
        values = read.label if column == "label" else read.columns[column] if column == "caption" \
            else getattr(read, column)
        fresh = factorize(np.array(values.tolist(), object))
        assert held.names.tolist() == fresh.names.tolist(), column
        np.testing.assert_array_equal(held.codes, fresh.codes)
    same = [v for v in read.label if v == "class 3"]
    assert len(same) > 100 and all(v is same[0] for v in same)   # one string object per distinct value
    joined = EmbeddingTable.concat([read])                     # one table joined: its arrays, not copies
    assert joined.vectors is read.vectors and categories(joined, "label") is categories(read, "label")
