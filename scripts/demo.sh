#!/usr/bin/env bash
# The main job on the embedded demo model, from a fresh Debian machine: install what is missing,
# then quantize the demo ViT to W4A4 with FIMA-Q (quick preset) and print the top-1 of the float
# model, the calibration-only model and the FIMA-Q model on the 10,000 Fashion-MNIST test images
# side by side. Extra arguments go to `fimaq quantize` (for example --wbits 3 --abits 3, or
# --limit 2000 to evaluate on fewer images).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node bin/fimaq.js info --model demo
node bin/fimaq.js quantize --model demo --preset quick --wbits 4 --abits 4 \
  --out demo-fimaq-w4a4.safetensors --eval fashion-mnist:test "$@"
