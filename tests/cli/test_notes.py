"""What the readers note about items they could use, and what was changed in the input, reaches
the user: embed's notes summary (and the window's Log, tests/ui/test_log_lines.py)."""

import numpy as np
import soundfile as sf

from mmstudio.__main__ import main
from mmstudio.core.tables.table import EmbeddingTable


def _noted_files(folder):
    (folder / "latin.txt").write_bytes("café crème brûlée".encode("cp1252"))
    (folder / "big.txt").write_text("word " * 250_000)          # 1.25 MB: cut to the first 1 MB
    sf.write(folder / "silent.wav", np.zeros(16000, np.float32), 16000)
    sf.write(folder / "ok.wav", (0.3 * np.sin(np.arange(16000) / 5)).astype(np.float32), 16000, subtype="PCM_16")
    whole = (folder / "ok.wav").read_bytes()
    (folder / "short.wav").write_bytes(whole[: len(whole) // 2])  # the header still claims 16,000 frames
    return [str(folder / n) for n in ("latin.txt", "big.txt", "silent.wav", "short.wav")]


def test_reader_notes_are_in_the_summary(tmp_path, capsys):
    files = _noted_files(tmp_path)
    assert main(["embed", *files, "--out", str(tmp_path / "out.parquet")]) == 0
    err = capsys.readouterr().err
    notes = err[err.index("notes:"):]
    assert f"not UTF-8; decoded as cp1252: {files[0]}" in notes
    assert f"truncated to the first 1,000,000 of 1,250,000 bytes: {files[1]}" in notes
    assert f"audio is silent (all samples are zero): {files[2]}" in notes
    assert "file is shorter than its header claims; using the 7,9" in notes and files[3] in notes
    assert len(EmbeddingTable.read(tmp_path / "out.parquet")) == 4   # noted, and used


def test_the_same_folder_twice_is_read_once_with_a_note(tmp_path, capsys):
    folder = tmp_path / "media"
    folder.mkdir()
    (folder / "a.txt").write_text("a red circle")
    (folder / "b.txt").write_text("a blue square")
    out = tmp_path / "out.parquet"
    assert main(["embed", str(folder), str(folder) + "/", str(folder / "a.txt"), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"given more than once (as {folder}); read once: {folder}/" in err
    assert f"also in {folder}; read once: {folder / 'a.txt'}" in err
    table = EmbeddingTable.read(out)
    assert sorted(table.sample_id) == ["a", "b"]   # not a#2, b#2


def test_a_manifest_column_named_like_a_table_column_is_kept_and_named(tmp_path, capsys):
    (tmp_path / "a.txt").write_text("a red circle")
    (tmp_path / "m.csv").write_text("id,text,error,meta_error,path,embedding\ns1,a.txt,e,me,p,v\n")
    out = tmp_path / "out.parquet"
    assert main(["embed", str(tmp_path / "m.csv"), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert ("metadata column 'error' is kept as 'meta_error_2' ('error' is a column of every embedding table; "
            "'meta_error' is another metadata column)") in err
    assert "metadata column 'path' is kept as 'meta_path'" in err
    columns = {k: list(v) for k, v in EmbeddingTable.read(out).columns.items()}
    assert columns == {"meta_error_2": ["e"], "meta_error": ["me"], "meta_path": ["p"], "meta_embedding": ["v"]}
