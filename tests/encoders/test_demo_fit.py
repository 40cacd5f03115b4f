"""The built-in model on media it was not trained on: the shares measured from the data (recomputed
here from its vocabulary and the files), the note's sentence, and ``mmstudio embed``'s warning."""

import json

import soundfile as sf
from foreign_media import write_foreign_media
from PIL import Image
from ui_helpers import DEMO

from mmstudio.__main__ import main
from mmstudio.core.sources.inputs import load_paths
from mmstudio.encoders.builtin.domain import NOTE_SHARE, check_demo_fit
from mmstudio.encoders.builtin.encoder import resources_folder


def vocabulary() -> list[str]:
    return json.loads((resources_folder() / "config.json").read_text())["model"]["vocabulary"]


def recount(folder) -> tuple[int, int]:
    """(unknown words, words) of the folder's captions, counted here: split on spaces, full stops dropped."""
    known = set(vocabulary())
    words = [w for f in sorted(folder.glob("*.txt")) for w in f.read_text().lower().replace(".", " ").split()]
    return sum(w not in known for w in words), len(words)


def test_the_demo_world_gets_no_note():
    fit = check_demo_fit(load_paths([DEMO]), vocabulary())
    assert {p.modality: (p.off, p.counted > 0) for p in fit.parts} == {"text": (0, True), "image": (0, True),
                                                                        "audio": (0, True)}
    assert fit.note() is None


def test_photos_and_english_captions_get_the_share_of_unknown_words(tmp_path):
    write_foreign_media(tmp_path, n=8, sounds=2)
    fit = check_demo_fit(load_paths([tmp_path]), vocabulary())
    parts = {p.modality: p for p in fit.parts}
    unknown, words = recount(tmp_path)
    assert (parts["text"].off, parts["text"].counted) == (unknown, words)
    sizes = [Image.open(f).size for f in sorted(tmp_path.glob("*.jpg"))]
    assert (parts["image"].off, parts["image"].counted) == (sum(s != (64, 64) for s in sizes), 8) == (8, 8)
    wavs = [sf.info(str(f)) for f in sorted(tmp_path.glob("*.wav"))]
    assert (parts["audio"].off, parts["audio"].counted) == (sum(i.samplerate != 16000 for i in wavs), 2) == (2, 2)
    share = round(100 * unknown / words)
    assert unknown / words > NOTE_SHARE
    assert fit.note() == (f"{share} % of caption words are unknown to the built-in model, 100 % of images are not "
                          "64×64 pixels like the demo's and 100 % of sounds are not 1-second 16 kHz mono clips like "
                          "the demo's; it was trained only on the demo world")


def test_a_large_dataset_is_checked_on_an_even_sample_and_says_so(tmp_path):
    write_foreign_media(tmp_path, n=8, sounds=0)
    fit = check_demo_fit(load_paths([tmp_path]), vocabulary(), limit=4)
    text = next(p for p in fit.parts if p.modality == "text")
    assert (text.checked, text.total) == (4, 8)
    assert "(in 4 of 8 captions read)" in fit.note()


def test_embed_with_the_builtin_model_warns_on_stderr(tmp_path, capsys):
    write_foreign_media(tmp_path / "media", n=3, sounds=0)
    assert main(["embed", str(tmp_path / "media"), "--out", str(tmp_path / "out.parquet")]) == 0
    unknown, words = recount(tmp_path / "media")
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("mmstudio embed: warning:")]
    assert lines == [f"mmstudio embed: warning: {round(100 * unknown / words)} % of caption words are unknown to the "
                     "built-in model and 100 % of images are not 64×64 pixels like the demo's; it was trained only "
                     "on the demo world. Give another model with --model (`mmstudio models` lists those in the "
                     "Hugging Face cache)"]


def test_embed_of_the_demo_world_does_not_warn(tmp_path, capsys):
    assert main(["embed", str(DEMO / "scene_00000.png"), str(DEMO / "scene_00000.txt"),
                 "--out", str(tmp_path / "out.parquet")]) == 0
    assert "warning" not in capsys.readouterr().err
