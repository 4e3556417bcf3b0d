#!/usr/bin/env bash
# Executes notebooks/NN_*.ipynb in order into runs/notebooks/ (the committed notebooks stay without outputs) on this
# checkout's tslab kernel, marks the executed copies trusted so their charts show when opened, and exports each to
# HTML. A failing cell fails the run, naming the notebook, the cell and the error (environment/execute-notebook.py);
# so does a number quoted in a notebook's prose that none of its outputs shows, or an output showing the checkout's
# absolute path (environment/check-notebook-prose.ts);
# then every export is opened in headless Chromium, and a chart that did not draw or shows no data, an error on the
# page, or NaN in an output fails it too.
#   bash environment/run-notebooks.sh [NOTEBOOK ...]     default: every notebooks/NN_*.ipynb; output folder: $OPENR1_NOTEBOOK_OUT or runs/notebooks
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OPENR1_NOTEBOOK_OUT:-runs/notebooks}
mkdir -p "$out"
shopt -s nullglob
notebooks=("$@")
pages=()
executed_copies=()
[ ${#notebooks[@]} -gt 0 ] || notebooks=(notebooks/[0-9][0-9]_*.ipynb)
for nb in "${notebooks[@]}"; do
  echo "== $nb"
  executed="$out/$(basename "$nb")"
  rm -f "$executed"
  /usr/bin/python3 environment/execute-notebook.py "$nb" "$out" 1800 || exit 1
  [ -f "$executed" ] || { echo "FAILED: $nb (no executed copy written)" >&2; exit 1; }
  # `jupyter trust` (nbformat's TrustNotebookApp): signed for this user, the copy opens with its charts.
  /usr/bin/python3 -c "from nbformat.sign import TrustNotebookApp; TrustNotebookApp.launch_instance()" "$executed" > /dev/null 2>&1 \
    || { echo "FAILED: could not mark $executed trusted" >&2; exit 1; }
  /usr/bin/jupyter-nbconvert --to html --output-dir "$out" "$executed" > /dev/null 2>&1 || { echo "FAILED: HTML export of $executed" >&2; exit 1; }
  pages+=("$out/$(basename "$nb" .ipynb).html")
  executed_copies+=("$executed")
done
# The prose quotes what the cells printed.
node --import tsx environment/check-notebook-prose.ts "${executed_copies[@]}" || exit 1
# Every chart drawn and no error shown, in a real browser (Debian's Chromium, headless).
node --import tsx environment/check-notebook-html.ts "${pages[@]}" || exit 1
echo "executed notebooks (trusted) and their HTML exports: $out/"
