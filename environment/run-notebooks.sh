#!/usr/bin/env bash
# Executes notebooks/NN_*.ipynb in order with nbconvert; a failing cell fails the run.
# Executed copies go to runs/notebooks/ so the committed notebooks stay without outputs.
set -euo pipefail
cd "$(dirname "$0")/.."
out=runs/notebooks
mkdir -p "$out"
shopt -s nullglob
for nb in notebooks/[0-9][0-9]_*.ipynb; do
  echo "== $nb"
  /usr/bin/jupyter-nbconvert --to notebook --execute --ExecutePreprocessor.timeout=1800 \
    --output-dir "$out" "$nb" 2>&1 | grep -v -i "debugger\|frozen_modules\|PYDEVD" || true
  [ -f "$out/$(basename "$nb")" ] && [ "$out/$(basename "$nb")" -nt "$nb" ] || { echo "FAILED: $nb" >&2; exit 1; }
done
