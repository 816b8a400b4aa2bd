#!/usr/bin/env bash
# Installs what fimaq needs on a Debian machine, skipping whatever is already there:
#   apt: chromium (its SwiftShader is the CPU WebGPU adapter; also the browser for tests),
#        libvulkan1, dataset-fashion-mnist (the demo data)
#   npm: the locked packages (npm ci), which also compiles the TypeScript (prepare script)
# Safe to run again. Needs root (or sudo) only when apt packages are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need_node_major=20
if ! command -v node >/dev/null 2>&1; then
  echo "setup: Node.js >= ${need_node_major} is required (https://nodejs.org or your distribution's nodejs package)" >&2
  exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt "$need_node_major" ]; then
  echo "setup: Node.js >= ${need_node_major} is required, found $(node --version)" >&2
  exit 1
fi

missing=()
for pkg in chromium libvulkan1 dataset-fashion-mnist; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]} with apt-get" >&2
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "setup: run as root (or install sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo_cmd=(sudo)
  fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

stamp=node_modules/.fimaq-installed
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  echo "setup: installing npm packages (npm ci)" >&2
  # onnxruntime-node (a benchmark peer, CPU execution provider only) would otherwise fetch its
  # CUDA provider libraries from api.nuget.org, which we never load and CI cannot reach.
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund >&2
  touch "$stamp"
else
  npm run --silent build >&2
fi
