"""Model input prepared in one process and run through the model in another, as the Ray engine splits the work
(decode tasks prepare, encoder actors only encode): an encoder's weightless copy pickles and prepares
batches, which are cut into items, pickled one by one and joined back; the model then gives the vectors the
whole encoder gives in one call (the local engine's way), for the built-in model and every backend family.
"""

import pickle
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from mmstudio.core.dataset import Dataset, MediaRef, Sample
from mmstudio.encoders.embed import embed_dataset
from mmstudio.encoders.prepared import input_shape, join_prepared, prepare_items, split_prepared
from mmstudio.encoders.registry import load_encoder

TEXTS = ["a dog", "two blue squares beside a long red striped circle on the left", "café", "a small cat", "x"]


def media(encoder, modality):
    rng = np.random.default_rng(3)
    if modality == "image":
        return [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
                for h, w in ((40, 56), (30, 90), (72, 48), (64, 64), (20, 33))]
    if modality == "audio":  # no longer than the model reads (longer ones are cut at decoding)
        seconds = [f * encoder.max_audio_seconds for f in (0.3, 0.5, 0.8, 0.4, 1.0)]
        return [(0.3 * np.sin(2 * np.pi * (200 + 150 * i) * np.arange(int(s * encoder.audio_rate)) / encoder.audio_rate)
                 + 0.05 * rng.standard_normal(int(s * encoder.audio_rate))).astype(np.float32)
                for i, s in enumerate(seconds)]
    return list(TEXTS)


def through_workers(encoder, modality, items, chunk):
    """Prepare with the pickled weightless copy in batches of ``chunk``, ship each item pickled alone, join the
    items that fit together and run the model on them: (vectors in item order, how many batches were joined)."""
    preparer = pickle.loads(pickle.dumps(encoder.without_model()))
    assert preparer.model is None and encoder.model is not None
    prepared = []
    for start in range(0, len(items), chunk):
        for item, reason in prepare_items(preparer, modality, items[start:start + chunk]):
            assert reason is None
            prepared.append(pickle.loads(pickle.dumps(item)))
    groups: dict = {}
    for i, item in enumerate(prepared):
        groups.setdefault(input_shape(item), []).append(i)
    vectors = np.zeros((len(items), encoder.dim), np.float32)
    for rows in groups.values():
        vectors[rows] = encoder.encode(modality, join_prepared([prepared[i] for i in rows])).vectors
    return vectors, len(groups)


@pytest.mark.parametrize("key", ["builtin", "clip", "siglip", "clap", "blip", "siglip2"])
def test_items_prepared_elsewhere_give_the_vectors_of_the_whole_encoder(key, checkpoints, family_checkpoints):
    folder = {**checkpoints, **family_checkpoints}.get(key, key)
    encoder = load_encoder(str(folder), device="cpu")
    for modality in encoder.modalities:
        items = media(encoder, modality)
        got, batches = through_workers(encoder, modality, items, chunk=2)
        np.testing.assert_allclose(got, encoder.embed(modality, items).vectors, atol=1e-5, err_msg=modality)
        if modality == "text" and key in ("builtin", "clip"):  # padded to each batch's longest: joined apart
            assert batches > 1


def test_an_item_that_preparing_fails_on_is_named_with_the_local_engines_reason(monkeypatch):
    encoder = load_encoder("builtin", device="cpu")
    original = type(encoder).prepare

    def prepare(self, modality, items):
        if any("poison" in t for t in items):
            raise ValueError("cannot tokenize this")
        return original(self, modality, items)

    monkeypatch.setattr(type(encoder), "prepare", prepare)
    texts = ["fine one", "fine two", "poison pill", "fine three", "fine four"]
    results = prepare_items(encoder.without_model(), "text", texts)
    local = embed_dataset(Dataset([Sample(f"s{i}", {"text": MediaRef("text", text=t)}) for i, t in enumerate(texts)]),
                          encoder, batch_size=8)
    (error,) = local.errors
    assert [reason for _, reason in results] == [None, None, error.reason, None, None]
    assert error.reason == "model failed on this item (ValueError: cannot tokenize this)"
    joined = join_prepared([item for item, _ in results if item is not None])
    np.testing.assert_allclose(encoder.encode("text", joined).vectors, local.vectors, atol=1e-6)


def test_a_prepared_batch_that_is_not_one_entry_per_item_is_refused_by_name():
    with pytest.raises(ValueError, match="'words' holds 2 entries for 3 items"):
        split_prepared({"ids": np.zeros((3, 4)), "words": [["a"], ["b"]]}, 3)


def test_the_built_in_models_preparing_copy_works_without_torch(tmp_path):
    """A decode worker that prepares for the built-in model never imports torch (its memory and start-up)."""
    blob = tmp_path / "preparer.pkl"
    blob.write_bytes(pickle.dumps(load_encoder("builtin", device="cpu").without_model()))
    code = ("import pickle, sys; import numpy as np; from PIL import Image; "
            f"p = pickle.loads(open({str(blob)!r}, 'rb').read()); "
            "a = p.prepare('image', [Image.new('RGB', (80, 60))])['pixels'].shape; "
            "b = p.prepare('audio', [np.zeros(8000, np.float32)])['mels'].shape; "
            "c = p.prepare('text', ['a red dog'])['ids'].shape; print(a, b, c, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[0] == "(1, 3, 64, 64) (1, 100, 64) (1, 4) False"
