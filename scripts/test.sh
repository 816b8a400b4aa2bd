#!/usr/bin/env bash
# All tests from a fresh Debian machine: install what is missing, then type-check and run vitest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run --silent typecheck
npm test
