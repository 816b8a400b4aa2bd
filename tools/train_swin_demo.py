"""Train the project's demo Swin: a small timm SwinTransformer on Fashion-MNIST.

The model is timm's own SwinTransformer, imported from a copy of timm's source given with --timm
(nothing of timm is committed; see tools/make_swin_fixtures.py for how to get one):
    /usr/bin/python3 tools/train_swin_demo.py --timm /tmp/timm-src --epochs 8 --out demo/fashion-swin
Needs Debian's python3-torch, python3-torchvision (timm imports it) and libopenblas0-pthread.
Writes <out>/model.safetensors and <out>/config.json in the Hugging Face hub layout that timm
reads, and prints the test accuracy after every epoch. Data, augmentation and schedule are the
ViT demo's (`train` in tools/train_demo.py).
"""
import argparse
import sys

import torch

from train_demo import train, write_demo

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
    model = SwinTransformer(**ARGS, drop_path_rate=0.05)
    acc, seconds = train(model, args, lambda n, p: p.ndim >= 2 and "relative_position_bias_table" not in n)
    config = {
        "architecture": ARCHITECTURE,
        "num_classes": 10,
        "num_features": ARGS["embed_dim"] * 2 ** (len(ARGS["depths"]) - 1),
        "global_pool": "avg",
        "model_args": dict(ARGS),
        "training": {"script": "tools/train_swin_demo.py", "epochs": args.epochs, "batch": args.batch, "lr": args.lr,
                     "seed": args.seed, "drop_path_rate": 0.05, "test_top1": acc, "seconds": seconds},
    }
    write_demo(args.out, model, config, "tools/train_swin_demo.py")
    print(f"wrote {args.out} test_acc {acc:.4f}")


if __name__ == "__main__":
    main()
