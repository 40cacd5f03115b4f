"""The demo world: deterministic, truthful ground truth, the xor structure, files a user can open."""

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from mmstudio.core.sources.inputs import load_paths
from mmstudio.core.sources.manifest import read_manifest
from mmstudio.demo.captions import SYNONYMS, describe, describe_object
from mmstudio.demo.make import Corruption, make_world
from mmstudio.demo.render import PITCH, RGB, render_image, render_sound
from mmstudio.demo.world import COLORS, SHAPES, make_scenes


def test_same_seed_same_world_other_seed_other_world():
    a, b, c = make_scenes(50, seed=1), make_scenes(50, seed=1), make_scenes(50, seed=2)
    assert a == b and a != c
    np.testing.assert_array_equal(render_image(a[3]), render_image(b[3]))
    np.testing.assert_array_equal(render_sound(a[3]), render_sound(b[3]))


def test_world_covers_every_shape_colour_and_both_object_counts():
    scenes = make_scenes(400, seed=0)
    assert {o.shape for s in scenes for o in s.objects} == set(SHAPES)
    assert {o.color for s in scenes for o in s.objects} == set(COLORS)
    counts = [len(s.objects) for s in scenes]
    assert 0.4 < counts.count(2) / len(counts) < 0.6
    assert all(s.objects[0].center[0] < s.objects[1].center[0] for s in scenes if len(s.objects) == 2)


def test_xor_is_independent_of_each_modality_alone():
    scenes = make_scenes(4000, seed=5)
    xor = np.array([s.xor for s in scenes])
    striped = np.array([s.first.striped for s in scenes])
    echo = np.array([s.echo for s in scenes])
    assert abs(xor.mean() - 0.5) < 0.03
    for attribute in (striped, echo):  # knowing one attribute says nothing about the label
        assert abs(xor[attribute].mean() - 0.5) < 0.04 and abs(xor[~attribute].mean() - 0.5) < 0.04
    np.testing.assert_array_equal(xor, striped ^ echo)


def test_objects_are_drawn_in_their_boxes_with_their_colour():
    for scene in make_scenes(30, seed=3):
        image = render_image(scene).astype(float)
        for obj in scene.objects:
            x, y = (int(v) for v in obj.center)
            if obj.shape in ("ring",):
                continue  # hollow in the middle
            centre = image[y - 1:y + 2, x - 1:x + 2].reshape(-1, 3).mean(0)
            if not obj.striped:
                assert np.abs(centre - RGB[obj.color]).max() < 40, (obj, centre)
            x0, y0, x1, y1 = obj.box
            assert 0 <= x0 < x < x1 <= 64 and 0 <= y0 < y < y1 <= 64


def test_each_note_sounds_in_its_segment_at_its_pitch():
    for scene in [s for s in make_scenes(40, seed=4) if not s.echo][:10]:
        sound = render_sound(scene)
        for obj in scene.objects:
            a, b = (int(t * 16000) for t in obj.segment)
            inside = sound[a:b]
            spectrum = np.abs(np.fft.rfft(inside * np.hanning(len(inside))))
            freqs = np.fft.rfftfreq(len(inside), 1 / 16000)
            peak = freqs[np.argmax(spectrum)]
            assert abs(peak - PITCH[obj.color]) / PITCH[obj.color] < 0.05, (obj, peak)
        silent = np.ones(len(sound), bool)
        for obj in scene.objects:
            silent[int(obj.segment[0] * 16000):int(obj.segment[1] * 16000)] = False
        loud = ~silent
        assert np.sqrt(np.mean(sound[loud] ** 2)) > 5 * np.sqrt(np.mean(sound[silent] ** 2))


def test_captions_name_objects_in_order_with_synonyms_and_owners():
    rng = np.random.default_rng(0)
    for scene in make_scenes(60, seed=6):
        caption = describe(scene, rng)
        positions = []
        for k, obj in enumerate(scene.objects):
            named = [i for i, (w, o) in enumerate(zip(caption.words, caption.owners)) if o == k]
            words = {caption.words[i] for i in named}
            assert words & set(SYNONYMS[obj.shape]) and words & set(SYNONYMS[obj.color])
            positions.append(min(named))
        assert positions == sorted(positions)
        single = describe_object(scene, len(scene.objects) - 1, rng)
        assert set(single.owners) == {len(scene.objects) - 1}


def test_make_writes_files_and_a_manifest_the_loaders_read(tmp_path):
    manifest = make_world(tmp_path / "world", n=12, seed=3)
    dataset = read_manifest(manifest)
    assert len(dataset) == 12 and dataset.errors == []
    sample = dataset.samples[0]
    assert sample.modalities == ("image", "audio", "text")
    assert sample.label == sample.metadata["shape"]
    assert {"shape", "color", "xor", "obj1_box", "obj1_segment", "echo", "caption"} <= set(sample.metadata)
    with Image.open(sample.items["image"].path) as im:
        assert im.size == (64, 64) and im.mode == "RGB"
    audio, rate = sf.read(sample.items["audio"].path)
    assert rate == 16000 and len(audio) == 16000
    assert [s.id for s in load_paths([tmp_path / "world"]).samples] == [s.id for s in dataset.samples]


def test_make_is_deterministic(tmp_path):
    make_world(tmp_path / "a", n=5, seed=9)
    make_world(tmp_path / "b", n=5, seed=9)
    for name in ("scene_00003.png", "scene_00003.wav", "scene_00003.txt", "manifest.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_corruption_replaces_the_stated_fraction_and_keeps_the_truth(tmp_path):
    manifest = make_world(tmp_path / "c", n=20, seed=2, corrupt=[Corruption.parse("image=0.25"),
                                                                  Corruption.parse("audio=0.1:noise")])
    rows = read_manifest(manifest).samples
    corrupted = [r.metadata["corrupted"] for r in rows]
    assert sum("image:swap" in c for c in corrupted) == 5
    assert sum("audio:noise" in c for c in corrupted) == 2
    scenes = make_scenes(20, seed=2)
    for row, scene in zip(rows, scenes):
        image = np.asarray(Image.open(row.items["image"].path))
        same = np.array_equal(image, render_image(scene))
        assert same == ("image:swap" not in row.metadata["corrupted"])
        assert row.metadata["shape"] == scene.shape  # the ground truth is the scene's, not the swapped content's


@pytest.mark.parametrize("text", ["image", "image=2", "smell=0.5", "audio=0.5:blur"])
def test_bad_corrupt_options_are_explained(text):
    with pytest.raises(ValueError, match="--corrupt"):
        Corruption.parse(text)
