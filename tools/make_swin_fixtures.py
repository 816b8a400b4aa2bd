"""Write the Swin golden fixtures with timm's own SwinTransformer (not a hand-written copy, which
could share the engine's misreadings of timm).

timm is not committed and Debian has no package of it: bring its source from the public repository
(any recent commit; the fixtures were written with huggingface/pytorch-image-models aa4b5850) and
give the folder that holds its timm/ package:
    git clone --depth 1 https://github.com/huggingface/pytorch-image-models /tmp/timm-src
    /usr/bin/python3 tools/make_swin_fixtures.py --timm /tmp/timm-src
Needs Debian's python3-torch and python3-torchvision (timm imports it).

1. test/fixtures/swin-random.json: logits of two random-weight Swins whose weights and input images
   come from the counter-based PRNG in tools/prng.py (test/helpers/random-vit.ts rebuilds them):
   a swin_tiny_patch4_window7_224 made by timm.create_model, and a small 3-stage Swin on 24x24
   images in windows of 5, whose grids (12, 6, 3) need padding to whole windows in the first two
   stages and clamp the window to the grid in the last.
2. test/fixtures/swin-demo-logits.json: the demo Swin's (demo/fashion-swin) logits for the first 16
   Fashion-MNIST test images and its predicted class for all 10,000 (one digit per image).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import FIXTURES, ROOT, floats, random_state_dict, write_demo_logits  # noqa: E402
from prng import uniform_tensor  # noqa: E402
from vit_torch import read_safetensors  # noqa: E402

IMAGE_SEED, IMAGE_STREAM, IMAGE_SCALE, IMAGE_COUNT = 2025, 0, 2.0, 2
RANDOM_MODELS = [
    # (name, config.json, weight seed); model_args are what the engine reads, timm builds the same.
    ("swin_tiny", {"architecture": "swin_tiny_patch4_window7_224"}, 11),
    ("padded", {"architecture": "swin_tiny_patch4_window7_224",
                "model_args": {"img_size": 24, "patch_size": 2, "window_size": 5, "in_chans": 3, "num_classes": 7,
                               "embed_dim": 16, "depths": [2, 2, 2], "num_heads": [2, 2, 4]}}, 12),
]


def random_fixture(timm):
    entries = []
    for name, config, seed in RANDOM_MODELS:
        model = timm.create_model(config["architecture"], pretrained=False, **config.get("model_args", {}))
        model.load_state_dict(random_state_dict(model, seed))
        model.eval()
        c, size = model.patch_embed.proj.in_channels, model.patch_embed.img_size[0]
        n = IMAGE_COUNT * c * size * size
        images = torch.from_numpy(uniform_tensor(IMAGE_SEED, IMAGE_STREAM, n, 0.0, IMAGE_SCALE).reshape(IMAGE_COUNT, c, size, size))
        with torch.no_grad():
            logits = model(images)
        entries.append({"name": name, "config": config, "weight_seed": seed, "parameters": sum(p.numel() for p in model.parameters()),
                        "image": {"seed": IMAGE_SEED, "stream": IMAGE_STREAM, "scale": IMAGE_SCALE, "count": IMAGE_COUNT, "size": [c, size, size]},
                        "logits": [floats(l) for l in logits]})
        print(f"{name}: {entries[-1]['parameters']} parameters, logits {float(logits.min()):.3f} .. {float(logits.max()):.3f}")
    with open(os.path.join(FIXTURES, "swin-random.json"), "w") as f:
        json.dump({"timm": "huggingface/pytorch-image-models", "models": entries}, f)


def demo_fixture(timm):
    folder = os.path.join(ROOT, "demo", "fashion-swin")
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    model = timm.create_model(config["architecture"], pretrained=False, **config["model_args"])
    model.load_state_dict(read_safetensors(os.path.join(folder, "model.safetensors")))
    print(f"demo swin: top1 {write_demo_logits(model, 'demo/fashion-swin', 'swin-demo-logits.json'):.4f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timm", required=True, help="folder holding timm's source package (timm/)")
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    import timm
    import timm.models.swin_transformer  # noqa: F401

    torch.set_num_threads(1)
    np.seterr(over="ignore")
    random_fixture(timm)
    if os.path.exists(os.path.join(ROOT, "demo", "fashion-swin", "model.safetensors")):
        demo_fixture(timm)
    else:
        print("demo Swin not trained yet: skipped its fixture")


if __name__ == "__main__":
    main()
