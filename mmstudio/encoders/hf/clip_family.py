"""Families built like CLIP: the same vision tower (``vision_model`` → ``visual_projection``), another
text tower. Image embeddings, patch tokens and relevance maps come from :class:`ClipEncoder`.

- MetaCLIP 2: CLIP's text tower too (pooled at the end-of-text token), a multilingual vocabulary;
- AltCLIP: an XLM-R text tower whose first token (<s>), through ``text_projection``, is the text;
- Chinese-CLIP: a BERT text tower, its [CLS] token through ``text_projection``.
"""

from __future__ import annotations

from mmstudio.encoders.hf.dual import ClipEncoder


class MetaClip2Encoder(ClipEncoder):
    model_type = "metaclip_2"
    model_class = "MetaClip2Model"


class _FirstTokenText(ClipEncoder):
    """The text is the tower's first token state, projected (as the model's ``get_text_features``)."""

    def text_states(self, batch):
        extra = {"token_type_ids": batch["token_type_ids"]} if "token_type_ids" in batch else {}
        states = self.model.text_model(input_ids=batch["input_ids"], attention_mask=batch.get("attention_mask"),
                                       **extra).last_hidden_state
        return states[:, 0], states


class AltClipEncoder(_FirstTokenText):
    model_type = "altclip"
    model_class = "AltCLIPModel"

    def text_positions(self, text_config) -> int:
        return text_config.max_position_embeddings - text_config.pad_token_id - 1  # RoBERTa positions start after pad


class ChineseClipEncoder(_FirstTokenText):
    model_type = "chinese_clip"
    model_class = "ChineseCLIPModel"
