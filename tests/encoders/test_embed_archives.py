"""Items inside tar shards and Parquet tables are embedded like files and share their cache entries."""

import numpy as np
import pyarrow.parquet as pq
from archive_data import arrow_table, picture, write_shards

from mmstudio.core import cache as cache_module
from mmstudio.core.cache import EmbeddingCache, digest_file
from mmstudio.core.sources.inputs import load_paths
from mmstudio.encoders.builtin.encoder import load_builtin
from mmstudio.encoders.embed import embed_dataset


class Counting:
    """Counts the items the model really saw."""

    def __init__(self, encoder):
        self.items = 0
        original = encoder.encode

        def encode(modality, batch, **kw):
            out = original(modality, batch, **kw)
            self.items += len(out.vectors)
            return out

        encoder.encode = encode


def by_id(table):
    return {(s, m): v for s, m, v in zip(table.sample_id, table.modality, table.vectors)}


def test_a_member_and_a_file_with_the_same_bytes_share_one_cache_entry(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_module, "RACY_NS", 0)   # remember digests of files written a moment ago
    shard = write_shards(tmp_path / "wds", shards=1, per_shard=4)[0]
    files = tmp_path / "files"
    files.mkdir()
    captions = [f"a {['red', 'green', 'blue'][k % 3]} square number {k}" for k in range(4)]
    for k in range(4):
        (files / f"sample{k:05d}.png").write_bytes(picture(k))
        (files / f"sample{k:05d}.txt").write_text(captions[k])
    columns = {"image": [{"bytes": picture(k), "path": None} for k in range(4)], "caption": captions}
    pq.write_table(arrow_table(columns), tmp_path / "t.parquet")

    encoder = load_builtin()
    counter = Counting(encoder)
    cache = EmbeddingCache(tmp_path / "cache")
    from_shard = embed_dataset(load_paths([shard]), encoder, cache=cache)
    assert len(from_shard) == 8 and counter.items == 8 and cache.count() == 8
    assert cache.member_digests([f"{shard}::sample00002.png"])[f"{shard}::sample00002.png"] == \
        digest_file(files / "sample00002.png")

    from_files = embed_dataset(load_paths([files]), encoder, cache=cache)
    from_table = embed_dataset(load_paths([tmp_path / "t.parquet"]), encoder, cache=cache)
    assert counter.items == 8 and cache.count() == 8   # not one item more through the model, not one entry more
    shard_vectors, file_vectors = by_id(from_shard), by_id(from_files)
    assert shard_vectors.keys() == file_vectors.keys()
    for key, vector in shard_vectors.items():
        np.testing.assert_array_equal(vector, file_vectors[key])
    np.testing.assert_array_equal(from_table.vectors[from_table.modality == "image"],
                                  from_shard.vectors[from_shard.modality == "image"])

    # reopened: the members' digests are remembered with the shard's stamp, no member is read again
    import mmstudio.core.archives.members as members

    def unread(*_):
        raise AssertionError("a member was read again")

    monkeypatch.setattr(members, "member_bytes", unread)
    again = embed_dataset(load_paths([shard]), encoder, cache=cache)
    assert len(again) == 8 and counter.items == 8
