#!/usr/bin/env bash
# The GPU checks in one call (see scripts/gpu_check.py): exit 3 when no CUDA GPU is visible.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python3
exec "$PYTHON" scripts/gpu_check.py "$@"
