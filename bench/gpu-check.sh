#!/usr/bin/env bash
# The one-shot GPU check ([E9]): bench/gpu-check.ts (what it measures) bundled into one file and
# run with plain node, so a lent GPU machine needs neither node_modules nor npm.
#
# Here (a checkout with node_modules), once before a device session:
#   bash bench/gpu-check.sh --prepare
# builds bench/.gpu-check/ (git-ignored): gpu-check.mjs (the driver and the engine, bundled with
# esbuild), runtime.tar.xz (the node binary running this script and node_modules/webgpu with the
# linux-x64 dawn.node only; about 30 MB together) and commit (the checkout's commit), and downloads
# the Vulkan loader packages into .gl/ (the device README's apt-get download).
# Then on the device, through its `run` tool, within one command of under 8 minutes:
#   command: bash bench/gpu-check.sh     carry: ["bench/.gpu-check", ".gl"]     timeout_s: 540
# It writes $OUT/gpu-check-<vendor>.json (and gpu-check.log); commit that JSON as
# bench/results/gpu-check-<vendor>.json beside the census projection.
#
# Smoke test here, on SwiftShader (a few minutes; not part of npm test):
#   bash bench/gpu-check.sh --quick
# writes $TMPDIR/gpu-check-google-quick.json. Other arguments go to the driver (--budget S,
# --gpu NAME of bench/gpus.json, --out FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=bench/.gpu-check
prepare=0
quick=0
args=()
for a in "$@"; do
  case "$a" in
    --prepare) prepare=1 ;;
    --quick) quick=1; args+=("$a") ;;
    *) args+=("$a") ;;
  esac
done
say() { echo "[gpu-check] $*" >&2; }

bundle() {
  mkdir -p "$DIR"
  # The bundle reads shaders/ two folders up, as src/runtime/node-gpu.ts does from src/runtime.
  node_modules/.bin/esbuild bench/gpu-check.ts --bundle --platform=node --format=esm --target=node20 \
    --external:webgpu --log-level=warning --outfile="$DIR/gpu-check.mjs" \
    --banner:js="import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);"
  git describe --always --dirty >"$DIR/commit" 2>/dev/null || echo unknown >"$DIR/commit"
}

if [ "$prepare" = 1 ]; then
  rm -rf "$DIR"
  bundle
  stage=$(mktemp -d)
  mkdir -p "$stage/bin" "$stage/node_modules/webgpu/dist/linux-x64"
  cp "$(command -v node)" "$stage/bin/node"
  cp node_modules/webgpu/index.js node_modules/webgpu/package.json "$stage/node_modules/webgpu/"
  cp node_modules/webgpu/dist/linux-x64/dawn.node "$stage/node_modules/webgpu/dist/linux-x64/"
  say "compressing node and dawn.node (about a minute)..."
  tar -C "$stage" -cf - bin node_modules | xz -T0 -6 >"$DIR/runtime.tar.xz"
  rm -rf "$stage"
  # The Vulkan loader and GL dispatch libraries the NVIDIA driver's Vulkan ICD loads (device README).
  mkdir -p .gl /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  # shellcheck disable=SC2086
  if apt-get $o update >/dev/null && (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 >/dev/null); then
    say "loader packages: $(ls .gl | tr '\n' ' ')"
  else
    say "WARNING: apt-get download of the Vulkan loader failed; the device must have libvulkan.so.1"
  fi
  say "ready: $(du -sh "$DIR" | cut -f1) in $DIR, $(du -sh .gl | cut -f1) in .gl"
  say 'device run: command "bash bench/gpu-check.sh", carry ["bench/.gpu-check", ".gl"], timeout_s 540'
  exit 0
fi

if [ -x node_modules/.bin/esbuild ]; then
  bundle
elif [ ! -f "$DIR/gpu-check.mjs" ]; then
  say "no $DIR/gpu-check.mjs: run 'bash bench/gpu-check.sh --prepare' where node_modules is, and carry $DIR"
  exit 2
fi

# The carried runtime, where the checkout has no node_modules (the bundle finds webgpu in the
# nearest node_modules above it): node (used when the machine has no node >= 20) and webgpu.
# Unpacked here only, so that bench/.gpu-check stays small enough to carry.
if [ ! -d node_modules/webgpu ] && [ -f "$DIR/runtime.tar.xz" ] && [ ! -f "$DIR/node_modules/webgpu/dist/linux-x64/dawn.node" ]; then
  if command -v xz >/dev/null; then
    xz -dc "$DIR/runtime.tar.xz" | tar -C "$DIR" -xf -
  else
    python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$DIR/runtime.tar.xz" "$DIR"
  fi
fi
NODE=""
if command -v node >/dev/null && [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ]; then
  NODE=node
elif [ -x "$DIR/bin/node" ]; then
  NODE="$DIR/bin/node"
else
  say "no node >= 20 here and no carried one ($DIR/runtime.tar.xz from --prepare)"
  exit 2
fi

# Vulkan: the loader from .gl/ where the machine has none, then the NVIDIA driver's ICD where
# the loader's own folders hold no driver. (grep without -q reads all of ldconfig's output: an
# early exit would kill ldconfig with SIGPIPE, and pipefail would read that as no loader.)
if ! ldconfig -p 2>/dev/null | grep 'libvulkan\.so\.1' >/dev/null; then
  if compgen -G '.gl/*.deb' >/dev/null; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
  else
    say "WARNING: no libvulkan.so.1 and no .gl/*.deb to unpack"
  fi
fi
NVIDIA_ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
found=0
for f in /etc/vulkan/icd.d/*.json /usr/share/vulkan/icd.d/*.json /usr/local/share/vulkan/icd.d/*.json; do
  case "$f" in *'*'* | *lvp* | *lavapipe*) ;; *) found=1 ;; esac
done
if [ -z "${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-}" ] && [ -f "$NVIDIA_ICD" ] && [ "$found" = 0 ]; then
  export VK_DRIVER_FILES="$NVIDIA_ICD" VK_ICD_FILENAMES="$NVIDIA_ICD"
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
export FIMAQ_COMMIT="${FIMAQ_COMMIT:-$(git describe --always --dirty 2>/dev/null || cat "$DIR/commit" 2>/dev/null || echo unknown)}"
if command -v nvidia-smi >/dev/null; then
  export FIMAQ_GPU_NAME="${FIMAQ_GPU_NAME:-$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)}"
fi
say "$(uname -m), node $("$NODE" --version) ($NODE), commit $FIMAQ_COMMIT, GPU ${FIMAQ_GPU_NAME:-unknown}, VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}"

# Full: the driver's budget is 420 s; the timeout stops a section that hangs (the JSON keeps the others).
limit=480
[ "$quick" = 1 ] && limit=1800
log=/dev/null
[ -n "${OUT:-}" ] && mkdir -p "$OUT" && log="$OUT/gpu-check.log"
set +e
timeout -k 15 "$limit" "$NODE" "$DIR/gpu-check.mjs" ${args[@]+"${args[@]}"} 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
[ "$rc" = 124 ] && say "stopped after $limit s"
exit "$rc"
