"""Dual encoders with an image tower and a text tower: CLIP and SigLIP."""

from __future__ import annotations

from mmstudio.encoders.hf_base import HFEncoder
from mmstudio.encoders.hf_loader import load_image_processor, load_model, load_tokenizer


class ClipEncoder(HFEncoder):
    model_type = "clip"
    modalities = ("image", "text")

    def load(self, source):
        from transformers import CLIPModel

        self.tokenizer = load_tokenizer(source.folder)
        self.image_processor = load_image_processor(source.folder)
        model = load_model(CLIPModel, source.folder)
        self.dim = model.config.projection_dim
        self.max_text_length = model.config.text_config.max_position_embeddings
        return model

    def prepare_text(self, texts):
        return self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_text_length,
                              return_tensors="pt")

    def forward_image(self, batch, tokens):
        out = self.model.vision_model(pixel_values=batch["pixel_values"])
        pooled = self.model.visual_projection(out.pooler_output)
        if not tokens:
            return pooled, None
        patches = self.model.visual_projection(self.model.vision_model.post_layernorm(out.last_hidden_state[:, 1:]))
        return pooled, patches

    def forward_text(self, batch, tokens):
        out = self.model.text_model(input_ids=batch["input_ids"], attention_mask=batch.get("attention_mask"))
        pooled = self.model.text_projection(out.pooler_output)
        return pooled, self.model.text_projection(out.last_hidden_state) if tokens else None


class SiglipEncoder(HFEncoder):
    """SigLIP pools the last text position, so texts are padded to the full length, unmasked."""

    model_type = "siglip"
    modalities = ("image", "text")
    image_tokens_joint = False  # patch states before the attention-pooling head

    def load(self, source):
        from transformers import SiglipModel

        self.tokenizer = load_tokenizer(source.folder)
        self.image_processor = load_image_processor(source.folder)
        model = load_model(SiglipModel, source.folder)
        self.dim = model.config.vision_config.hidden_size
        self.max_text_length = model.config.text_config.max_position_embeddings
        return model

    def prepare_text(self, texts):
        # the attention mask only marks which tokens to report; the model runs unmasked, as trained
        return self.tokenizer(list(texts), padding="max_length", truncation=True, max_length=self.max_text_length,
                              return_tensors="pt")

    def forward_image(self, batch, tokens):
        out = self.model.vision_model(pixel_values=batch["pixel_values"])
        return out.pooler_output, out.last_hidden_state if tokens else None

    def forward_text(self, batch, tokens):
        out = self.model.text_model(input_ids=batch["input_ids"])
        return out.pooler_output, self.model.text_model.head(out.last_hidden_state) if tokens else None
