#!/usr/bin/env bash
# The main job on the embedded demo model, from a fresh Debian machine: install what is missing,
# then evaluate the demo ViT on the 10,000 Fashion-MNIST test images.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node bin/fimaq.js info --model demo
node bin/fimaq.js eval --model demo --data fashion-mnist:test "$@"
