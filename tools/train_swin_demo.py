"""Train the project's demo Swin: a small timm SwinTransformer on Fashion-MNIST.

The model is timm's own SwinTransformer, imported from a copy of timm's source given with --timm
(nothing of timm is committed; see tools/make_swin_fixtures.py for how to get one):
    /usr/bin/python3 tools/train_swin_demo.py --timm /tmp/timm-src --epochs 8 --out demo/fashion-swin
Needs Debian's python3-torch, python3-torchvision (timm imports it) and libopenblas0-pthread.
Writes <out>/model.safetensors and <out>/config.json in the Hugging Face hub layout that timm
reads, and prints the test accuracy after every epoch. Data, augmentation and schedule are the
ViT demo's (tools/train_demo.py).
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

from train_demo import LABELS, MEAN, STD, augment, evaluate, load
from vit_torch import write_safetensors

# 28x28 in patches of 2: a 14x14 grid in windows of 7 (4 windows, shifted in odd blocks), then
# patch merging to 7x7, where one window covers the grid and nothing shifts.
ARGS = dict(img_size=28, patch_size=2, window_size=7, in_chans=1, num_classes=10, embed_dim=32, depths=[2, 2],
            num_heads=[2, 4], mlp_ratio=4.0)
# A registered timm name with every size overridden, so timm.create_model(architecture, **model_args) builds it.
ARCHITECTURE = "swin_tiny_patch4_window7_224"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timm", required=True, help="folder holding timm's source package (timm/)")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="demo/fashion-swin")
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    from timm.models.swin_transformer import SwinTransformer

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    xtr, ytr = load("train")
    xte, yte = load("test")
    model = SwinTransformer(**ARGS, drop_path_rate=0.05)

    def decays(n, p):
        return p.ndim >= 2 and "relative_position_bias_table" not in n

    params = list(model.named_parameters())
    opt = torch.optim.AdamW([{"params": [p for n, p in params if decays(n, p)], "weight_decay": 0.05},
                             {"params": [p for n, p in params if not decays(n, p)], "weight_decay": 0.0}], lr=args.lr)
    steps_per_epoch = len(xtr) // args.batch
    total = args.epochs * steps_per_epoch
    warmup = steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warmup if s < warmup else 0.5 * (1 + math.cos(math.pi * (s - warmup) / (total - warmup))))
    t0 = time.time()
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
    os.makedirs(args.out, exist_ok=True)
    write_safetensors(os.path.join(args.out, "model.safetensors"), model.state_dict(),
                      {"format": "pt", "trained_by": "tools/train_swin_demo.py"})
    config = {
        "architecture": ARCHITECTURE,
        "num_classes": 10,
        "num_features": ARGS["embed_dim"] * 2 ** (len(ARGS["depths"]) - 1),
        "global_pool": "avg",
        "model_args": dict(ARGS),
        "pretrained_cfg": {
            "input_size": [1, 28, 28], "interpolation": "bilinear", "crop_pct": 1.0, "crop_mode": "center",
            "mean": [MEAN], "std": [STD], "num_classes": 10, "label_names": LABELS,
        },
        "training": {"script": "tools/train_swin_demo.py", "epochs": args.epochs, "batch": args.batch, "lr": args.lr,
                     "seed": args.seed, "drop_path_rate": 0.05, "test_top1": acc, "seconds": round(time.time() - t0)},
    }
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    print(f"wrote {args.out} test_acc {acc:.4f}")


if __name__ == "__main__":
    main()
