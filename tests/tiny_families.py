"""Tiny random checkpoints of the other contrastive families, built offline like tests/tiny_models.py.

Each ``build_tiny_*`` writes a folder shaped like the real checkpoint on the hub (``config.json``
with its ``architectures``, ``model.safetensors``, the tokenizer files and
``preprocessor_config.json``), so ``AutoProcessor`` and mmstudio's loader open it offline:

* ``siglip2``: ``Siglip2Model`` (NaFlex: a variable number of patches per image),
  ``Siglip2Tokenizer`` (Gemma-style BPE with byte fallback, lower-casing),
  ``Siglip2ImageProcessor`` with ``max_num_patches``;
* ``align``: ``AlignModel`` (EfficientNet image tower, BERT text tower), ``BertTokenizer``,
  ``EfficientNetImageProcessor`` set like ``kakaobrain/align-base`` (``rescale_offset``, no mean/std);
* ``altclip``: ``AltCLIPModel`` (CLIP vision tower, XLM-R text tower), ``XLMRobertaTokenizer``;
* ``chinese_clip``: ``ChineseCLIPModel`` (CLIP vision, BERT text), a ``BertTokenizer`` whose
  vocabulary holds Chinese characters;
* ``metaclip_2``: ``MetaClip2Model`` (CLIP-shaped, multilingual), ``XLMRobertaTokenizer``;
* ``clap_fused``: ``ClapModel`` with ``enable_fusion=True`` and a ``ClapFeatureExtractor`` with
  ``truncation="fusion"`` (like ``laion/clap-htsat-fused``).

Sizes: hidden 32, 2 layers, 4 heads, 32 px images (8 px patches), projections of 16. Weights are
seeded (``torch.manual_seed(0)`` in a forked RNG); builds are byte-for-byte reproducible.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from tiny_models import (
    _CLIP_MEAN,
    _CLIP_STD,
    CORPUS,
    _bert_tokenizer,
    _prepare,
    _quietly,
    _roberta_tokenizer,
    _save_model,
    _seeded_init,
    _train_bpe,
    _vocab_from_merges,
)

__all__ = ["CHINESE_CORPUS", "FAMILY_BUILDERS", "build_families"]

# Captions in Chinese, for the multilingual tokenizers (Chinese-CLIP, AltCLIP, MetaCLIP 2).
CHINESE_CORPUS: tuple[str, ...] = (
    "一只猫坐在红色的沙发上",
    "一只狗在海滩上奔跑",
    "两只狗在公园里玩球",
    "一个男人骑着自行车",
    "雨中的城市夜景",
)

HIDDEN, LAYERS, HEADS, PROJ = 32, 2, 4, 16
IMAGE, PATCH = 32, 8


def _vision(**extra) -> dict:
    return dict(hidden_size=HIDDEN, intermediate_size=4 * HIDDEN, num_hidden_layers=LAYERS,
                num_attention_heads=HEADS, image_size=IMAGE, patch_size=PATCH, **extra)


def _bert_text(tokenizer, max_positions: int, **extra) -> dict:
    return dict(vocab_size=len(tokenizer), hidden_size=HIDDEN, intermediate_size=4 * HIDDEN,
                num_hidden_layers=LAYERS, num_attention_heads=HEADS, max_position_embeddings=max_positions,
                pad_token_id=tokenizer.pad_token_id, **extra)


def _clip_image_processor(**kwargs):
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    return CLIPImageProcessorPil(size={"shortest_edge": IMAGE}, crop_size={"height": IMAGE, "width": IMAGE},
                                 image_mean=_CLIP_MEAN, image_std=_CLIP_STD, **kwargs)


def _xlm_roberta_tokenizer(model_max_length: int, vocab_size: int = 320):
    """An XLMRobertaTokenizer (SentencePiece-style Unigram, ▁ word marks) learnt on CORPUS and
    CHINESE_CORPUS; ids <s>=0 <pad>=1 </s>=2 <unk>=3, <mask> last, as in XLM-R's vocabulary."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import XLMRobertaTokenizer

    raw = Tokenizer(models.Unigram())
    raw.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    trainer = trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
                                      unk_token="<unk>", show_progress=False)
    raw.train_from_iterator(CORPUS + CHINESE_CORPUS, trainer=trainer)
    pieces = [(piece, round(score, 6)) for piece, score in json.loads(raw.to_str())["model"]["vocab"]]
    pieces = pieces[:4] + _stable_order(pieces[4:]) + [("<mask>", 0.0)]
    return XLMRobertaTokenizer(vocab=pieces, model_max_length=model_max_length)


def _stable_order(pieces: list) -> list:
    """The trainer's pieces in an order, and with scores, that do not change between processes.

    Pieces of equal score come in hash order: sorted here. The characters the trainer had to add
    (here Chinese ones) get the lowest score and the next ones 1e-4 apart, in hash order too: the
    same scores go back to them in character order.
    """
    low = min(score for _, score in pieces)
    added = sorted((piece, score) for piece, score in pieces if len(piece) == 1 and score < low + 0.01)
    scores = sorted((score for _, score in added), reverse=True)
    fixed = dict(pieces) | dict(zip((piece for piece, _ in added), scores))
    return sorted(fixed.items(), key=lambda p: (-p[1], p[0]))


def _siglip2_tokenizer(model_max_length: int, num_merges: int = 200):
    """A Siglip2Tokenizer: Gemma's layout (<pad>=0 <eos>=1 <bos>=2 <unk>=3 <mask>=4, then the 256
    byte-fallback tokens, the corpus' characters and the merges), lower-casing, spaces as ▁."""
    from transformers.models.siglip2.tokenization_siglip2 import Siglip2Tokenizer

    words: Counter = Counter()
    for line in CORPUS:
        parts = line.lower().replace(" ", "▁").split("▁")
        words.update([parts[0]] + ["▁" + p for p in parts[1:]])
    merges = _train_bpe(words, suffix="", num_merges=num_merges)
    chars = sorted({c for word in words for c in word})
    head = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>", *(f"<0x{b:02X}>" for b in range(256)), *chars]
    return Siglip2Tokenizer(vocab=_vocab_from_merges(head, merges, []), merges=merges,
                            model_max_length=model_max_length)


# --------------------------------------------------------------------------------------------
# builders
# --------------------------------------------------------------------------------------------


@_quietly
def build_tiny_siglip2(folder, *, max_num_patches: int = 16, text_max_length: int = 64) -> Path:
    """``Siglip2Model`` (NaFlex). The processor resizes each image, keeping its aspect ratio, to at
    most ``max_num_patches`` patches of 8 px, and pads the patch list to that length
    (``pixel_attention_mask`` marks the real ones, ``spatial_shapes`` their grid). The position
    embeddings are a 4 × 4 grid (``num_patches=16``), resized to each image's grid. Texts are
    padded to 64 tokens, as ``Siglip2Processor`` pads them."""
    from transformers import Siglip2Config, Siglip2Model
    from transformers.models.siglip2.image_processing_pil_siglip2 import Siglip2ImageProcessorPil

    folder = _prepare(folder)
    tokenizer = _siglip2_tokenizer(text_max_length)
    text = _bert_text(tokenizer, text_max_length, bos_token_id=tokenizer.bos_token_id,
                      eos_token_id=tokenizer.eos_token_id)
    vision = dict(hidden_size=HIDDEN, intermediate_size=4 * HIDDEN, num_hidden_layers=LAYERS,
                  num_attention_heads=HEADS, patch_size=PATCH, num_patches=16)
    config = Siglip2Config(text_config=text, vision_config=vision)
    config.architectures = ["Siglip2Model"]
    _save_model(_seeded_init(lambda: Siglip2Model(config).eval()), folder)
    tokenizer.save_pretrained(folder)
    Siglip2ImageProcessorPil(patch_size=PATCH, max_num_patches=max_num_patches).save_pretrained(folder)
    return folder


@_quietly
def build_tiny_align(folder, *, text_max_length: int = 64) -> Path:
    """``AlignModel``: a two-stage EfficientNet (32 px → a 4 × 4 map of 16 channels, averaged into
    the image embedding, no projection) and a BERT text tower projected to 16."""
    from transformers import AlignConfig, AlignModel
    from transformers.models.efficientnet.image_processing_pil_efficientnet import EfficientNetImageProcessorPil

    folder = _prepare(folder)
    tokenizer = _bert_tokenizer(text_max_length, 300)
    text = _bert_text(tokenizer, text_max_length)
    vision = dict(image_size=IMAGE, width_coefficient=1.0, depth_coefficient=1.0, kernel_sizes=[3, 3],
                  in_channels=[32, 16], out_channels=[16, PROJ], strides=[2, 2], num_block_repeats=[1, 1],
                  expand_ratios=[1, 2], depthwise_padding=[], hidden_dim=64)
    config = AlignConfig(text_config=text, vision_config=vision, projection_dim=PROJ)
    config.architectures = ["AlignModel"]
    _save_model(_seeded_init(lambda: AlignModel(config).eval()), folder)
    tokenizer.save_pretrained(folder)
    EfficientNetImageProcessorPil(size={"height": 40, "width": 40}, crop_size={"height": IMAGE, "width": IMAGE},
                                  do_center_crop=True, rescale_factor=1 / 127.5, rescale_offset=True,
                                  do_normalize=False, include_top=False).save_pretrained(folder)
    return folder


@_quietly
def build_tiny_altclip(folder, *, text_max_length: int = 32) -> Path:
    """``AltCLIPModel``: CLIP's vision tower, an XLM-R text tower (``project_dim`` 32) pooled at <s>."""
    from transformers import AltCLIPConfig, AltCLIPModel

    folder = _prepare(folder)
    tokenizer = _xlm_roberta_tokenizer(text_max_length)
    text = _bert_text(tokenizer, text_max_length + tokenizer.pad_token_id + 1, project_dim=HIDDEN,
                      bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    config = AltCLIPConfig(text_config=text, vision_config=_vision(projection_dim=PROJ), projection_dim=PROJ)
    config.architectures = ["AltCLIPModel"]
    _save_model(_seeded_init(lambda: AltCLIPModel(config).eval()), folder)
    tokenizer.save_pretrained(folder)
    _clip_image_processor().save_pretrained(folder)
    return folder


@_quietly
def build_tiny_chinese_clip(folder, *, text_max_length: int = 52) -> Path:
    """``ChineseCLIPModel``: a CLIP vision tower and a BERT text tower pooled at [CLS]; the
    vocabulary holds CORPUS and CHINESE_CORPUS (one token per Chinese character, as BERT splits them)."""
    from transformers import ChineseCLIPConfig, ChineseCLIPModel
    from transformers.models.chinese_clip.image_processing_pil_chinese_clip import ChineseCLIPImageProcessorPil

    folder = _prepare(folder)
    tokenizer = _bert_tokenizer(text_max_length, 300, corpus=CORPUS + CHINESE_CORPUS)
    text = _bert_text(tokenizer, text_max_length)
    config = ChineseCLIPConfig(text_config=text, vision_config=_vision(projection_dim=PROJ), projection_dim=PROJ)
    config.architectures = ["ChineseCLIPModel"]
    _save_model(_seeded_init(lambda: ChineseCLIPModel(config).eval()), folder)
    tokenizer.save_pretrained(folder)
    ChineseCLIPImageProcessorPil(size={"height": IMAGE, "width": IMAGE}, do_center_crop=False).save_pretrained(folder)
    return folder


@_quietly
def build_tiny_metaclip_2(folder, *, text_max_length: int = 32) -> Path:
    """``MetaClip2Model``: CLIP's shape with an XLM-R vocabulary; the text pools at </s> (id 2)."""
    from transformers import MetaClip2Config, MetaClip2Model

    folder = _prepare(folder)
    tokenizer = _xlm_roberta_tokenizer(text_max_length)
    text = _bert_text(tokenizer, text_max_length, projection_dim=PROJ, bos_token_id=tokenizer.bos_token_id,
                      eos_token_id=tokenizer.eos_token_id)
    config = MetaClip2Config(text_config=text, vision_config=_vision(projection_dim=PROJ), projection_dim=PROJ)
    config.architectures = ["MetaClip2Model"]
    _save_model(_seeded_init(lambda: MetaClip2Model(config).eval()), folder)
    tokenizer.save_pretrained(folder)
    _clip_image_processor().save_pretrained(folder)
    return folder


@_quietly
def build_tiny_clap_fused(folder, *, text_max_length: int = 32, sampling_rate: int = 16_000) -> Path:
    """``ClapModel`` with ``enable_fusion=True`` and ``truncation="fusion"`` in its feature extractor.

    Fusion stacks 4 mel spectrograms (the whole clip shrunk to the window, and 3 crops of it) and
    shrinks to 64 mel bins by construction, so the tower takes 64 bins (``spec_size=64``); the
    window is 1 s at 16 kHz, hop 320 → 51 frames.
    """
    from transformers import ClapConfig, ClapFeatureExtractor, ClapModel

    folder = _prepare(folder)
    tokenizer = _roberta_tokenizer(text_max_length, 300)
    text = _bert_text(tokenizer, text_max_length + tokenizer.pad_token_id + 1,
                      bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    audio = dict(num_mel_bins=64, spec_size=64, patch_size=4, patch_stride=[4, 4], window_size=4, depths=[2, 2],
                 num_attention_heads=[2, 4], patch_embeds_hidden_size=HIDDEN // 2, hidden_size=HIDDEN,
                 num_hidden_layers=2, enable_fusion=True, fusion_type="aff_2d", num_classes=8)
    config = ClapConfig(text_config=text, audio_config=audio, projection_dim=PROJ)
    config.architectures = ["ClapModel"]
    _save_model(_seeded_init(lambda: ClapModel(config).eval()), folder)
    tokenizer.save_pretrained(folder)
    ClapFeatureExtractor(feature_size=64, sampling_rate=sampling_rate, hop_length=320, max_length_s=1,
                         fft_window_size=1024, frequency_min=50, frequency_max=sampling_rate // 2,
                         truncation="fusion", padding="repeatpad").save_pretrained(folder)
    return folder


FAMILY_BUILDERS = {
    "siglip2": build_tiny_siglip2,
    "align": build_tiny_align,
    "altclip": build_tiny_altclip,
    "chinese_clip": build_tiny_chinese_clip,
    "metaclip_2": build_tiny_metaclip_2,
    "clap_fused": build_tiny_clap_fused,
}


def build_families(root) -> dict[str, Path]:
    """Build every family above under ``root``; keys as in :data:`FAMILY_BUILDERS`."""
    root = Path(root)
    return {key: build(root / f"tiny-{key.replace('_', '-')}") for key, build in FAMILY_BUILDERS.items()}
