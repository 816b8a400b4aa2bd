"""Train the project's embedded demo model: a small timm-layout ViT on Fashion-MNIST.

How it was run (Debian 12, python3-torch 1.13 and libopenblas0-pthread from apt, one thread;
without OpenBLAS, Debian torch falls back to the reference BLAS and runs 9x slower):
    /usr/bin/python3 tools/train_demo.py --epochs 20 --out demo/fashion-vit
Writes <out>/model.safetensors and <out>/config.json in the Hugging Face hub layout
that timm reads, and prints the test accuracy after every epoch.
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from vit_torch import VisionTransformer, read_idx_gz, write_safetensors

DATA = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530
ARGS = dict(img_size=28, patch_size=4, in_chans=1, num_classes=10, embed_dim=64, depth=4, num_heads=4, mlp_ratio=4.0)
LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def load(split):
    prefix = "train" if split == "train" else "t10k"
    x = read_idx_gz(f"{DATA}/{prefix}-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    y = read_idx_gz(f"{DATA}/{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
    x = (torch.from_numpy(x)[:, None] - MEAN) / STD
    return x, torch.from_numpy(y)


def augment(x, gen):
    """Random 2-pixel shift (pad with the background value) and horizontal flip."""
    b = x.shape[0]
    pad = F.pad(x, (2, 2, 2, 2), value=(0.0 - MEAN) / STD)
    dx = torch.randint(0, 5, (b,), generator=gen)
    dy = torch.randint(0, 5, (b,), generator=gen)
    out = torch.empty_like(x)
    for i in range(b):
        out[i] = pad[i, :, dy[i]:dy[i] + 28, dx[i]:dx[i] + 28]
    flip = torch.rand(b, generator=gen) < 0.5
    out[flip] = out[flip].flip(-1)
    return out


def evaluate(model, x, y):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            correct += (model(x[i:i + 1000]).argmax(-1) == y[i:i + 1000]).sum().item()
    return correct / len(x)


def train(model, args, decays):
    """AdamW (weight decay 0.05 where decays(name, param)), one warm-up epoch, then a cosine schedule;
    label smoothing 0.1, the augmentation above. Prints the test accuracy after every epoch and
    returns the last one and the seconds taken. The caller seeds torch before it builds the model."""
    gen = torch.Generator().manual_seed(args.seed)
    xtr, ytr = load("train")
    xte, yte = load("test")
    params = list(model.named_parameters())
    opt = torch.optim.AdamW([{"params": [p for n, p in params if decays(n, p)], "weight_decay": 0.05},
                             {"params": [p for n, p in params if not decays(n, p)], "weight_decay": 0.0}], lr=args.lr)
    steps_per_epoch = len(xtr) // args.batch
    total = args.epochs * steps_per_epoch
    warmup = steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warmup if s < warmup else 0.5 * (1 + math.cos(math.pi * (s - warmup) / (total - warmup))))
    t0 = time.time()
    acc = 0.0
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        for s in range(steps_per_epoch):
            idx = perm[s * args.batch:(s + 1) * args.batch]
            loss = F.cross_entropy(model(augment(xtr[idx], gen)), ytr[idx], label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        acc = evaluate(model, xte, yte)
        print(f"epoch {epoch + 1}/{args.epochs} loss {loss.item():.4f} test_acc {acc:.4f} elapsed {time.time() - t0:.0f}s", flush=True)
    return acc, round(time.time() - t0)


def write_demo(out, model, config, script):
    """<out>/model.safetensors and <out>/config.json (the hub layout timm reads); `config` gets the
    Fashion-MNIST pretrained_cfg."""
    os.makedirs(out, exist_ok=True)
    write_safetensors(os.path.join(out, "model.safetensors"), model.state_dict(), {"format": "pt", "trained_by": script})
    config["pretrained_cfg"] = {
        "input_size": [1, 28, 28], "interpolation": "bilinear", "crop_pct": 1.0, "crop_mode": "center",
        "mean": [MEAN], "std": [STD], "num_classes": 10, "label_names": LABELS,
    }
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="demo/fashion-vit")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    model = VisionTransformer(**ARGS)
    acc, seconds = train(model, args, lambda n, p: p.ndim >= 2 and "embed" not in n and "token" not in n)
    config = {
        "architecture": "vit_tiny_patch4_28",
        "num_classes": 10,
        "num_features": ARGS["embed_dim"],
        "global_pool": "token",
        "model_args": {k: v for k, v in ARGS.items()},
        "training": {"script": "tools/train_demo.py", "epochs": args.epochs, "batch": args.batch, "lr": args.lr,
                     "seed": args.seed, "test_top1": acc, "seconds": seconds},
    }
    write_demo(args.out, model, config, "tools/train_demo.py")
    print(f"wrote {args.out} test_acc {acc:.4f}")


if __name__ == "__main__":
    main()
