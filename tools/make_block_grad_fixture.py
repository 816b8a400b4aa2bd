"""Write test/fixtures/block-grad.json: one quantized ViT block's training-mode forward and the
gradients of its reconstruction loss, computed by PyTorch autograd in float64; with --swin,
test/fixtures/swin-block-grad.json: the same for a Swin block, its attention on shifted, padded
windows with a bias per window (timm's roll, zero padding, window_partition and window_reverse).

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/make_block_grad_fixture.py [--swin]

The block follows the method's code (../shared/docs/fimaq-method.md §3, §5): AdaRound soft
rounding on the four weights (scale and zero-point frozen), activation quantizers with learnable
scales and the straight-through round at every quantization point, QDrop keeping the quantized
value where noise < p. The noise of slot k is uniforms(SEED, k, n) from tools/prng.py, which the
engine's random-uniform kernel reproduces bit for bit. The loss is the MSE reconstruction loss
normalised by its own (detached) value, plus the rounding regulariser. Everything the engine needs
to rebuild the block (weights, quantizers, alpha, input, target) is stored with the results.
"""
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from prng import uniform_tensor, uniforms  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SWIN = "--swin" in sys.argv[1:]
OUT = os.path.join(ROOT, "test", "fixtures", "swin-block-grad.json" if SWIN else "block-grad.json")

SEED = 98 if SWIN else 99
if SWIN:
    # A 5x5 grid in windows of 3, shifted by 1 and padded to 6x6: 4 windows of 9 positions.
    B, GRID, WINDOW, SHIFT, PADDED, D, H, HIDDEN = 2, 5, 3, 1, 6, 8, 2, 16
    T = GRID * GRID
    NW, N = (PADDED // WINDOW) ** 2, WINDOW * WINDOW
else:
    B, T, D, H, HIDDEN = 2, 5, 8, 2, 16
    NW, N = 1, T
HD = D // H
BITS = 4
QMAX = 2**BITS - 1
KEEP = 0.5
ROUND_WEIGHT, BETA = 0.01, 10.0
EPS = 1e-6
ZETA, GAMMA = 1.1, -0.1

torch.set_default_dtype(torch.float64)
stream = iter(range(1000, 2000))


def draw(count, offset, scale):
    return uniform_tensor(SEED, next(stream), count, offset, scale)


def weight_quantizer(w):
    """Per-row min/max scale and zero-point; re-drawn weights keep w/s away from integers."""
    lo = np.minimum(w.min(axis=1), 0).astype(np.float32)
    hi = np.maximum(w.max(axis=1), 0).astype(np.float32)
    s = ((hi - lo) / QMAX * np.float32(0.9)).astype(np.float32)
    z = np.round(-lo / s).astype(np.float32)
    ratio = w.astype(np.float64) / s[:, None].astype(np.float64)
    gap = np.abs(ratio - np.round(ratio)).min()
    assert gap > 1e-4, f"w/s too close to an integer ({gap})"
    return s, z


params = {}
for name, shape, off, sc in [
    ("norm1.weight", [D], 1.0, 0.1), ("norm1.bias", [D], 0.0, 0.1),
    ("qkv.weight", [3 * D, D], 0.0, math.sqrt(3 / D)), ("qkv.bias", [3 * D], 0.0, 0.05),
    ("proj.weight", [D, D], 0.0, math.sqrt(3 / D)), ("proj.bias", [D], 0.0, 0.05),
    ("norm2.weight", [D], 1.0, 0.1), ("norm2.bias", [D], 0.0, 0.1),
    ("fc1.weight", [HIDDEN, D], 0.0, math.sqrt(3 / D)), ("fc1.bias", [HIDDEN], 0.0, 0.05),
    ("fc2.weight", [D, HIDDEN], 0.0, math.sqrt(3 / HIDDEN)), ("fc2.bias", [D], 0.0, 0.05),
]:
    params[name] = draw(int(np.prod(shape)), off, sc).reshape(shape)

weights = {}
for layer in ["qkv", "proj", "fc1", "fc2"]:
    w = params[f"{layer}.weight"]
    s, z = weight_quantizer(w)
    alpha = draw(w.size, 0.0, 3.0).reshape(w.shape)
    weights[layer] = dict(scale=s, zero_point=z, alpha=alpha)

# Activation quantizers: scale shapes as the method's granularity, zero-points near mid-range.
# The attention's quantizers are per window position (N), the MLP's per token (T).
ACTS = {
    "qkvIn": ([N], [1], 0.08), "q": ([H, N], [H], 0.08), "k": ([H, N], [H], 0.08), "v": ([H, HD], [H], 0.06),
    "attn": ([H, N], [H], 0.02), "projIn": ([N], [1], 0.04), "fc1In": ([T], [1], 0.08), "fc2In": ([T], [1], 0.05),
}
acts = {}
for name, (sshape, zshape, base) in ACTS.items():
    s = draw(int(np.prod(sshape)), base, base * 0.4).reshape(sshape)
    z = np.round(draw(int(np.prod(zshape)), 7.5, 2.0)).astype(np.float32).reshape(zshape)
    if name == "attn":
        z[:] = 0  # post-softmax values are non-negative, as calibration finds
    acts[name] = dict(scale=s, zero_point=z)

x = draw(B * T * D, 0.0, 1.5).reshape(B, T, D)
target = draw(B * T * D, 0.0, 1.5).reshape(B, T, D)
# A Swin block's attention bias per window (relative position bias and shift mask in the model;
# any values here: the test is of the gradients' routing), repeated for every image.
bias = draw(NW * H * N * N, 0.0, 1.0).reshape(NW, H, N, N) if SWIN else None


def noise(slot, shape):
    n = int(np.prod(shape))
    return torch.tensor(uniforms(SEED, slot, n).astype(np.float32).astype(np.float64)).reshape(shape)


def round_ste(u):
    return u + (torch.round(u) - u).detach()


def fake_quant(v, s, z, u):
    zr = torch.round(z)
    q = torch.clamp(round_ste(v / s) + zr, 0, QMAX)
    return torch.where(u < KEEP, (q - zr) * s, v)


def h_of(alpha):
    return torch.clamp(torch.sigmoid(alpha) * (ZETA - GAMMA) + GAMMA, 0, 1)


def soft_weight(layer, w, alpha):
    s = torch.tensor(weights[layer]["scale"].astype(np.float64))[:, None]
    z = torch.tensor(weights[layer]["zero_point"].astype(np.float64))[:, None]
    base = torch.floor(torch.tensor(w.astype(np.float64)) / s)
    q = torch.clamp(base + h_of(alpha) + z, 0, QMAX)
    return (q - z) * s


t = {k: torch.tensor(v.astype(np.float64)) for k, v in params.items()}
alphas = {k: torch.tensor(v["alpha"].astype(np.float64), requires_grad=True) for k, v in weights.items()}
scales = {k: torch.tensor(v["scale"].astype(np.float64), requires_grad=True) for k, v in acts.items()}
zps = {k: torch.tensor(v["zero_point"].astype(np.float64)) for k, v in acts.items()}
xt = torch.tensor(x.astype(np.float64))

ln = torch.nn.functional.layer_norm


def to_windows(a):
    """timm: roll by -shift, zero-pad to whole windows, window_partition -> [B * NW, N, D]."""
    a = torch.roll(a.reshape(B, GRID, GRID, D), shifts=(-SHIFT, -SHIFT), dims=(1, 2))
    a = torch.nn.functional.pad(a, (0, 0, 0, PADDED - GRID, 0, PADDED - GRID))
    per = PADDED // WINDOW
    return a.reshape(B, per, WINDOW, per, WINDOW, D).permute(0, 1, 3, 2, 4, 5).reshape(B * NW, N, D)


def from_windows(a):
    """timm: window_reverse, crop the padding, roll back by +shift -> [B, T, D]."""
    per = PADDED // WINDOW
    a = a.reshape(B, per, per, WINDOW, WINDOW, D).permute(0, 1, 3, 2, 4, 5).reshape(B, PADDED, PADDED, D)
    return torch.roll(a[:, :GRID, :GRID], shifts=(SHIFT, SHIFT), dims=(1, 2)).reshape(B, T, D)


BW = B * NW
h1 = ln(xt, [D], t["norm1.weight"], t["norm1.bias"], EPS)
if SWIN:
    h1 = to_windows(h1)
h1q = fake_quant(h1, scales["qkvIn"][None, :, None], zps["qkvIn"], noise(0, h1.shape))
qkv = h1q @ soft_weight("qkv", params["qkv.weight"], alphas["qkv"]).T + t["qkv.bias"]
qkv5 = qkv.reshape(BW, N, 3, H, HD).permute(2, 0, 3, 1, 4)  # [3, BW, H, N, hd]
q, k, v = qkv5[0], qkv5[1], qkv5[2]
# Noise is indexed by the quantizer's view [BW, N, H, hd] (slots 1, 2, 3), then moved to [BW, H, N, hd].
qq = fake_quant(q, scales["q"][None, :, :, None], zps["q"][None, :, None, None], noise(1, (BW, N, H, HD)).permute(0, 2, 1, 3))
kq = fake_quant(k, scales["k"][None, :, :, None], zps["k"][None, :, None, None], noise(2, (BW, N, H, HD)).permute(0, 2, 1, 3))
vq = fake_quant(v, scales["v"][None, :, None, :], zps["v"][None, :, None, None], noise(3, (BW, N, H, HD)).permute(0, 2, 1, 3))
scores = (qq @ kq.transpose(-2, -1)) * HD**-0.5
if SWIN:
    scores = scores + torch.tensor(bias.astype(np.float64)).repeat(B, 1, 1, 1)
attn = torch.softmax(scores, dim=-1)
attnq = fake_quant(attn, scales["attn"][None, :, :, None], zps["attn"][None, :, None, None], noise(4, attn.shape))
ctx = (attnq @ vq).transpose(1, 2).reshape(BW, N, D)
ctxq = fake_quant(ctx, scales["projIn"][None, :, None], zps["projIn"], noise(5, ctx.shape))
proj = ctxq @ soft_weight("proj", params["proj.weight"], alphas["proj"]).T + t["proj.bias"]
x1 = xt + (from_windows(proj) if SWIN else proj)
h2 = ln(x1, [D], t["norm2.weight"], t["norm2.bias"], EPS)
h2q = fake_quant(h2, scales["fc1In"][None, :, None], zps["fc1In"], noise(6, h2.shape))
f1 = h2q @ soft_weight("fc1", params["fc1.weight"], alphas["fc1"]).T + t["fc1.bias"]
g = torch.nn.functional.gelu(f1)
gq = fake_quant(g, scales["fc2In"][None, :, None], zps["fc2In"], noise(7, g.shape))
y = x1 + gq @ soft_weight("fc2", params["fc2.weight"], alphas["fc2"]).T + t["fc2.bias"]

tt = torch.tensor(target.astype(np.float64))
mse = ((y - tt) ** 2).reshape(B, -1).sum(1).mean()
rec = mse / mse.detach()
round_loss = sum(ROUND_WEIGHT * (1 - (2 * h_of(a) - 1).abs().pow(BETA)).sum() for a in alphas.values())
(rec + round_loss).backward()


def flat(a):
    return [float(v) for v in np.asarray(a, dtype=np.float64).reshape(-1)]


fixture = {
    "about": f"tools/make_block_grad_fixture.py{' --swin' if SWIN else ''}: quantized {'Swin' if SWIN else 'ViT'} block, training-mode forward and loss gradients (PyTorch float64)",
    "seed": SEED, "batch": B, "tokens": T, "dim": D, "heads": H, "hidden": HIDDEN, "bits": BITS,
    **({"swin": {"grid": GRID, "window": WINDOW, "shift": SHIFT, "bias": flat(bias)}} if SWIN else {}),
    "keep_prob": KEEP, "round_weight": ROUND_WEIGHT, "beta": BETA, "eps": EPS,
    "params": {k: flat(v) for k, v in params.items()},
    "weights": {k: {"scale": flat(v["scale"]), "zero_point": flat(v["zero_point"]), "alpha": flat(v["alpha"])} for k, v in weights.items()},
    "acts": {k: {"scale": flat(v["scale"]), "scale_shape": list(v["scale"].shape), "zero_point": flat(v["zero_point"]),
                 "zero_point_shape": list(v["zero_point"].shape)} for k, v in acts.items()},
    "input": flat(x), "target": flat(target),
    "mse": float(mse), "output": flat(y.detach()),
    "alpha_grad": {k: flat(a.grad) for k, a in alphas.items()},
    "scale_grad": {k: flat(s.grad) for k, s in scales.items()},
}
with open(OUT, "w") as f:
    json.dump(fixture, f)
print(f"wrote {OUT}: mse {float(mse):.6f}")
