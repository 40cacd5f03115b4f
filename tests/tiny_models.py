"""Tiny random Hugging Face checkpoints, built offline, for tests and benchmarks.

Each ``build_tiny_*`` function writes a folder that looks like a real checkpoint on disk
(``config.json`` + ``model.safetensors`` + tokenizer files + ``preprocessor_config.json``), so
mmstudio's loader can open it with ``local_files_only=True`` exactly as it would open, say,
``openai/clip-vit-base-patch32`` after a download:

* ``clip``: ``CLIPModel``, ``CLIPTokenizer`` (byte-level BPE), ``CLIPImageProcessor``
* ``siglip``: ``SiglipModel``, ``T5Tokenizer`` (Unigram), ``SiglipImageProcessor``
* ``clap``: ``ClapModel``, ``RobertaTokenizer`` (byte-level BPE), ``ClapFeatureExtractor``
* ``blip``: ``BlipForImageTextRetrieval``, ``BertTokenizer`` (WordPiece), ``BlipImageProcessor``

The other families (SigLIP 2, ALIGN, AltCLIP, Chinese-CLIP, MetaCLIP 2, fused CLAP) are built by
``tests/tiny_families.py`` with the helpers here.

The weights are random (``torch.manual_seed(0)`` inside a forked RNG, so the caller's RNG state
is untouched). The tokenizers are small vocabularies learnt from the built-in English corpus
:data:`CORPUS`, split by the ``tokenizers`` normalizers/pre-tokenizers of the same transformers
classes the real checkpoints use (SigLIP excepted, see :func:`build_tiny_siglip`): BPE merges
by a small deterministic trainer here, the Unigram by ``tokenizers``' ``UnigramTrainer``, the
WordPiece vocabulary written from word counts. (``tokenizers``' BPE/WordPiece trainers break
ties in hash order, which differs between processes.) Builds are byte-for-byte reproducible,
take a few tens of milliseconds once transformers is imported, and never touch the network.

Deliberate choices, each mirroring the real checkpoint:

* CLIP: the vocabulary is laid out like OpenAI's (256 byte symbols, the same 256 with ``</w>``,
  the merges, then ``<|startoftext|>`` and ``<|endoftext|>`` as the two LAST ids), and the text
  config's ``bos_token_id``/``eos_token_id`` point at them, so the EOS pooling picks the real
  end-of-text token (the default 49406/49407 would fall outside the tiny vocabulary).
* SigLIP: ``model_max_length`` = text ``max_position_embeddings`` and the tokenizer only
  returns ``input_ids`` (as ``SiglipTokenizer`` does): pad with ``padding="max_length"``.
  ``logit_scale``/``logit_bias`` are set to the SigLIP paper's initial values (log 10, -10)
  instead of the zeros of a fresh ``SiglipModel``.
* CLAP: ``truncation="rand_trunc"``, like ``laion/clap-htsat-unfused``: an unfused audio tower
  (``enable_fusion=False``) has a 1-channel patch embedding, and ``"fusion"`` features are
  4-channel, so the unfused checkpoint cannot run with ``"fusion"``. ``rand_trunc`` is also
  deterministic for clips no longer than ``max_length_s`` (it only crops longer ones, at random).
* BLIP: ``architectures == ["BlipForImageTextRetrieval"]`` (``AutoModel`` would build
  ``BlipModel``; pick the class from ``config.architectures``). ``[DEC]`` is the last id and the
  text config's ``bos_token_id``, as in Salesforce's checkpoints.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import math
from collections import Counter
from pathlib import Path

__all__ = [
    "CORPUS",
    "build_all",
    "build_tiny_blip_itm",
    "build_tiny_clap",
    "build_tiny_clip",
    "build_tiny_siglip",
]

# A small English corpus, caption-like, to train the tokenizers on. The last lines hold every
# printable ASCII character so that no character a test types falls back to the unknown token.
CORPUS: tuple[str, ...] = (
    "a photo of a cat sitting on a red sofa",
    "a photo of a dog running on the beach",
    "a close-up photo of a small bird on a branch",
    "two dogs playing with a ball in the park",
    "a black cat sleeping next to a window",
    "a man riding a bicycle down a busy street",
    "a woman holding an umbrella in the rain",
    "a plate of pasta with tomato sauce and basil",
    "a bowl of fresh fruit on a wooden table",
    "a red car parked in front of a house",
    "a yellow school bus driving on the road",
    "a train crossing a bridge over a river",
    "an airplane flying over snowy mountains",
    "a sailboat on a calm blue lake at sunset",
    "a city skyline at night with bright lights",
    "a forest path covered with autumn leaves",
    "a child flying a kite on a windy day",
    "a group of people sitting around a campfire",
    "a painting of flowers in a glass vase",
    "a diagram of a neural network with many layers",
    "the sound of a dog barking in the distance",
    "the sound of a cat meowing",
    "birds singing in the morning",
    "rain falling on a tin roof",
    "thunder rumbling during a storm",
    "a car engine starting and revving",
    "people talking and laughing in a crowded room",
    "a piano playing a slow gentle melody",
    "an electric guitar playing a loud rock riff",
    "drums and bass playing a fast rhythm",
    "a violin playing a sad song",
    "waves crashing on the shore",
    "wind blowing through the trees",
    "footsteps on a wooden floor",
    "a door closing with a bang",
    "an ambulance siren passing by",
    "a baby crying and a mother singing softly",
    "water dripping from a tap in the kitchen",
    "a clock ticking in a quiet room",
    "applause from a large audience after a concert",
    "This is a picture of a cat. This is a picture of a dog!",
    "What is in the image? Is it a horse, a cow or a sheep?",
    "It's the photo I've taken, they'll say; we'd like it and you're right.",
    "The 3 cats and 2 dogs, 10 birds, 100 fish (and 1,000 ants).",
    "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789",
    "! \" # $ % & ' ( ) * + , - . / : ; < = > ? @ [ \\ ] ^ _ ` { | } ~",
)

# OpenAI CLIP's image normalisation (also BLIP's).
_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
_CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _bytes_to_unicode() -> list[str]:
    """GPT-2/CLIP byte-level alphabet: the 256 printable stand-ins for bytes 0..255, in the
    order OpenAI's vocabularies list them."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    bs += list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def _corpus_words(normalizer, pre_tokenizer, corpus=CORPUS) -> Counter:
    """Word counts of ``corpus`` as the tokenizer's own normalizer and pre-tokenizer split it."""
    counts: Counter = Counter()
    for line in corpus:
        text = normalizer.normalize_str(line) if normalizer is not None else line
        counts.update(piece for piece, _ in pre_tokenizer.pre_tokenize_str(text))
    return counts


def _train_bpe(words: Counter, *, suffix: str, num_merges: int, min_frequency: int = 2):
    """Learn BPE merges on ``words`` (pre-tokenized, byte-level strings).

    A plain, deterministic BPE: each step merges the most frequent adjacent pair, ties broken
    by the pair itself. (``tokenizers``' trainers break ties by hash order, so their vocabulary
    changes from one process to the next; this one is identical on every run.) ``suffix`` is
    appended to each word's last symbol (CLIP's ``</w>``; empty for GPT-2/RoBERTa).
    """
    corpus = []
    for word, count in sorted(words.items()):
        symbols = list(word)
        symbols[-1] += suffix
        corpus.append((symbols, count))
    merges: list[tuple[str, str]] = []
    while len(merges) < num_merges:
        pairs: Counter = Counter()
        for symbols, count in corpus:
            for pair in zip(symbols, symbols[1:]):
                pairs[pair] += count
        if not pairs:
            break
        best, freq = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
        if freq < min_frequency:
            break
        merges.append(best)
        merged = best[0] + best[1]
        for symbols, _ in corpus:
            i = 0
            while i < len(symbols) - 1:
                if symbols[i] == best[0] and symbols[i + 1] == best[1]:
                    symbols[i : i + 2] = [merged]
                i += 1
    return merges


def _vocab_from_merges(head: list[str], merges: list[tuple[str, str]], tail: list[str]) -> dict:
    """Lay out a BPE vocabulary: ``head`` tokens, each merge's result in merge order, ``tail``."""
    vocab: dict[str, int] = {}
    for token in [*head, *(a + b for a, b in merges), *tail]:
        vocab.setdefault(token, len(vocab))
    return vocab


def _save_model(model, folder: Path) -> None:
    model.save_pretrained(folder, safe_serialization=True)


def _seeded_init(build):
    """Run ``build()`` with torch seeded to 0, restoring the caller's RNG state afterwards."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return build()


class _DropDefaultConfigNoise(logging.Filter):
    """Drop transformers' complaint about the DEFAULT SiglipTextConfig (vocab 32000, bos/eos
    49406/49407), which it builds internally whenever a SigLIP config is serialised."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "must be `None` or an integer within the vocabulary" not in record.getMessage()


@contextlib.contextmanager
def _quiet():
    """No progress bars and no default-config noise while building (restored afterwards)."""
    from transformers.utils import logging as hf_logging

    logger = hf_logging.get_logger("transformers.configuration_utils")
    noise = _DropDefaultConfigNoise()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    logger.addFilter(noise)
    try:
        yield
    finally:
        logger.removeFilter(noise)
        if bars:
            hf_logging.enable_progress_bar()


def _quietly(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with _quiet():
            return fn(*args, **kwargs)

    return wrapper


def _prepare(folder) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# --------------------------------------------------------------------------------------------
# tokenizers
# --------------------------------------------------------------------------------------------


def _clip_tokenizer(model_max_length: int, num_merges: int):
    """A CLIPTokenizer: byte-level BPE with ``</w>`` word ends, merges learnt on CORPUS."""
    from transformers import CLIPTokenizer

    template = CLIPTokenizer()  # empty vocab: only used for its normalizer and pre-tokenizer
    backend = template.backend_tokenizer
    words = _corpus_words(backend.normalizer, backend.pre_tokenizer)
    merges = _train_bpe(words, suffix="</w>", num_merges=num_merges)
    alphabet = _bytes_to_unicode()
    head = alphabet + [c + "</w>" for c in alphabet]
    vocab = _vocab_from_merges(head, merges, ["<|startoftext|>", "<|endoftext|>"])
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=model_max_length)


def _roberta_tokenizer(model_max_length: int, num_merges: int):
    """A RobertaTokenizer (byte-level BPE, ids <s>=0 <pad>=1 </s>=2 <unk>=3, <mask> last)."""
    from transformers import RobertaTokenizer

    template = RobertaTokenizer()
    words = _corpus_words(None, template.backend_tokenizer.pre_tokenizer)
    merges = _train_bpe(words, suffix="", num_merges=num_merges)
    head = ["<s>", "<pad>", "</s>", "<unk>"] + _bytes_to_unicode()
    vocab = _vocab_from_merges(head, merges, ["<mask>"])
    return RobertaTokenizer(vocab=vocab, merges=merges, model_max_length=model_max_length)


def _bert_tokenizer(model_max_length: int, max_words: int, corpus=CORPUS):
    """A lower-casing BertTokenizer with a WordPiece vocabulary written from ``corpus`` (CORPUS).

    Layout: [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4, every character and its ``##`` form,
    the corpus' words (most frequent first, at most ``max_words``), then ``[DEC]`` (the bos
    token BLIP's text decoder starts from) as the last id.
    """
    from transformers import BertTokenizer

    template = BertTokenizer()
    backend = template.backend_tokenizer
    words = _corpus_words(backend.normalizer, backend.pre_tokenizer, corpus)
    chars = sorted({c for word in words for c in word})
    ranked = sorted(words, key=lambda w: (-words[w], w))
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars, *("##" + c for c in chars)]
    tokens += [w for w in ranked if len(w) > 1][:max_words]
    tokens.append("[DEC]")
    vocab = {tok: i for i, tok in enumerate(dict.fromkeys(tokens))}
    return BertTokenizer(vocab=vocab, bos_token="[DEC]", model_max_length=model_max_length)


def _siglip_tokenizer(model_max_length: int, vocab_size: int):
    """A T5Tokenizer (SentencePiece-style Unigram with ▁ word marks, ``</s>`` appended).

    ids: <pad>=0, </s>=1, <unk>=2. Like SigLIP's own tokenizer, ``</s>`` is also the pad token
    and only ``input_ids`` are returned (SigLIP was trained without an attention mask).
    """
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import T5Tokenizer

    raw = Tokenizer(models.Unigram())
    raw.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.WhitespaceSplit(),
            pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True),
        ]
    )
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size,
        special_tokens=["<pad>", "</s>", "<unk>"],
        unk_token="<unk>",
        show_progress=False,
    )
    raw.train_from_iterator(CORPUS, trainer=trainer)
    pieces = [(piece, round(score, 6)) for piece, score in json.loads(raw.to_str())["model"]["vocab"]]
    assert [p[0] for p in pieces[:3]] == ["<pad>", "</s>", "<unk>"], pieces[:3]
    # The trainer orders pieces of equal score by hash order, which changes from one process to
    # the next (the set of pieces and their scores do not): sort them for a stable layout.
    pieces = pieces[:3] + sorted(pieces[3:], key=lambda p: (-p[1], p[0]))
    return T5Tokenizer(
        vocab=pieces,
        extra_ids=0,
        pad_token="</s>",
        model_max_length=model_max_length,
        model_input_names=["input_ids"],
    )


# --------------------------------------------------------------------------------------------
# builders
# --------------------------------------------------------------------------------------------


@_quietly
def build_tiny_clip(
    folder,
    *,
    image_size: int = 32,
    patch_size: int = 8,
    hidden: int = 32,
    layers: int = 2,
    heads: int = 4,
    proj_dim: int = 16,
    text_max_length: int = 77,
    num_merges: int = 300,
) -> Path:
    """Write a random ``CLIPModel`` checkpoint (CLIPTokenizer + CLIPImageProcessor) to ``folder``.

    The same function builds a bigger CLIP-shaped model for benchmarks, e.g.
    ``image_size=224, patch_size=32, hidden=256, layers=4, heads=4, proj_dim=128``.
    Text and vision towers share ``hidden``/``layers``/``heads``.
    """
    from transformers import CLIPConfig, CLIPModel
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    folder = _prepare(folder)
    tokenizer = _clip_tokenizer(text_max_length, num_merges)
    text_config = dict(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=4 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        max_position_embeddings=text_max_length,
        projection_dim=proj_dim,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    vision_config = dict(
        hidden_size=hidden,
        intermediate_size=4 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        image_size=image_size,
        patch_size=patch_size,
        projection_dim=proj_dim,
    )
    config = CLIPConfig(text_config=text_config, vision_config=vision_config, projection_dim=proj_dim)
    config.architectures = ["CLIPModel"]
    model = _seeded_init(lambda: CLIPModel(config).eval())
    _save_model(model, folder)
    tokenizer.save_pretrained(folder)
    CLIPImageProcessorPil(
        size={"shortest_edge": image_size},
        crop_size={"height": image_size, "width": image_size},
        image_mean=_CLIP_MEAN,
        image_std=_CLIP_STD,
    ).save_pretrained(folder)
    return folder


@_quietly
def build_tiny_siglip(
    folder,
    *,
    image_size: int = 32,
    patch_size: int = 8,
    hidden: int = 32,
    layers: int = 2,
    heads: int = 4,
    text_max_length: int = 16,
    vocab_size: int = 300,
) -> Path:
    """Write a random ``SiglipModel`` checkpoint (tokenizer + SiglipImageProcessor) to ``folder``.

    SigLIP's real tokenizer is a SentencePiece ``SiglipTokenizer``, which needs the
    ``sentencepiece`` package (not installed here) and a binary ``spiece.model``; this folder uses
    a ``T5Tokenizer`` (tokenizers-backed Unigram, ``tokenizer.json``) instead, which
    ``AutoTokenizer`` resolves from ``tokenizer_config.json``. ``model_max_length`` equals the text
    ``max_position_embeddings``; SigLIP pools the LAST position, so always pad to ``max_length``.
    Image and text embeddings both have size ``hidden``.
    """
    import torch
    from transformers import SiglipConfig, SiglipModel
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    folder = _prepare(folder)
    tokenizer = _siglip_tokenizer(text_max_length, vocab_size)
    text_config = dict(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=4 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        max_position_embeddings=text_max_length,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    vision_config = dict(
        hidden_size=hidden,
        intermediate_size=4 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        image_size=image_size,
        patch_size=patch_size,
    )
    config = SiglipConfig(text_config=text_config, vision_config=vision_config)
    config.architectures = ["SiglipModel"]

    def build():
        model = SiglipModel(config).eval()
        with torch.no_grad():  # SigLIP paper init; a fresh SiglipModel has both at 0
            model.logit_scale.fill_(math.log(10.0))
            model.logit_bias.fill_(-10.0)
        return model

    model = _seeded_init(build)
    _save_model(model, folder)
    tokenizer.save_pretrained(folder)
    SiglipImageProcessorPil(
        size={"height": image_size, "width": image_size},
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    ).save_pretrained(folder)
    return folder


@_quietly
def build_tiny_clap(
    folder,
    *,
    hidden: int = 32,
    layers: int = 2,
    heads: int = 4,
    proj_dim: int = 16,
    text_max_length: int = 32,
    num_merges: int = 300,
    sampling_rate: int = 48_000,
    max_length_s: int = 1,
    num_mel_bins: int = 16,
    spec_size: int = 64,
    hop_length: int = 480,
    fft_window_size: int = 1024,
) -> Path:
    """Write a random ``ClapModel`` checkpoint (RobertaTokenizer + ClapFeatureExtractor).

    Audio geometry (defaults): 48 kHz, 1 s windows, hop 480 -> 101 mel frames x 16 mel bins;
    the HTSAT-Swin tower has ``spec_size=64`` (freq_ratio = 64 // 16 = 4, so up to 256 frames
    fit), 4x4 patches with stride 4, two stages of depth 2 (``window_size=4``), patch width
    ``hidden // 2`` doubling to ``hidden`` after the one patch merge. The feature extractor uses
    ``truncation="rand_trunc"`` and ``padding="repeatpad"`` (see the module docstring).
    Requirements that hold for other values: ``spec_size`` divisible by ``num_mel_bins``,
    ``max_length_s * sampling_rate // hop_length + 1 <= spec_size * (spec_size // num_mel_bins)``,
    and ``spec_size // 8`` divisible by ``spec_size // num_mel_bins``.
    """
    from transformers import ClapConfig, ClapFeatureExtractor, ClapModel

    folder = _prepare(folder)
    tokenizer = _roberta_tokenizer(text_max_length, num_merges)
    text_config = dict(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=4 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        # RoBERTa positions start at pad_token_id + 1
        max_position_embeddings=text_max_length + tokenizer.pad_token_id + 1,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    audio_config = dict(
        num_mel_bins=num_mel_bins,
        spec_size=spec_size,
        patch_size=4,
        patch_stride=[4, 4],
        window_size=4,
        depths=[2, 2],
        num_attention_heads=[max(1, heads // 2), heads],
        patch_embeds_hidden_size=hidden // 2,
        hidden_size=hidden,  # = patch_embeds_hidden_size * 2 ** (len(depths) - 1)
        num_hidden_layers=2,
        enable_fusion=False,
        num_classes=8,
    )
    config = ClapConfig(text_config=text_config, audio_config=audio_config, projection_dim=proj_dim)
    config.architectures = ["ClapModel"]
    model = _seeded_init(lambda: ClapModel(config).eval())
    _save_model(model, folder)
    tokenizer.save_pretrained(folder)
    ClapFeatureExtractor(
        feature_size=num_mel_bins,
        sampling_rate=sampling_rate,
        hop_length=hop_length,
        max_length_s=max_length_s,
        fft_window_size=fft_window_size,
        frequency_min=50,
        frequency_max=min(14_000, sampling_rate // 2),
        truncation="rand_trunc",
        padding="repeatpad",
    ).save_pretrained(folder)
    return folder


@_quietly
def build_tiny_blip_itm(
    folder,
    *,
    image_size: int = 32,
    patch_size: int = 8,
    hidden: int = 32,
    layers: int = 2,
    heads: int = 4,
    itc_dim: int = 16,
    text_max_length: int = 35,
    max_words: int = 300,
) -> Path:
    """Write a random ``BlipForImageTextRetrieval`` checkpoint (BertTokenizer + BlipImageProcessor).

    ``itc_dim`` is ``image_text_hidden_size`` (256 in Salesforce/blip-itm-*), the size of the
    ITC embeddings made by ``vision_proj``/``text_proj``. Vision and text towers share ``hidden``
    (the text tower's cross-attention reads the vision tokens: ``encoder_hidden_size = hidden``).
    """
    from transformers import BlipConfig, BlipForImageTextRetrieval
    from transformers.models.blip.image_processing_pil_blip import BlipImageProcessorPil

    folder = _prepare(folder)
    tokenizer = _bert_tokenizer(text_max_length, max_words)
    text_config = dict(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        encoder_hidden_size=hidden,
        intermediate_size=4 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        max_position_embeddings=max(text_max_length, 64),
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        sep_token_id=tokenizer.sep_token_id,
        eos_token_id=tokenizer.sep_token_id,
        is_decoder=True,  # builds the cross-attention layers the ITM head needs
    )
    vision_config = dict(
        hidden_size=hidden,
        intermediate_size=4 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        image_size=image_size,
        patch_size=patch_size,
        initializer_range=0.02,  # BLIP's default 1e-10 makes every image look the same
    )
    config = BlipConfig(
        text_config=text_config,
        vision_config=vision_config,
        image_text_hidden_size=itc_dim,
        projection_dim=itc_dim,
    )
    config.architectures = ["BlipForImageTextRetrieval"]
    model = _seeded_init(lambda: BlipForImageTextRetrieval(config).eval())
    _save_model(model, folder)
    tokenizer.save_pretrained(folder)
    BlipImageProcessorPil(
        size={"height": image_size, "width": image_size},
        image_mean=_CLIP_MEAN,
        image_std=_CLIP_STD,
    ).save_pretrained(folder)
    return folder


def build_all(root) -> dict[str, Path]:
    """Build the four tiny checkpoints under ``root``; keys clip, siglip, clap, blip."""
    root = Path(root)
    return {
        "clip": build_tiny_clip(root / "tiny-clip"),
        "siglip": build_tiny_siglip(root / "tiny-siglip"),
        "clap": build_tiny_clap(root / "tiny-clap"),
        "blip": build_tiny_blip_itm(root / "tiny-blip-itm"),
    }
