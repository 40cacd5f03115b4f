"""Opening a Hugging Face dataset's Parquet files and WebDataset shards in the window."""

from archive_data import member_offsets, write_parquet_dataset, write_shards
from ui_helpers import settled


def test_parquet_files_and_shards_opened_from_file_open_are_rows_with_their_broken_items_listed(
        make_window, qtbot, tmp_path, monkeypatch):
    from PySide6 import QtWidgets

    files = write_parquet_dataset(tmp_path / "hf", n=40, files=2, broken=(3, 27), row_group=8)
    shards = write_shards(tmp_path / "wds", shards=3, per_shard=4, corrupt=(502,), start_key=500)
    _, data_at, size = member_offsets(shards[2])["sample00509.png"]
    shards[2].write_bytes(shards[2].read_bytes()[:data_at + size // 2])
    asked = {}

    def dialog(parent, caption, dir="", filter=""):
        asked["filter"] = filter
        return [str(p) for p in files + shards], filter.split(";;")[0]

    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileNames", dialog)
    window = make_window()
    window.open_files()   # File > Open Files…: the Parquet files of one split and the shards, picked together
    assert all(f"*{s}" in asked["filter"].split(";;")[0] for s in (".parquet", ".arrow", ".tar", ".png", ".csv"))
    ws = window.workspace
    qtbot.waitUntil(lambda: settled(window), timeout=180_000)
    assert len(ws.table) == 95 and len(ws.dataset) == 40 + 10 and len(window.view.cloud.xy) == 95
    assert not ws.opened_tables   # the Parquet files were read as media, not as embedding tables
    table = ws.table
    assert set(table.label[table.sample_id == "train/4"]) == {"green"}
    assert set(table.columns["shard"][table.sample_id == "sample00505"]) == {"shard-000001.tar"}
    problems = {(str(p.path), p.reason.split(" (")[0]) for p in ws.problems()}
    assert problems == {(f"{files[0]}::row 3 image", "not an image file"),
                        (f"{files[1]}::row 7 image", "not an image file"),
                        (f"{shards[0]}::sample00502.png", "not an image file"),
                        (f"{shards[2]}::sample00509.png", f"member is truncated: the shard ends {size // 2:,} bytes "
                                                           f"into its {size:,} bytes")}
