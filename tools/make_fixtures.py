"""Write the golden fixtures that let tests compare the engine with PyTorch without PyTorch.

    /usr/bin/python3 tools/make_fixtures.py

1. test/fixtures/demo-logits.json: the demo model's float32 logits for the first 16 Fashion-MNIST
   test images, and its predicted class for all 10,000 test images (one digit per image).
2. test/fixtures/deit-tiny-random.json: logits of a deit_tiny_patch16_224-shaped model (3x224x224,
   12 blocks, width 192, 3 heads, 1000 classes) whose weights and two input images come from the
   counter-based PRNG in tools/prng.py; test/helpers/random-vit.ts rebuilds the same weights in
   TypeScript, so only the logits are committed.
"""
import json
import math
import os
import re
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from prng import uniform_tensor  # noqa: E402
from train_demo import load  # noqa: E402
from vit_torch import VisionTransformer, model_from_config, read_safetensors  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "test", "fixtures")

DEIT_TINY = {"architecture": "deit_tiny_patch16_224"}
DEIT_ARGS = dict(img_size=224, patch_size=16, in_chans=3, num_classes=1000, embed_dim=192, depth=12, num_heads=3)
DEIT_SEED = 7
IMAGE_SEED, IMAGE_STREAM, IMAGE_SCALE, IMAGE_COUNT = 2024, 0, 2.0, 2


def random_init(name, fan_in):
    """Mirror of randomInit() in test/helpers/random-vit.ts."""
    if re.search(r"norm\d?\.weight$", name):
        return 1.0, 0.1
    if name.endswith(".bias"):
        return 0.0, 0.02
    if name in ("cls_token", "pos_embed"):
        return 0.0, 0.05
    if name.endswith("relative_position_bias_table"):
        return 0.0, 0.5
    return 0.0, math.sqrt(3.0 / fan_in)


def random_state_dict(model, seed):
    state = {}
    for stream, (name, p) in enumerate(sorted(model.state_dict().items())):
        shape = tuple(p.shape)
        count = int(np.prod(shape))
        fan_in = count // shape[0] if len(shape) > 1 else 1
        offset, scale = random_init(name, fan_in)
        state[name] = torch.from_numpy(uniform_tensor(seed, stream, count, offset, scale).reshape(shape))
    return state


def floats(t):
    return [float(v) for v in t.reshape(-1).tolist()]


def write_demo_logits(model, folder, file):
    """A demo model's float32 logits for the first 16 Fashion-MNIST test images and its predicted class
    for all 10,000 (one digit per image), to test/fixtures/<file>; returns its top-1."""
    model.eval()
    x, y = load("test")
    with torch.no_grad():
        logits = torch.cat([model(x[i:i + 500]) for i in range(0, len(x), 500)])
    pred = logits.argmax(-1)
    out = {
        "model": folder,
        "data": "fashion-mnist test",
        "first": 16,
        "logits": [floats(logits[i]) for i in range(16)],
        "top1": float((pred == y).float().mean()),
        "predictions": "".join(str(int(p)) for p in pred),
    }
    with open(os.path.join(FIXTURES, file), "w") as f:
        json.dump(out, f)
    return out["top1"]


def demo_fixture():
    folder = os.path.join(ROOT, "demo", "fashion-vit")
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    model = model_from_config(config)
    model.load_state_dict(read_safetensors(os.path.join(folder, "model.safetensors")))
    print(f"demo: top1 {write_demo_logits(model, 'demo/fashion-vit', 'demo-logits.json'):.4f}")


def deit_fixture():
    model = VisionTransformer(**DEIT_ARGS)
    model.load_state_dict(random_state_dict(model, DEIT_SEED))
    model.eval()
    n = IMAGE_COUNT * 3 * 224 * 224
    images = torch.from_numpy(uniform_tensor(IMAGE_SEED, IMAGE_STREAM, n, 0.0, IMAGE_SCALE).reshape(IMAGE_COUNT, 3, 224, 224))
    with torch.no_grad():
        logits = model(images)
    out = {
        "config": {**DEIT_TINY, "model_args": {k: v for k, v in DEIT_ARGS.items()}},
        "weight_seed": DEIT_SEED,
        "image": {"seed": IMAGE_SEED, "stream": IMAGE_STREAM, "scale": IMAGE_SCALE, "count": IMAGE_COUNT},
        "logits": [floats(l) for l in logits],
    }
    with open(os.path.join(FIXTURES, "deit-tiny-random.json"), "w") as f:
        json.dump(out, f)
    print(f"deit_tiny random: logits range {float(logits.min()):.3f} .. {float(logits.max()):.3f}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    os.makedirs(FIXTURES, exist_ok=True)
    deit_fixture()
    if os.path.exists(os.path.join(ROOT, "demo", "fashion-vit", "model.safetensors")):
        demo_fixture()
    else:
        print("demo model not trained yet: skipped demo fixture")
