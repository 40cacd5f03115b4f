"""``screenshot`` and project files (items 3, 10): a headless run never opens a dialog or waits
out --timeout on input that cannot work; it ends at once naming the cause, and writes nothing.
Most are refused before Qt starts; the last few need the window and stay few (each one costs a
window start)."""

from harness import Case, copy_into, project_file, shared, small_table, tiny_world

TIMEOUT = ["--timeout", "300"]   # a case that waited for it would fail the matrix's own bound first


def shot(id, build, says, codes=(2,), timeout=120.0):
    def argv(folder):
        return ["screenshot", "shot.png", *build(folder), *TIMEOUT]
    return Case(id, argv, codes=codes, says=says, keeps=("shot.png",), timeout=timeout)


def _project(**values):
    def build(folder):
        copy_into(shared("table", small_table), folder)
        return [str(project_file(folder, sources=["table.parquet"], **values))]
    return build


def _text_file(name, text):
    def build(folder):
        (folder / name).write_text(text)
        return [name]
    return build


def _gone_sources(folder):
    return [str(project_file(folder, sources=["gone.parquet", "gone-folder"]))]


def _empty_folder(folder):
    (folder / "empty").mkdir()
    return ["empty"]


def _unreadable_table(folder):
    (folder / "bad.parquet").write_bytes(b"PAR1 not really")
    return ["bad.parquet"]


def _nan_table(folder):
    import numpy as np

    from mmstudio.core.tables.table import EmbeddingTable

    table = EmbeddingTable.read(shared("table", small_table))
    table.vectors[3] = np.nan
    table.write(folder / "nan.parquet")
    return ["nan.parquet"]


def _broken_model_project(folder):
    world = copy_into(shared("world", tiny_world), folder)
    (folder / "model").mkdir()
    (folder / "model" / "config.json").write_text("[1, 2]")
    (folder / "model" / "model.safetensors").write_bytes(b"")
    return [str(project_file(folder, sources=[world.name], model=str(folder / "model")))]


def _table_with(*options):
    def build(folder):
        return [str(copy_into(shared("table", small_table), folder)), *options]
    return build


CASES = [
    shot("screenshot-missing-path", lambda f: ["nothing-here"], ("nothing-here", "no such file")),
    shot("screenshot-project-not-json", _text_file("p.mmstudio", "{ not json"), ("p.mmstudio", "not valid JSON")),
    shot("screenshot-project-truncated", _text_file("p.mmstudio", '{"format": "mmstudio-project", "vers'),
         ("p.mmstudio", "not valid JSON")),
    shot("screenshot-project-device-tpu", _project(device="tpu"), ("device", "tpu")),
    shot("screenshot-project-method-tsne", _project(projection={"method": "tsne"}), ("projection.method", "tsne")),
    shot("screenshot-project-neighbors-zero", _project(projection={"n_neighbors": 0}), ("projection.n_neighbors",)),
    shot("screenshot-project-min-dist-nan", _text_file(
        "p.mmstudio", '{"format": "mmstudio-project", "version": 1, "projection": {"min_dist": NaN}}'),
        ("projection.min_dist", "NaN")),
    shot("screenshot-project-precision", _project(precision="fp8"), ("precision", "fp8")),
    shot("screenshot-project-sources-gone", _gone_sources, ("none of the project's sources", "gone.parquet")),
    Case("screenshot-out-unknown-suffix", lambda f: ["screenshot", "shot.xyz"], says=("shot.xyz", ".xyz"),
         keeps=("shot.xyz",)),
    Case("screenshot-out-read-only", lambda f: ["screenshot", "/sys/mmstudio-badinput/shot.png"],
         says=("cannot write in /sys",)),
    # these start the window: the failure must come as soon as the cause is known, not after --timeout
    shot("screenshot-empty-folder", _empty_folder, ("nothing to show", "opened 0 samples"), codes=(1,)),
    shot("screenshot-unreadable-table", _unreadable_table, ("nothing to show", "bad.parquet"), codes=(1,)),
    shot("screenshot-nan-table", _nan_table, ("nothing to show", "nan.parquet", "non-finite"), codes=(1,)),
    shot("screenshot-project-broken-model", _broken_model_project, ("config.json", "found list"), codes=(1,)),
    shot("screenshot-select-unknown", _table_with("--select", "999999"), ("--select 999999", "no sample id")),
    shot("screenshot-panel-unknown", _table_with("--panel", "Nope"), ("--panel Nope", "no such panel")),
    shot("screenshot-size-too-small", _table_with("--size", "200x150"), ("--size 200x150", "cannot take that size")),
]
