"""Dual encoders with an image tower and a text tower: CLIP and SigLIP."""

from __future__ import annotations

from mmstudio.encoders.base import ModelError
from mmstudio.encoders.hf.base import HFEncoder
from mmstudio.encoders.hf.loader import load_image_processor, load_model, load_tokenizer


class ClipEncoder(HFEncoder):
    """CLIP, and the families built like it (a CLIP vision tower with ``visual_projection``, a text
    tower with ``text_projection``): subclasses name their model class and how their text pools."""

    model_type = "clip"
    model_class = "CLIPModel"
    modalities = ("image", "text")

    def load(self, source):
        import transformers

        self.tokenizer = load_tokenizer(source.folder)
        self.image_processor = load_image_processor(source.folder)
        model = load_model(getattr(transformers, self.model_class), source.folder)
        self.dim = model.config.projection_dim
        self.max_text_length = min(self.tokenizer.model_max_length, self.text_positions(model.config.text_config))
        return model

    def text_positions(self, text_config) -> int:
        """How many tokens the text tower takes."""
        return text_config.max_position_embeddings

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
        pooled, states = self.text_states(batch)
        return self.model.text_projection(pooled), self.model.text_projection(states) if tokens else None

    def text_states(self, batch):
        """The text tower's pooled state and its token states, before the projection."""
        out = self.model.text_model(input_ids=batch["input_ids"], attention_mask=batch.get("attention_mask"))
        return out.pooler_output, out.last_hidden_state

    attention_methods = {"image": ("patch-similarity", "relevance")}

    def relevance_map(self, image, text: str, layers: int = 2) -> "np.ndarray":  # noqa: F821
        """Chefer et al. (2021) relevance of each patch for the image–text similarity.

        R = I; for each of the last ``layers`` vision layers, cam = mean over heads of
        clamp(∂s/∂A ⊙ A, min=0) and R += cam @ R; the map is R[CLS, patches]. Needs attention
        weights, so the vision tower runs with eager attention for this call.
        """
        import torch

        pixels = self.prepare("image", [image])["pixel_values"].to(self.device)
        tokens = self.prepare("text", [text])
        with _eager_attention(self.model), torch.enable_grad():
            out = self.model.vision_model(pixel_values=pixels, output_attentions=True)
            attentions = list(out.attentions)
            image_emb = torch.nn.functional.normalize(self.model.visual_projection(out.pooler_output), dim=-1)
            with torch.no_grad():
                text_pooled, _ = self.forward_text({k: v.to(self.device) for k, v in tokens.items()}, False)
                text_emb = torch.nn.functional.normalize(text_pooled, dim=-1)
            score = (image_emb * text_emb).sum()
            chosen = attentions[-layers:]
            grads = torch.autograd.grad(score, chosen)
        n = chosen[0].shape[-1]
        relevance = torch.eye(n)
        for attn, grad in zip(chosen, grads):
            cam = (grad * attn).clamp(min=0).mean(dim=1)[0].detach().float().cpu()
            relevance = relevance + cam @ relevance
        patches = relevance[0, 1:].numpy()
        side = int(round(len(patches) ** 0.5))
        return patches.reshape(side, side)


class _eager_attention:
    """Run a model with eager attention for a while (sdpa returns no attention weights)."""

    def __init__(self, model):
        self.model = model

    def __enter__(self):
        self.before = getattr(self.model.config, "_attn_implementation", None)
        if self.before != "eager":
            if not hasattr(self.model, "set_attn_implementation"):
                raise ModelError("relevance maps need transformers ≥ 4.48 (set_attn_implementation)")
            self.model.set_attn_implementation("eager")
        return self.model

    def __exit__(self, *exc):
        if self.before not in (None, "eager"):
            self.model.set_attn_implementation(self.before)
        return False


class SiglipEncoder(HFEncoder):
    """SigLIP pools the last text position, so texts are padded to the full length, unmasked."""

    model_type = "siglip"
    modalities = ("image", "text")
    image_tokens_joint = False  # patch states before the attention-pooling head
    attention_methods = {"image": ("patch-similarity",)}

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
