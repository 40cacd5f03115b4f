"""BLIP image-text matching (``BlipForImageTextRetrieval``): ITC embeddings in a shared space.

The embeddings are BLIP's contrastive (ITC) pair: the image CLS token and the unimodal
text CLS token, each through its projection. The text encoder's cross-attention to image
patches (the ITM path) is what later attention maps read.
"""

from __future__ import annotations

from mmstudio.encoders.base import ModelError
from mmstudio.encoders.hf.base import HFEncoder
from mmstudio.encoders.hf.loader import load_image_processor, load_model, load_tokenizer

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

    attention_methods = {"image": ("cross-attention", "patch-similarity")}

    def media_states(self, modality: str, items: list) -> list:
        import torch

        self._check_modality(modality)
        if modality != "image":
            raise ModelError(f"{self.name} has no cross-attention between text and {modality}")
        batch = self.prepare("image", items)
        with torch.inference_mode():
            states = self.model.vision_model(pixel_values=batch["pixel_values"].to(self.device)).last_hidden_state
        return list(states)

    def cross_attention_maps(self, modality: str, states: list, texts: list[str]):
        """The ITM text encoder's cross-attention, every layer: image CLS dropped, rows renormalised
        over the patches."""
        import torch

        batch = self.prepare("text", texts)
        ids, mask = batch["input_ids"].to(self.device), batch["attention_mask"].to(self.device)
        image = torch.stack(list(states)).to(self.device)
        with torch.inference_mode():
            out = self.model.text_encoder(input_ids=ids, attention_mask=mask, encoder_hidden_states=image,
                                          encoder_attention_mask=torch.ones(image.shape[:2], dtype=torch.long,
                                                                            device=self.device),
                                          output_attentions=True, return_dict=True)
        weights = torch.stack(out.cross_attentions, dim=1)[..., 1:].float()   # (B, layers, heads, T, N)
        weights = (weights / weights.sum(-1, keepdim=True).clamp_min(1e-12)).cpu().numpy()
        lengths = mask.sum(1).tolist()
        words = [self.tokenizer.convert_ids_to_tokens(row[:n]) for row, n in zip(ids.tolist(), lengths)]
        return [w[:, :, :n] for w, n in zip(weights, lengths)], words
