"""A COCO captions file opened in the window, and a table of every caption: a caption row finds its
sample's picture in the inspector, and the picture lists all its captions."""

import json

import numpy as np
from caption_files import write_coco

from mmstudio.__main__ import main


def test_a_coco_file_opens_and_each_caption_of_a_sample_finds_its_picture(make_window, qtbot, tmp_path):
    coco = write_coco(tmp_path / "coco", n=12, missing=(3,))
    missing = f"{coco['missing'][0]} [image]: file not found (image {coco['missing_ids'][0]} in captions_val2017.json"
    window = make_window([coco["path"]])
    ws = window.workspace
    qtbot.waitUntil(lambda: missing in window.log.toPlainText() and len(window.view.cloud.xy) == 23, timeout=120_000)
    table = ws.table
    assert len(table.rows("image")) == 11 and len(table.rows("text")) == 12
    first = {}
    for note in json.loads(coco["path"].read_text())["annotations"]:   # each picture's first caption in the file
        first.setdefault(str(note["image_id"]), note["caption"])
    texts = table.rows("text")
    assert dict(zip(table.sample_id[texts], table.columns["caption"][texts])) == first

    assert main(["embed", str(coco["path"]), "--captions", "all", "--out", str(tmp_path / "all.parquet")]) == 0
    ws.clear()
    window.open_paths([str(tmp_path / "all.parquet")])
    qtbot.waitUntil(lambda: ws.table is not None and len(window.view.cloud.xy) == 71, timeout=120_000)
    table = ws.table
    sid = coco["ids"][5]
    image = int(np.flatnonzero((table.sample_id == sid) & (table.modality == "image"))[0])
    captions = np.flatnonzero((table.sample_id == sid) & (table.modality == "text"))
    assert table.columns["caption_index"][captions].tolist() == [0, 1, 2, 3, 4]
    pane = window.inspector.attention
    caption = int(captions[3])
    assert pane._partner(caption) == image
    with qtbot.waitSignal(pane.mapReady, timeout=60_000):
        ws.select([caption])
    assert pane.result is not None and "pull on this sample's image" in pane.tokens.text()
    assert pane.text.currentText() == table.columns["caption"][caption]
    ws.select([image])
    shown = [pane.text.itemText(i) for i in range(pane.text.count())]
    assert shown[:5] == table.columns["caption"][captions].tolist()   # its own captions first, in order
