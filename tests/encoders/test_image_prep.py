"""The fast image path gives bit-identical pixel values to the Hugging Face processors."""

import numpy as np
import pytest
from PIL import Image

from mmstudio.encoders.hf.image_prep import FastImagePrep


def processors():
    from transformers import BlipImageProcessorPil, CLIPImageProcessorPil, SiglipImageProcessorPil
    from transformers.models.chinese_clip.image_processing_pil_chinese_clip import ChineseCLIPImageProcessorPil
    from transformers.models.efficientnet.image_processing_pil_efficientnet import EfficientNetImageProcessorPil

    return {
        # ALIGN (kakaobrain/align-base): pixels into [-1, 1] by rescale_offset, no mean/std
        "align-289": EfficientNetImageProcessorPil(size={"height": 346, "width": 346}, do_center_crop=True,
                                                   rescale_factor=1 / 127.5, rescale_offset=True, do_normalize=False,
                                                   include_top=False),
        "efficientnet-include-top": EfficientNetImageProcessorPil(size={"height": 64, "width": 48}),
        "chinese-clip-224": ChineseCLIPImageProcessorPil(size={"height": 224, "width": 224}, do_center_crop=False),
        "clip-224": CLIPImageProcessorPil(),
        "clip-336-small-crop": CLIPImageProcessorPil(size={"shortest_edge": 336}, crop_size={"height": 300, "width": 320}),
        "clip-crop-larger-than-resize": CLIPImageProcessorPil(size={"shortest_edge": 20}, crop_size={"height": 32, "width": 24}),
        "siglip-224": SiglipImageProcessorPil(),
        "blip-384": BlipImageProcessorPil(),
    }


def sample_images():
    rng = np.random.default_rng(0)
    shapes = [(480, 640), (640, 480), (224, 224), (37, 301), (300, 17), (1000, 999)]
    images = [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for h, w in shapes]
    images.append(Image.fromarray(rng.integers(0, 256, (50, 60), dtype=np.uint8)).convert("RGB"))
    return images


@pytest.mark.parametrize("name", list(processors()))
def test_pixel_values_are_identical_to_the_processor(name):
    proc = processors()[name]
    fast = FastImagePrep.from_processor(proc)
    assert fast is not None
    for image in sample_images():
        ours = fast([image]).numpy()
        ref = proc(images=[image], return_tensors="np")["pixel_values"]
        assert ours.shape == ref.shape, name
        np.testing.assert_array_equal(ours, ref)


def test_unsupported_settings_fall_back_to_the_processor():
    from transformers import CLIPImageProcessorPil

    assert FastImagePrep.from_processor(CLIPImageProcessorPil(size={"shortest_edge": 224, "longest_edge": 300})) is None
