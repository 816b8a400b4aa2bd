#!/usr/bin/python3
"""Golden fixture for src/data/preprocess.ts: timm's eval transform computed with PIL + numpy.

Run from the repository root:  /usr/bin/python3 tools/make_preprocess_fixture.py
Needs Debian's python3-pil and python3-numpy (timm/torchvision are not needed: their eval
transform is restated below, step for step).

Writes to test/fixtures/preprocess/:
  *.png, *.jpg   deterministic test images, built from formulas below
  cases.json     one entry per (image, config): the config, and where its tensor is in expected.bin.gz
  expected.bin.gz  the expected CHW float32 tensors, little-endian, concatenated, gzipped
"""
import gzip
import json
import math
import os

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'preprocess')

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
PIL_FILTERS = {'bicubic': Image.BICUBIC, 'bilinear': Image.BILINEAR, 'nearest': Image.NEAREST}


def make_images():
    """Smooth gradients plus hard edges and high-frequency texture, so every filter tap matters."""
    y, x = np.mgrid[0:23, 0:37]
    rgb_small = np.stack([
        x * 255 // 36,
        y * 255 // 22,
        (x * x + 3 * y * y + 7 * x * y) * 13 % 256,
    ], axis=-1).astype(np.uint8)

    y, x = np.mgrid[0:48, 0:64]
    grey = np.round(128 + 127 * np.sin(x * 0.3) * np.cos(y * 0.2))
    grey[16:32, 24:40] = 255 * ((x[16:32, 24:40] // 4 + y[16:32, 24:40] // 4) % 2)
    grey = grey.astype(np.uint8)

    y, x = np.mgrid[0:200, 0:300]
    rings = ((x - 150) ** 2 + (y - 100) ** 2) // 600 % 2
    rgb_large = np.stack([
        x * 255 // 299,
        np.where(rings == 1, 230, 20),
        (x // 10 + y // 10) % 2 * 200 + y // 8,
    ], axis=-1).astype(np.uint8)

    return {
        'rgb37x23.png': Image.fromarray(rgb_small, 'RGB'),
        'grey64x48.png': Image.fromarray(grey, 'L'),
        'rgb300x200.png': Image.fromarray(rgb_large, 'RGB'),
        'rgb300x200.jpg': Image.fromarray(rgb_large, 'RGB'),
    }


CONFIGS = {
    # timm's ImageNet default, on an upscaled image (a downscaled one would make a large fixture).
    'bicubic224': dict(inputSize=[3, 224, 224], mean=IMAGENET_MEAN, std=IMAGENET_STD, interpolation='bicubic', cropPct=0.875),
    'bicubic48': dict(inputSize=[3, 48, 48], mean=IMAGENET_MEAN, std=IMAGENET_STD, interpolation='bicubic', cropPct=0.875),
    'bilinear32': dict(inputSize=[3, 32, 32], mean=[0.5] * 3, std=[0.5] * 3, interpolation='bilinear', cropPct=1.0),
    'nearest40': dict(inputSize=[3, 40, 40], mean=IMAGENET_MEAN, std=IMAGENET_STD, interpolation='nearest', cropPct=0.9),
    # One-channel model: RGB images go through PIL's convert('L').
    'grey28': dict(inputSize=[1, 28, 28], mean=[0.2860], std=[0.3530], interpolation='bilinear', cropPct=0.875),
}

CASES = [
    ('rgb37x23.png', 'bicubic224'),
    *[(image, config)
      for image in ['rgb37x23.png', 'grey64x48.png', 'rgb300x200.png', 'rgb300x200.jpg']
      for config in ['bicubic48', 'bilinear32', 'nearest40', 'grey28']],
]


def eval_transform(img, cfg):
    """timm transforms_imagenet_eval (square input) + torchvision Resize/CenterCrop/ToTensor/Normalize."""
    c, h, w = cfg['inputSize']
    img = img.convert('L' if c == 1 else 'RGB')
    # Resize(scale_size): the shorter side becomes scale_size (torchvision _compute_resized_output_size).
    size = math.floor(h / cfg['cropPct'])
    iw, ih = img.size
    new_w, new_h = (size, int(size * ih / iw)) if iw <= ih else (int(size * iw / ih), size)
    if (new_w, new_h) != (iw, ih):
        img = img.resize((new_w, new_h), PIL_FILTERS[cfg['interpolation']])
    # CenterCrop((h, w)).
    top = int(round((img.height - h) / 2.0))
    left = int(round((img.width - w) / 2.0))
    img = img.crop((left, top, left + w, top + h))
    # ToTensor + Normalize, in float32 as torch does.
    x = np.asarray(img, dtype=np.uint8).reshape(h, w, c).transpose(2, 0, 1).astype(np.float32)
    x = x / np.float32(255)
    mean = np.asarray(cfg['mean'], dtype=np.float32).reshape(c, 1, 1)
    std = np.asarray(cfg['std'], dtype=np.float32).reshape(c, 1, 1)
    return ((x - mean) / std).astype('<f4')


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, img in make_images().items():
        path = os.path.join(OUT, name)
        if name.endswith('.jpg'):
            # PIL's default 4:2:0 chroma subsampling, so libjpeg's fancy upsampling is exercised.
            img.save(path, quality=90)
        else:
            img.save(path, optimize=True)

    cases, blobs, offset = [], [], 0
    for image, config in CASES:
        # Decode the saved file, so the JPEG case expects what PIL's decoder produced.
        with Image.open(os.path.join(OUT, image)) as img:
            tensor = eval_transform(img, CONFIGS[config])
        cases.append(dict(image=image, config=config, offset=offset, length=int(tensor.size)))
        blobs.append(tensor.tobytes())
        offset += tensor.size

    # mtime=0 keeps the file byte-identical between runs.
    with gzip.GzipFile(os.path.join(OUT, 'expected.bin.gz'), 'wb', compresslevel=9, mtime=0) as f:
        f.write(b''.join(blobs))
    with open(os.path.join(OUT, 'cases.json'), 'w') as f:
        json.dump(dict(configs=CONFIGS, cases=cases), f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
