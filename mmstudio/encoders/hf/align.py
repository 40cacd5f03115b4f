"""ALIGN (``AlignModel``): an EfficientNet image tower and a BERT text tower in one space.

The image embedding is the mean of the EfficientNet's last feature map (no projection); the
text embedding is BERT's [CLS] state through ``text_projection``. The feature map's cells are the
image's patch tokens: their mean is the image embedding, so comparing each with a text
(patch-similarity) shows which part of the picture the text matches.
"""

from __future__ import annotations

from mmstudio.encoders.base import TokenFeatures
from mmstudio.encoders.hf.base import HFEncoder
from mmstudio.encoders.hf.loader import load_image_processor, load_model, load_tokenizer


class AlignEncoder(HFEncoder):
    model_type = "align"
    modalities = ("image", "text")
    attention_methods = {"image": ("patch-similarity",)}

    def load(self, source):
        from transformers import AlignModel

        self.tokenizer = load_tokenizer(source.folder)
        self.image_processor = load_image_processor(source.folder)
        model = load_model(AlignModel, source.folder)
        self.dim = model.config.projection_dim
        self.max_text_length = min(self.tokenizer.model_max_length, model.config.text_config.max_position_embeddings)
        return model

    def prepare_text(self, texts):
        return self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_text_length,
                              return_tensors="pt")

    def forward_image(self, batch, tokens):
        out = self.model.vision_model(pixel_values=batch["pixel_values"])
        return out.pooler_output, out.last_hidden_state if tokens else None

    def forward_text(self, batch, tokens):
        extra = {"token_type_ids": batch["token_type_ids"]} if "token_type_ids" in batch else {}
        states = self.model.text_model(input_ids=batch["input_ids"], attention_mask=batch.get("attention_mask"),
                                       **extra).last_hidden_state
        return self.model.text_projection(states[:, 0]), self.model.text_projection(states) if tokens else None

    def token_features(self, modality, batch, states):
        if modality != "image":
            return super().token_features(modality, batch, states)
        # the feature map is (batch, channels, rows, cols): its cells, row-major, are the tokens
        rows, cols = states.shape[2:]
        cells = states.flatten(2).transpose(1, 2).float().cpu().numpy()
        return [TokenFeatures("image", item, joint=True, grid=(rows, cols)) for item in cells]
