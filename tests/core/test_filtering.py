"""The filter's mask against pandas' own evaluation of the same criteria, on a table with blanks."""

import numpy as np
import pytest

from mmstudio.core.errors import ItemError
from mmstudio.core.tables.filtering import BLANK, FilterSpec, Range, filter_index, filter_mask, numeric_columns
from mmstudio.core.tables.table import EmbeddingTable

pd = pytest.importorskip("pandas")

WORDS = ["Red", "green", "blue", "big", "small", "STAR", "circle"]


def random_table(n_samples=400, seed=0, tmp_path=None):
    """Samples with an image, a sound and a caption (inline, or in a file when ``tmp_path``), labels
    with blanks, a numeric column with NaN, a few samples lacking a modality."""
    rng = np.random.default_rng(seed)
    ids, modality, path, label, caption, size = [], [], [], [], [], []
    for i in range(n_samples):
        lab = [None, "star", "circle", "square", ""][rng.integers(0, 5)]
        value = np.nan if rng.random() < 0.15 else float(rng.normal())
        for m in ("image", "audio", "text"):
            if rng.random() < 0.1:
                continue
            text = " ".join(rng.choice(WORDS, 3)) if m == "text" else None
            file = None
            if m == "text" and tmp_path is not None and i % 2:
                file = tmp_path / f"s{i}.txt"
                file.write_text(text, encoding="utf-8")
            ids.append(f"s{i:04d}")
            modality.append(m)
            path.append(None if file is None else str(file))
            label.append(lab)
            caption.append(text if file is None else None)     # a file's text is only in the file
            size.append(value)
    n = len(ids)
    columns = {"caption": np.array(caption, object), "size": np.array(size), "flag": rng.integers(0, 2, n).astype(float)}
    table = EmbeddingTable(np.array(ids, object), np.array(modality, object), np.array(path, object),
                           np.array(label, object), rng.normal(size=(n, 4)).astype(np.float32), columns)
    texts = [c if c is not None else (open(p, encoding="utf-8").read() if p else None) for c, p in zip(caption, path)]
    frame = pd.DataFrame({"sample_id": ids, "modality": modality, "label": label, "text": texts, "size": size,
                          "flag": columns["flag"]})
    return table, frame


def reference(frame, spec, problem_ids=(), subsets=None):
    """The same filter written with pandas (query strings where they read naturally)."""
    keep = pd.Series(True, index=frame.index)
    if spec.labels is not None:
        shown = frame.label.where(frame.label.notna() & (frame.label != ""), BLANK)
        keep &= shown.isin(list(spec.labels))
    if spec.modalities is not None:
        keep &= frame.index.isin(frame.query("modality in @mods", local_dict={"mods": list(spec.modalities)}).index)
    if spec.problems != "any":
        bad = frame.sample_id.isin(list(problem_ids))
        keep &= bad if spec.problems == "only" else ~bad
    for r in spec.ranges:
        expression = " and ".join(x for x in (f"{r.column} >= {r.lo!r}" if r.lo is not None else "",
                                              f"{r.column} <= {r.hi!r}" if r.hi is not None else "") if x)
        keep &= frame.index.isin(frame.query(expression).index)
    if spec.contains.strip():
        found = frame.text.fillna("").str.lower().str.contains(spec.contains.strip().lower(), regex=False)
        if spec.whole_samples:
            found = found.groupby(frame.sample_id).transform("any")
        keep &= found
    if spec.subset is not None:
        keep &= pd.Series(subsets[spec.subset], index=frame.index)
    return keep.to_numpy()


SPECS = [
    FilterSpec(),
    FilterSpec(labels=frozenset({"star"})),
    FilterSpec(labels=frozenset({"circle", BLANK})),
    FilterSpec(labels=frozenset()),
    FilterSpec(modalities=frozenset({"image", "text"})),
    FilterSpec(ranges=(Range("size", -0.5, 0.8),)),
    FilterSpec(ranges=(Range("size", lo=0.2), Range("flag", hi=0.0))),
    FilterSpec(contains="  rEd "),
    FilterSpec(contains="star", whole_samples=False),
    FilterSpec(contains="red star"),
    FilterSpec(problems="only"),
    FilterSpec(problems="none", labels=frozenset({"square"}), contains="blue", modalities=frozenset({"audio"})),
    FilterSpec(subset="mine", ranges=(Range("size", hi=0.0),)),
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.describe() or "nothing")
def test_the_mask_equals_pandas_on_the_same_criteria(spec, tmp_path):
    table, frame = random_table(tmp_path=tmp_path)
    problems = [ItemError("x.png", "image", "not an image file", "s0003"), ItemError("y.wav", "audio", "silent", "s0100"),
                ItemError("z.txt", None, "skipped", None)]
    subsets = {"mine": np.random.default_rng(1).random(len(table)) < 0.4}
    mask = filter_mask(table, spec, problems=problems, subsets=subsets)
    expected = reference(frame, spec, ["s0003", "s0100"], subsets)
    assert mask.dtype == bool and len(mask) == len(table)
    np.testing.assert_array_equal(mask, expected)
    assert spec.active == (spec != FilterSpec()) and 0 < expected.sum() < len(table) or spec in (SPECS[0], SPECS[3])


def test_an_index_built_once_serves_every_filter_and_reads_each_caption_file_once(tmp_path):
    table, frame = random_table(tmp_path=tmp_path)
    known = {}
    index = filter_index(table, texts=known)
    files = {p for p in table.path if p}
    assert set(known) == files and len(files) > 50
    for spec in SPECS[:10]:
        np.testing.assert_array_equal(filter_mask(index, spec), reference(frame, spec))
    for path in files:      # read again from ``known``, not from the files
        open(path, "w").close()
    again = filter_index(table, texts=known)
    np.testing.assert_array_equal(filter_mask(again, SPECS[7]), reference(frame, SPECS[7]))


def test_numeric_columns_report_their_range_and_blanks_and_unknown_names_are_refused():
    table, frame = random_table()
    columns = numeric_columns(table)
    assert set(columns) == {"size", "flag"}
    lo, hi, missing = columns["size"]
    assert (lo, hi, missing) == (frame["size"].min(), frame["size"].max(), int(frame["size"].isna().sum()))
    with pytest.raises(ValueError, match="no numeric column 'caption'"):
        filter_mask(table, FilterSpec(ranges=(Range("caption", 0, 1),)))
    with pytest.raises(ValueError, match="no subset named 'gone'"):
        filter_mask(table, FilterSpec(subset="gone"), subsets={})
    with pytest.raises(ValueError, match="problems must be one of"):
        FilterSpec(problems="some")
