#!/usr/bin/env bash
# Registers the TypeScript (tslab) kernel for this user (~/.local/share/jupyter/kernels/tslab, or $JUPYTER_DATA_DIR).
# The kernel names no checkout: its launcher (environment/jupyter/kernels/tslab/kernel.cjs) starts the tslab of the
# checkout that holds the notebook, found from the folder Jupyter starts it in. So registering it again, from this
# or any other checkout, changes nothing, and every checkout's notebooks run on their own code.
# (`npm run notebooks` does not even need it: it uses environment/jupyter through JUPYTER_PATH.)
set -euo pipefail
cd "$(dirname "$0")/.."
/usr/bin/python3 - environment/jupyter/kernels/tslab <<'PY'
import sys
from jupyter_client.kernelspec import KernelSpecManager
print(KernelSpecManager().install_kernel_spec(sys.argv[1], "tslab", user=True))
PY
