"""WebDataset tar shards: members grouped by key, read in place; damage costs only what it hits."""

import io
import tarfile

import numpy as np
import pytest
from archive_data import BROKEN, add_member, member_offsets, picture, write_shards
from PIL import Image

from mmstudio.core.archives.tar import list_tar
from mmstudio.core.errors import MediaError
from mmstudio.core.media.decode import decode
from mmstudio.core.sources.inputs import load_paths
from mmstudio.core.sources.webdataset import expand_braces


def test_brace_patterns_expand_like_the_shell_and_keep_zero_padding():
    assert expand_braces("s-{000000..000002}.tar") == ["s-000000.tar", "s-000001.tar", "s-000002.tar"]
    assert expand_braces("{a,b}/x-{8..10}.tar") == ["a/x-8.tar", "a/x-9.tar", "a/x-10.tar",
                                                    "b/x-8.tar", "b/x-9.tar", "b/x-10.tar"]
    assert expand_braces("plain.tar") == ["plain.tar"]


def test_three_shards_by_pattern_folder_or_file_give_one_sample_per_key(tmp_path):
    shards = write_shards(tmp_path / "wds", shards=3, per_shard=4)
    by_pattern = load_paths([str(tmp_path / "wds" / "shard-{000000..000002}.tar")])
    by_folder = load_paths([tmp_path / "wds"])
    assert [s.id for s in by_pattern.samples] == [s.id for s in by_folder.samples] == [f"sample{k:05d}" for k in range(12)]
    assert not by_folder.errors and not by_folder.notes
    sample = by_folder.samples[5]
    assert sample.label == "2" and sample.metadata == {"shard": "shard-000001.tar", "score": 0.05, "source": "test",
                                                        "tags": '["a"]'}
    assert sample.items["image"].path == f"{shards[1]}::sample00005.png"
    np.testing.assert_array_equal(np.asarray(decode(sample.items["image"])),
                                  np.asarray(Image.open(io.BytesIO(picture(5))).convert("RGB")))
    assert decode(sample.items["text"]) == "a blue square number 5"
    assert len(load_paths([shards[2]])) == 4


def test_a_truncated_shard_and_a_corrupt_member_cost_only_their_items(tmp_path):
    shards = write_shards(tmp_path / "wds", shards=3, per_shard=5, corrupt=(2,))
    offsets = member_offsets(shards[1])
    _, data_at, size = offsets["sample00008.png"]
    shards[1].write_bytes(shards[1].read_bytes()[:data_at + size // 2])   # cut inside sample 8's picture
    dataset = load_paths([tmp_path / "wds"])
    ids = [s.id for s in dataset.samples]
    assert ids == [f"sample{k:05d}" for k in range(9)] + [f"sample{k:05d}" for k in range(10, 15)]
    cut = [e for e in dataset.errors if e.modality == "image"]
    assert len(cut) == 1 and cut[0].path == f"{shards[1]}::sample00008.png"
    assert cut[0].reason == f"member is truncated: the shard ends {size // 2:,} bytes into its {size:,} bytes"
    assert set(dataset.samples[8].items) == set()   # its caption and the rest of the shard are gone with the cut
    with pytest.raises(MediaError) as corrupt:
        decode(dataset.samples[2].items["image"])
    assert corrupt.value.path == f"{shards[0]}::sample00002.png" and "not an image file" in corrupt.value.reason
    decode(dataset.samples[3].items["image"])


def test_a_damaged_header_is_skipped_to_the_next_member_and_named(tmp_path):
    shard = write_shards(tmp_path / "wds", shards=1, per_shard=4)[0]
    header_at, _, _ = member_offsets(shard)["sample00001.png"]
    raw = bytearray(shard.read_bytes())
    raw[header_at:header_at + 100] = b"\xff" * 100   # its name and checksum
    shard.write_bytes(bytes(raw))
    listing = list_tar(shard)
    assert "sample00001.png" not in [m.name for m in listing.members]
    assert "sample00001.txt" in [m.name for m in listing.members]
    assert listing.problems[0].startswith(f"damaged tar header at byte {header_at:,}:")
    dataset = load_paths([shard])
    assert [s.id for s in dataset.samples] == [f"sample{k:05d}" for k in range(4)]
    assert set(dataset.samples[1].items) == {"text"}
    assert dataset.skipped[0].path == str(shard) and "damaged tar header" in dataset.skipped[0].reason


def test_a_file_that_is_not_a_tar_is_one_line(tmp_path):
    (tmp_path / "bad.tar").write_bytes(BROKEN * 100)
    dataset = load_paths([tmp_path / "bad.tar"])
    assert len(dataset) == 0 and [e.reason for e in dataset.skipped] == ["not a tar file (no valid header)"]


def test_other_members_are_counted_once_and_a_second_image_is_skipped(tmp_path):
    shard = tmp_path / "mixed.tar"
    with tarfile.open(shard, "w") as tar:
        for k in range(3):
            add_member(tar, f"dir/k{k}.jpg", picture(k, fmt="JPEG"))
            add_member(tar, f"dir/k{k}.seg.png", picture(k))
            add_member(tar, f"dir/k{k}.npy", b"\x93NUMPY")
            add_member(tar, f"dir/k{k}.label.txt", b"cat\n")
    dataset = load_paths([shard])
    assert [s.id for s in dataset.samples] == ["dir/k0", "dir/k1", "dir/k2"]
    assert {s.label for s in dataset.samples} == {"cat"}
    assert [n.reason for n in dataset.notes] == ["3 members of type .npy not used"]
    assert len(dataset.skipped) == 3 and "already has an image (dir/k0.jpg)" in dataset.skipped[0].reason
