"""Drives a real Jupyter kernel the way a Jupyter server does (jupyter_client: the same KernelManager, the same
messages, Kernel -> Interrupt as the same SIGINT to the kernel's process group), for tests/notebooks/*.test.ts.

Usage: python3 kernel_session.py NOTEBOOK.ipynb < ACTIONS.json > RESULTS.json
The kernel is the notebook's (tslab), started in the notebook's folder with this checkout's kernel spec
(environment/jupyter). ACTIONS is a list, each one of:
  {"cells_before": ID}                      every code cell above cell ID, in order
  {"cell": ID, "interrupt_when": REGEX}     cell ID; when its output so far matches REGEX, interrupt the kernel once
  {"cell": ID}                              cell ID
  {"code": SOURCE}                          any code
  {"alive": true}                           whether the kernel process still runs (after 2 s)
Each action's result: {"status": "ok" | "error" | "aborted", "stdout", "stderr", "html", "interrupted": bool}.
The session stops at the first action that is not "ok" unless the action says "may_fail": true. At the end the
kernel is shut down as a server does; "kernel_stderr" holds everything the kernel process wrote to its stderr,
"exit_code" how it ended (negative: killed by that signal) and "shutdown_seconds" how long the shutdown took.
"""
import json
import os
import queue
import re
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in [os.path.join(ROOT, "environment", "jupyter"), os.environ.get("JUPYTER_PATH", "")] if p)

import nbformat  # noqa: E402
from jupyter_client import KernelManager  # noqa: E402

TIMEOUT = 600


def source_of(cell):
    return "".join(cell.source) if isinstance(cell.source, list) else cell.source


def main():
    notebook_path = os.path.abspath(sys.argv[1])
    actions = json.load(sys.stdin)
    nb = nbformat.read(notebook_path, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code"]
    by_id = {c.get("id"): c for c in cells}

    stderr_file = tempfile.NamedTemporaryFile(prefix="kernel-stderr-", suffix=".txt", delete=False)
    km = KernelManager(kernel_name=nb.metadata.get("kernelspec", {}).get("name", "tslab"))
    km.start_kernel(cwd=os.path.dirname(notebook_path), stderr=stderr_file)
    client = km.client()
    client.start_channels()
    client.wait_for_ready(timeout=120)

    def execute(source, interrupt_when=None):
        msg_id = client.execute(source, store_history=True, allow_stdin=False, stop_on_error=True)
        result = {"status": None, "stdout": "", "stderr": "", "html": "", "interrupted": False}
        pattern = re.compile(interrupt_when) if interrupt_when else None
        deadline = time.time() + TIMEOUT
        idle = False
        while not idle and time.time() < deadline:
            try:
                msg = client.get_iopub_msg(timeout=1)
            except queue.Empty:
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                result[content["name"]] += content["text"]
            elif kind in ("display_data", "update_display_data", "execute_result"):
                result["html"] = content["data"].get("text/html", result["html"]) if kind == "update_display_data" else result["html"] + content["data"].get("text/html", "")
                result["stdout"] += content["data"].get("text/plain", "") if kind == "execute_result" else ""
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
            if pattern and not result["interrupted"] and pattern.search(result["stdout"] + result["stderr"] + result["html"]):
                km.interrupt_kernel()
                result["interrupted"] = True
        reply = client.get_shell_msg(timeout=max(1, deadline - time.time()))
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = client.get_shell_msg(timeout=max(1, deadline - time.time()))
        result["status"] = reply["content"]["status"]
        return result

    results = []
    try:
        for action in actions:
            if "cells_before" in action:
                index = cells.index(by_id[action["cells_before"]])
                for cell in cells[:index]:
                    r = execute(source_of(cell))
                    r["cell"] = cell.get("id")
                    results.append(r)
                    if r["status"] != "ok":
                        raise StopIteration
                continue
            if "alive" in action:
                time.sleep(2)
                results.append({"status": "ok", "alive": km.is_alive()})
                continue
            source = source_of(by_id[action["cell"]]) if "cell" in action else action["code"]
            r = execute(source, action.get("interrupt_when"))
            r["cell"] = action.get("cell")
            results.append(r)
            if r["status"] != "ok" and not action.get("may_fail"):
                break
            if r["status"] != "ok":
                # tslab aborts the requests that reach it within 200 ms of a failed cell (Run All stops there).
                time.sleep(0.5)
    except StopIteration:
        pass
    finally:
        process = km.provisioner.process
        client.stop_channels()
        started = time.time()
        km.shutdown_kernel(now=False)
        shutdown_seconds = time.time() - started
        exit_code = process.poll()
        stderr_file.close()
        with open(stderr_file.name, encoding="utf8", errors="replace") as f:
            kernel_stderr = f.read()
        os.unlink(stderr_file.name)
    json.dump({"results": results, "kernel_stderr": kernel_stderr, "exit_code": exit_code, "shutdown_seconds": shutdown_seconds}, sys.stdout)


if __name__ == "__main__":
    main()
