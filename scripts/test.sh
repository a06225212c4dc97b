#!/usr/bin/env bash
# The whole test suite: setup, lint, types, tests. CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== ruff"; .venv/bin/ruff check booth_server booth_client scripts tests
echo "== mypy"; .venv/bin/mypy
echo "== pytest"
mkdir -p artifacts
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
