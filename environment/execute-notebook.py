"""Executes one notebook into OUT_DIR (nbclient, as nbconvert --execute does); on a failing cell, writes the copy
executed so far and exits 1 naming the notebook, the cell and the error. tslab sends a failing cell's message on
stderr rather than in the error reply (which nbconvert then prints as an empty "<Error>:"), so both are read.

Usage: python3 environment/execute-notebook.py NOTEBOOK.ipynb OUT_DIR [TIMEOUT_SECONDS]
"""
import os
import re
import sys

# This checkout's kernel spec (environment/jupyter/kernels/tslab) comes first: whatever is registered on the machine,
# the notebooks run on the tslab of the checkout they are in.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in [os.path.join(ROOT, "environment", "jupyter"), os.environ.get("JUPYTER_PATH", "")] if p)

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

source, out_dir = sys.argv[1], sys.argv[2]
timeout = int(sys.argv[3]) if len(sys.argv) > 3 else 1800
nb = nbformat.read(source, as_version=4)
target = os.path.join(out_dir, os.path.basename(source))
client = NotebookClient(nb, timeout=timeout, resources={"metadata": {"path": os.path.dirname(os.path.abspath(source))}})


def text_of(cell):
    return "".join(cell.source) if isinstance(cell.source, list) else cell.source


try:
    client.execute()
except CellExecutionError as error:
    nbformat.write(nb, target)
    failed = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code" and any(o.get("output_type") == "error" for o in c.get("outputs", []))), None)
    if failed is None:
        # tslab: no error output; the failing cell is the last one that ran.
        failed = max((i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.get("execution_count")), default=0)
    cell = nb.cells[failed]
    stderr = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == "stderr").strip()
    reply = f"{error.ename}: {error.evalue}".strip(": ") if getattr(error, "ename", None) else ""
    print(f"FAILED: {source}, cell {failed} (id {cell.get('id', '?')})", file=sys.stderr)
    print("  source: " + "\n          ".join(text_of(cell).splitlines()[:8]), file=sys.stderr)
    lines = [l for l in stderr.splitlines() if l.strip() and "node_modules/tslab" not in l and "node:vm" not in l]
    message = next((l.strip() for l in lines if re.match(r"^\s*[\w$]*(Error|Exception)\b.*?:", l)), reply or "(no message)")
    print(f"  error: {message}", file=sys.stderr)
    if lines:
        print("  stderr: " + "\n          ".join(lines[-10:]), file=sys.stderr)
    print(f"  the copy executed so far: {target}", file=sys.stderr)
    sys.exit(1)
nbformat.write(nb, target)
