"""A first few cases, showing the form (harness.py); the rest live in the other cases_*.py modules."""

from harness import Case, copy_into, shared, small_table


def _missing_table(folder):
    return ["align", str(folder / "nope.parquet")]


def _not_parquet(folder):
    (folder / "t.parquet").write_bytes(b"not a parquet file at all")
    return ["align", "t.parquet"]


def _project_missing_out_option(folder):
    table = copy_into(shared("table", small_table), folder)
    return ["project", str(table), "--method", "tsne", "--out", "out.parquet"]


CASES = [
    Case("align-missing-file", _missing_table, codes=(2,), says=("nope.parquet",)),
    Case("align-not-parquet", _not_parquet, codes=(2,), says=("t.parquet",)),
    Case("project-unknown-method", _project_missing_out_option, codes=(2,), says=("tsne",), keeps=("out.parquet",)),
]
