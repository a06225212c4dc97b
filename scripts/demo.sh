#!/usr/bin/env bash
# The main job on the embedded default: in-memory state, config/default.toml, simulated booths.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/lapak-asik demo "$@"
