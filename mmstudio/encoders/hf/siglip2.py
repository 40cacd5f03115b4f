"""SigLIP 2 with NaFlex (``Siglip2Model``): each image keeps its aspect ratio and gets its own patch grid.

The image processor resizes an image to at most ``max_num_patches`` patches of its aspect ratio and
pads the patch list to that length; a batch is then ``pixel_values`` (B, max_num_patches,
3·patch²), ``pixel_attention_mask`` (which patches are real) and ``spatial_shapes`` (each image's
rows × cols). All three go to the vision tower, so padding never reaches the pooled embedding, and an
image's patch tokens are its first rows × cols, in row-major order. Texts are padded to the text
tower's length (64 for Google's checkpoints), as ``Siglip2Processor`` pads them.
"""

from __future__ import annotations

from mmstudio.encoders.base import ModelError, TokenFeatures
from mmstudio.encoders.hf.base import HFEncoder
from mmstudio.encoders.hf.loader import load_image_processor, load_model, load_tokenizer


class Siglip2Encoder(HFEncoder):
    model_type = "siglip2"
    modalities = ("image", "text")
    image_tokens_joint = False  # patch states before the attention-pooling head, as for SigLIP
    attention_methods = {"image": ("patch-similarity",)}

    def load(self, source):
        from transformers import Siglip2Model

        self.tokenizer = load_tokenizer(source.folder)
        self.image_processor = load_image_processor(source.folder)
        model = load_model(Siglip2Model, source.folder)
        patch = getattr(self.image_processor, "patch_size", None)
        if patch != model.config.vision_config.patch_size:
            raise ModelError(f"{source.folder / 'preprocessor_config.json'}: patch_size {patch} does not match the "
                             f"model's {model.config.vision_config.patch_size} (config.json vision_config)")
        self.dim = model.config.vision_config.hidden_size
        self.max_text_length = model.config.text_config.max_position_embeddings
        return model

    def prepare_text(self, texts):
        return self.tokenizer(list(texts), padding="max_length", truncation=True, max_length=self.max_text_length,
                              return_tensors="pt")

    def forward_image(self, batch, tokens):
        out = self.model.vision_model(pixel_values=batch["pixel_values"],
                                      pixel_attention_mask=batch["pixel_attention_mask"],
                                      spatial_shapes=batch["spatial_shapes"])
        return out.pooler_output, out.last_hidden_state if tokens else None

    def forward_text(self, batch, tokens):
        out = self.model.text_model(input_ids=batch["input_ids"], attention_mask=batch.get("attention_mask"))
        return out.pooler_output, self.model.text_model.head(out.last_hidden_state) if tokens else None

    def token_features(self, modality, batch, states):
        if modality != "image":
            return super().token_features(modality, batch, states)
        states = states.float().cpu().numpy()
        shapes = batch["spatial_shapes"].cpu().tolist()
        return [TokenFeatures("image", item[:rows * cols], joint=False, grid=(rows, cols))
                for item, (rows, cols) in zip(states, shapes)]
