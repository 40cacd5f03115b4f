"""Is this the demo world? How much of a dataset the built-in model was never trained on.

The built-in model knows only the demo world (``mmstudio/demo``): captions made of its word list,
64×64 pictures of coloured shapes, one-second 16 kHz clips of notes. On other media it still
gives vectors, but they mean little. :func:`check_demo_fit` measures, from the data:

* **captions**: the share of their words (lower-cased runs of a–z, as the model's tokenizer cuts
  them) that are not in the model's vocabulary;
* **images**: the share whose size (from the file's header) is not the model's input size, 64×64;
* **sounds**: the share that are not mono clips at the model's rate (16 kHz) lasting its window
  (1 s) within ``AUDIO_SLACK_S``, from the file's header.

No pixel or sample is decoded, and no torch. A modality is *unfamiliar* when its share is above
``NOTE_SHARE``; the window shows a note and ``mmstudio embed`` a warning then. With more than
``MAX_CHECKED`` items of a modality, an even sample of that many is read (and the note says so).
"""

from __future__ import annotations

from dataclasses import dataclass

NOTE_SHARE = 0.25        # a note when more than a quarter of the words, images or sounds are not the demo's
MAX_CHECKED = 1000       # items read per modality (an even sample of larger datasets)
AUDIO_SLACK_S = 0.1      # a sound of 0.9–1.1 s is a one-second clip
EXAMPLES = 5


@dataclass(frozen=True)
class ModalityFit:
    """One modality of a dataset against what the built-in model was trained on."""

    modality: str
    unit: str                  # what was counted: "caption words", "images", "sounds"
    counted: int               # words or items counted
    off: int                   # of them, not like the demo world's
    criterion: str             # what "off" means, e.g. "not 64×64 pixels"
    checked: int               # items read (captions, images, sounds)
    total: int                 # items of this modality in the dataset
    examples: tuple[str, ...]  # a few of the unknown words, or of the sizes found

    @property
    def share(self) -> float:
        return self.off / self.counted if self.counted else 0.0

    @property
    def unfamiliar(self) -> bool:
        return self.counted > 0 and self.share > NOTE_SHARE

    def phrase(self) -> str:
        """"83 % of caption words are unknown to the built-in model" (and how many were read, when sampled)."""
        sampled = f" (in {self.checked:,} of {self.total:,} {_items(self.modality)} read)" if self.checked < self.total else ""
        return f"{percent(self.share)} of {self.unit} {self.criterion}{sampled}"


@dataclass(frozen=True)
class DemoFit:
    parts: tuple[ModalityFit, ...]   # one per modality the dataset has

    def unfamiliar(self) -> list[ModalityFit]:
        return [p for p in self.parts if p.unfamiliar]

    def note(self) -> str | None:
        """The sentence for the user, or None when the data looks like the demo world."""
        parts = self.unfamiliar()
        if not parts:
            return None
        phrases = [p.phrase() for p in parts]
        said = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
        return f"{said}; it was trained only on the demo world"

    def criterion(self) -> str:
        """How the note is decided, in words (its tooltip, the CLI's detail)."""
        counts = "; ".join(f"{p.unit}: {p.off:,} of {p.counted:,} {p.criterion}"
                           + (f" (e.g. {', '.join(p.examples)})" if p.examples and p.off else "")
                           for p in self.parts)
        return (f"{counts}. Said when more than {percent(NOTE_SHARE)} of the caption words, the images or the "
                "sounds are not like the demo world's (its vocabulary; 64×64 pictures; one-second 16 kHz mono clips).")


def percent(share: float) -> str:
    """83 %; never "0 %" for some nor "100 %" for not all."""
    value = round(100 * share)
    if value == 0 and share > 0:
        return "<1 %"
    if value == 100 and share < 1:
        return "99 %"
    return f"{value} %"


def _items(modality: str) -> str:
    return {"text": "captions", "image": "images", "audio": "sounds"}[modality]


def check_demo_fit(dataset, vocabulary, *, image_size: tuple[int, int] = (64, 64), audio_rate: int = 16000,
                   audio_seconds: float = 1.0, limit: int = MAX_CHECKED, job=None) -> DemoFit:
    """Measure how much of ``dataset`` (a :class:`~mmstudio.core.dataset.Dataset`) is like the demo
    world of a built-in model with this ``vocabulary``, input ``image_size`` (w, h) and audio window."""
    from mmstudio.core.jobs import Job

    job = job or Job()
    parts = []
    for modality in ("text", "image", "audio"):
        refs = [s.items[modality] for s in dataset.samples if modality in s.items]
        if not refs:
            continue
        picked = refs if len(refs) <= limit else [refs[i * len(refs) // limit] for i in range(limit)]
        if modality == "text":
            parts.append(_captions(picked, len(refs), set(vocabulary), job))
        elif modality == "image":
            parts.append(_images(picked, len(refs), tuple(image_size), job))
        else:
            parts.append(_sounds(picked, len(refs), audio_rate, audio_seconds, job))
    return DemoFit(tuple(parts))


def builtin_fit(dataset, encoder, job=None) -> DemoFit | None:
    """:func:`check_demo_fit` for this encoder when it is the built-in model (None for any other)."""
    cfg = getattr(encoder, "cfg", None)
    if getattr(encoder, "name", None) != "builtin" or cfg is None:
        return None
    return check_demo_fit(dataset, cfg.vocabulary, image_size=(cfg.image_size, cfg.image_size),
                          audio_rate=cfg.sample_rate, audio_seconds=cfg.audio_seconds, job=job)


def _captions(refs, total: int, vocabulary: set, job) -> ModalityFit:
    from collections import Counter

    from mmstudio.core.errors import MediaError
    from mmstudio.core.media.text import read_text
    from mmstudio.encoders.builtin.features import WORD

    words = unknown = checked = 0
    seen: Counter = Counter()
    for i, ref in enumerate(refs):
        if i % 200 == 0:
            job.check()
            job.progress(i, len(refs))
        try:
            text = ref.text if ref.text is not None else read_text(ref.path).text
        except MediaError:
            continue  # unreadable: the encoding says so
        checked += 1
        found = WORD.findall(text.lower())
        words += len(found)
        missing = [w for w in found if w not in vocabulary]
        unknown += len(missing)
        seen.update(missing)
    return ModalityFit("text", "caption words", words, unknown, "are unknown to the built-in model", checked, total,
                       tuple(w for w, _ in seen.most_common(EXAMPLES)))


def _images(refs, total: int, size: tuple[int, int], job) -> ModalityFit:
    from collections import Counter

    from mmstudio.core.errors import MediaError
    from mmstudio.core.media.image import image_size

    off = checked = 0
    sizes: Counter = Counter()
    for i, ref in enumerate(refs):
        if i % 200 == 0:
            job.check()
        try:
            found = image_size(ref.path)
        except MediaError:
            continue
        checked += 1
        if tuple(found) != size:
            off += 1
            sizes[f"{found[0]}×{found[1]}"] += 1
    return ModalityFit("image", "images", checked, off, f"are not {size[0]}×{size[1]} pixels like the demo's",
                       checked, total, tuple(s for s, _ in sizes.most_common(EXAMPLES)))


def _sounds(refs, total: int, rate: int, seconds: float, job) -> ModalityFit:
    from collections import Counter

    from mmstudio.core.errors import MediaError
    from mmstudio.core.media.audio import audio_header

    off = checked = 0
    kinds: Counter = Counter()
    for i, ref in enumerate(refs):
        if i % 200 == 0:
            job.check()
        try:
            found_rate, channels, frames = audio_header(ref.path)
        except MediaError:
            continue
        checked += 1
        duration = frames / found_rate if found_rate else 0.0
        if found_rate != rate or channels != 1 or abs(duration - seconds) > AUDIO_SLACK_S:
            off += 1
            kinds[f"{duration:.1f} s at {found_rate / 1000:g} kHz" + ("" if channels == 1 else f", {channels} ch")] += 1
    return ModalityFit("audio", "sounds", checked, off,
                       f"are not {seconds:g}-second {rate / 1000:g} kHz mono clips like the demo's",
                       checked, total, tuple(k for k, _ in kinds.most_common(EXAMPLES)))
