"""BLIP image-text matching (``BlipForImageTextRetrieval``): ITC embeddings in a shared space.

The embeddings are BLIP's contrastive (ITC) pair: the image CLS token and the unimodal
text CLS token, each through its projection. The text encoder's cross-attention to image
patches (the ITM path) is what later attention maps read.
"""

from __future__ import annotations

from mmstudio.encoders.base import ModelError
from mmstudio.encoders.hf_base import HFEncoder
from mmstudio.encoders.hf_loader import load_image_processor, load_model, load_tokenizer

ITM_CLASS = "BlipForImageTextRetrieval"


class BlipItmEncoder(HFEncoder):
    model_type = "blip"
    modalities = ("image", "text")

    def load(self, source):
        import transformers

        architectures = source.config.get("architectures") or []
        if ITM_CLASS not in architectures:
            raise ModelError(
                f"model '{source.name}' is a BLIP {', '.join(architectures) or 'checkpoint'}, not an image-text "
                f"matching model; mmstudio needs {ITM_CLASS} (e.g. Salesforce/blip-itm-base-coco)")
        self.tokenizer = load_tokenizer(source.folder)
        self.image_processor = load_image_processor(source.folder)
        model = load_model(getattr(transformers, ITM_CLASS), source.folder)
        self.dim = model.config.image_text_hidden_size
        limit = model.config.text_config.max_position_embeddings
        self.max_text_length = min(self.tokenizer.model_max_length, limit)
        return model

    def prepare_text(self, texts):
        batch = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_text_length,
                               return_tensors="pt")
        return {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}

    def forward_image(self, batch, tokens):
        states = self.model.vision_model(pixel_values=batch["pixel_values"]).last_hidden_state
        pooled = self.model.vision_proj(states[:, 0])
        return pooled, self.model.vision_proj(states[:, 1:]) if tokens else None

    def forward_text(self, batch, tokens):
        states = self.model.text_encoder(input_ids=batch["input_ids"],
                                         attention_mask=batch["attention_mask"]).last_hidden_state
        pooled = self.model.text_proj(states[:, 0])
        return pooled, self.model.text_proj(states) if tokens else None
