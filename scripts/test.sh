#!/usr/bin/env bash
# Set up (if needed), run the lint gate (ruff format + check), then the whole test suite on the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
ruff format --check --quiet . || { echo "ruff format: the files above need formatting (run: ruff format .)"; exit 1; }
ruff check --quiet .
python -m pytest -q -p no:cacheprovider "$@"
